r"""Activation functions, each with its derivative written beside it.

An :class:`Activation` maps a pre-activation array ``z`` elementwise (softmax: along the
last axis) and knows how to pull a gradient back through itself:
``backward(z, dout)`` returns :math:`\partial L/\partial z` given
:math:`\partial L/\partial a`. Used from chapter 01 on; chapter 15 surveys them.
"""
from __future__ import annotations

import math

import numpy as np

from nnlib._validation import as_float_array, axis_index, flag, one_of, positive_float

# SELU's constants (Klambauer et al., 2017), those of tf.nn.selu and keras.activations.selu
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _negative_slope(value) -> float:
    """Leaky ReLU's slope: a finite number >= 0 (keras.layers.LeakyReLU refuses negative ones)."""
    return positive_float(value, "negative_slope", allow_zero=True)


def _alpha(value) -> float:
    """ELU's alpha: a finite number > 0."""
    return positive_float(value, "alpha")


def _approximate(value) -> bool:
    return flag(value, "approximate")


def linear(z):
    """Identity, :math:`a = z`."""
    return as_float_array(z, "z").copy()


def step(z):
    """Heaviside step, :math:`H(z) = 1` if :math:`z \\ge 0` else 0 (used in chapter 03)."""
    z = as_float_array(z, "z")
    return (z >= 0).astype(z.dtype)


def sigmoid(z):
    r"""Logistic function :math:`\sigma(z) = 1/(1+e^{-z})`, computed without overflow."""
    z = as_float_array(z, "z")
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    exp_z = np.exp(z[~positive])
    out[~positive] = exp_z / (1.0 + exp_z)
    return out


def tanh(z):
    """Hyperbolic tangent."""
    return np.tanh(as_float_array(z, "z"))


def relu(z):
    """Rectified linear unit, :math:`\\max(0, z)`."""
    z = as_float_array(z, "z")
    return np.maximum(z, 0).astype(z.dtype)


def leaky_relu(z, negative_slope: float = 0.2):
    """Leaky ReLU, :math:`z` for :math:`z > 0` else :math:`\\alpha z`.

    The default slope 0.2 is that of ``keras.activations.leaky_relu`` (and ``tf.nn.leaky_relu``);
    the layer ``keras.layers.LeakyReLU`` defaults to 0.3. ``negative_slope`` must be a finite
    number >= 0, as for :class:`LeakyReLU` (and ``keras.layers.LeakyReLU``).
    """
    negative_slope = _negative_slope(negative_slope)
    z = as_float_array(z, "z")
    return np.where(z > 0, z, negative_slope * z).astype(z.dtype)


def elu(z, alpha: float = 1.0):
    r"""Exponential linear unit, :math:`z` for :math:`z > 0` else :math:`\alpha(e^z - 1)`.

    ``alpha`` must be a finite number > 0, as for :class:`ELU`.
    """
    alpha = _alpha(alpha)
    z = as_float_array(z, "z")
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0))).astype(z.dtype)


def _normal_cdf(z):
    from scipy.special import ndtr  # scipy comes with scikit-learn

    return ndtr(z).astype(z.dtype)


def gelu(z, approximate: bool = False):
    r"""Gaussian error linear unit :math:`z\,\Phi(z)` (Keras's default, exact form).

    With ``approximate=True``, the tanh form
    :math:`\tfrac12 z\bigl(1 + \tanh(\sqrt{2/\pi}(z + 0.044715 z^3))\bigr)`.
    """
    approximate = _approximate(approximate)
    z = as_float_array(z, "z")
    if approximate:
        return 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z**3)))
    return z * _normal_cdf(z)


def selu(z):
    r"""Scaled ELU, :math:`\lambda z` for :math:`z > 0` else :math:`\lambda\alpha(e^z - 1)`, with
    :math:`\alpha \approx 1.6733` and :math:`\lambda \approx 1.0507` (``keras.activations.selu``).

    With LeCun-normal weights (:func:`nnlib.initializers.lecun_normal`) the constants keep
    activations near mean 0 and variance 1 from layer to layer (Klambauer et al., 2017).
    """
    z = as_float_array(z, "z")
    negative = SELU_SCALE * SELU_ALPHA * np.expm1(np.minimum(z, 0))
    return np.where(z > 0, SELU_SCALE * z, negative).astype(z.dtype)


def silu(z):
    r"""SiLU, also called swish: :math:`z\,\sigma(z)`."""
    z = as_float_array(z, "z")
    return z * sigmoid(z)


def softplus(z):
    r"""Softplus :math:`\log(1 + e^z)`, a smooth ReLU, computed without overflow."""
    z = as_float_array(z, "z")
    return np.logaddexp(0, z).astype(z.dtype)


def softmax(z, axis: int = -1):
    r"""Softmax along ``axis``, :math:`e^{z_k - \max z}/\sum_j e^{z_j - \max z}`.

    Subtracting the maximum changes nothing mathematically and keeps ``exp`` finite.

    Raises
    ------
    TypeError, ValueError
        ``z`` is not numeric or 0-d, ``axis`` is not an integer axis of ``z``, or ``z`` has
        no values along ``axis`` (a softmax over nothing is undefined).
    """
    z = as_float_array(z, "z", min_ndim=1)
    if z.shape[axis_index(axis, z.ndim)] == 0:
        raise ValueError(f"softmax expected at least one value along axis {axis}. Received: z.shape={z.shape}")
    shifted = z - np.max(z, axis=axis, keepdims=True)
    exp_z = np.exp(shifted)
    return exp_z / np.sum(exp_z, axis=axis, keepdims=True)


class Activation:
    """An activation function together with its derivative.

    Subclasses define ``forward`` and ``derivative``; ``backward`` multiplies the upstream
    gradient by the derivative, which is right for every elementwise activation.
    """

    name = "activation"

    def __call__(self, z):
        return self.forward(z)

    def forward(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def derivative(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, z, dout):
        """Vector-Jacobian product: the gradient with respect to ``z``.

        Parameters
        ----------
        z : ndarray
            The pre-activation the forward pass received.
        dout : ndarray, same shape as ``z``
            Gradient of the loss with respect to the activation's output.
        """
        z = as_float_array(z, "z")
        dout = as_float_array(dout, "dout")
        if dout.shape != z.shape:
            raise ValueError(f"{self.name}.backward expected dout.shape == z.shape. Received: z.shape={z.shape}, dout.shape={dout.shape}")
        return dout * self.derivative(z)

    def __repr__(self):
        return f"Activation({self.name!r})"


class Linear(Activation):
    name = "linear"

    def forward(self, z):
        return linear(z)

    def derivative(self, z):
        return np.ones_like(as_float_array(z, "z"))


class Step(Activation):
    """Heaviside step. Its derivative is 0 wherever it exists (undefined at 0; 0 is returned),
    which is why gradient descent cannot train it (chapter 03)."""

    name = "step"

    def forward(self, z):
        return step(z)

    def derivative(self, z):
        return np.zeros_like(as_float_array(z, "z"))


class Sigmoid(Activation):
    r""":math:`\sigma'(z) = \sigma(z)(1-\sigma(z)) \le 1/4`."""

    name = "sigmoid"

    def forward(self, z):
        return sigmoid(z)

    def derivative(self, z):
        s = sigmoid(z)
        return s * (1.0 - s)


class Tanh(Activation):
    r""":math:`\tanh'(z) = 1 - \tanh^2 z`."""

    name = "tanh"

    def forward(self, z):
        return tanh(z)

    def derivative(self, z):
        return 1.0 - np.tanh(as_float_array(z, "z")) ** 2


class ReLU(Activation):
    """Derivative 1 for z > 0 and 0 otherwise (0 at z = 0, as in TensorFlow)."""

    name = "relu"

    def forward(self, z):
        return relu(z)

    def derivative(self, z):
        z = as_float_array(z, "z")
        return (z > 0).astype(z.dtype)


class LeakyReLU(Activation):
    r"""Derivative 1 for :math:`z > 0`, else the slope :math:`\alpha` (Keras's default 0.2)."""

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.2):
        self.negative_slope = _negative_slope(negative_slope)

    def forward(self, z):
        return leaky_relu(z, self.negative_slope)

    def derivative(self, z):
        z = as_float_array(z, "z")
        return np.where(z > 0, 1.0, self.negative_slope).astype(z.dtype)

    def __repr__(self):
        return f"Activation('leaky_relu', negative_slope={self.negative_slope})"


class ELU(Activation):
    r"""Derivative 1 for :math:`z > 0`, else :math:`\alpha e^z`."""

    name = "elu"

    def __init__(self, alpha: float = 1.0):
        self.alpha = _alpha(alpha)

    def forward(self, z):
        return elu(z, self.alpha)

    def derivative(self, z):
        z = as_float_array(z, "z")
        return np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0))).astype(z.dtype)

    def __repr__(self):
        return f"Activation('elu', alpha={self.alpha})"


class GELU(Activation):
    r"""Exact form: :math:`\Phi(z) + z\,\varphi(z)` with :math:`\varphi` the standard normal density."""

    name = "gelu"

    def __init__(self, approximate: bool = False):
        self.approximate = _approximate(approximate)

    def forward(self, z):
        return gelu(z, self.approximate)

    def derivative(self, z):
        z = as_float_array(z, "z")
        if self.approximate:
            c = math.sqrt(2.0 / math.pi)
            t = np.tanh(c * (z + 0.044715 * z**3))
            return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t**2) * c * (1.0 + 3 * 0.044715 * z**2)
        density = np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
        return _normal_cdf(z) + z * density

    def __repr__(self):
        return f"Activation('gelu', approximate={self.approximate})"


class SELU(Activation):
    r"""Derivative :math:`\lambda` for :math:`z \ge 0`, else :math:`\lambda\alpha e^z`.

    At :math:`z = 0` TensorFlow's gradient (``SeluGrad``) takes the right-hand value
    :math:`\lambda`; so does this class. Used with :func:`nnlib.initializers.lecun_normal`.
    """

    name = "selu"

    def forward(self, z):
        return selu(z)

    def derivative(self, z):
        z = as_float_array(z, "z")
        return np.where(z < 0, SELU_SCALE * SELU_ALPHA * np.exp(np.minimum(z, 0)), SELU_SCALE).astype(z.dtype)


class SiLU(Activation):
    r""":math:`\sigma(z)\bigl(1 + z(1 - \sigma(z))\bigr)`."""

    name = "silu"

    def forward(self, z):
        return silu(z)

    def derivative(self, z):
        z = as_float_array(z, "z")
        s = sigmoid(z)
        return s * (1.0 + z * (1.0 - s))


class Softplus(Activation):
    r"""Its derivative is the sigmoid, :math:`\sigma(z)`."""

    name = "softplus"

    def forward(self, z):
        return softplus(z)

    def derivative(self, z):
        return sigmoid(z)


class Softmax(Activation):
    r"""Softmax over the last axis.

    Its Jacobian is :math:`\operatorname{diag}(s) - s s^\top`, so the vector-Jacobian product is
    :math:`s \odot (g - \langle g, s\rangle)`; ``derivative`` (an elementwise notion) does not apply.
    """

    name = "softmax"

    def forward(self, z):
        return softmax(z, axis=-1)

    def derivative(self, z):
        raise TypeError(
            "softmax.derivative expected an elementwise activation; softmax has none, "
            "use backward(z, dout) for the vector-Jacobian product. Received: a call to softmax.derivative"
        )

    def backward(self, z, dout):
        z = as_float_array(z, "z", min_ndim=1)
        dout = as_float_array(dout, "dout")
        if dout.shape != z.shape:
            raise ValueError(f"softmax.backward expected dout.shape == z.shape. Received: z.shape={z.shape}, dout.shape={dout.shape}")
        s = softmax(z, axis=-1)
        return s * (dout - np.sum(dout * s, axis=-1, keepdims=True))


_REGISTRY = {cls.name: cls for cls in (Linear, Step, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, SELU, GELU, SiLU, Softplus, Softmax)}
_REGISTRY["swish"] = SiLU  # Keras's other name for it


def get(identifier) -> Activation:
    """Return an :class:`Activation` by name (``"relu"``, ...), or pass one through.

    ``None`` means ``"linear"``, as in Keras.
    """
    if identifier is None:
        return Linear()
    if isinstance(identifier, Activation):
        return identifier
    return _REGISTRY[one_of(identifier, "activation", _REGISTRY)]()


def names() -> list[str]:
    """Names accepted by :func:`get`."""
    return sorted(_REGISTRY)
