r"""Activation functions, each with its derivative written beside it.

An :class:`Activation` maps a pre-activation array ``z`` elementwise (softmax: along the
last axis) and knows how to pull a gradient back through itself:
``backward(z, dout)`` returns :math:`\partial L/\partial z` given
:math:`\partial L/\partial a`. Used from chapter 01 on; chapter 15 surveys them.
"""
from __future__ import annotations

import numpy as np

from nnlib._validation import as_float_array, one_of


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


def softmax(z, axis: int = -1):
    r"""Softmax along ``axis``, :math:`e^{z_k - \max z}/\sum_j e^{z_j - \max z}`.

    Subtracting the maximum changes nothing mathematically and keeps ``exp`` finite.
    """
    z = as_float_array(z, "z", min_ndim=1)
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


_REGISTRY = {cls.name: cls for cls in (Linear, Step, Sigmoid, Tanh, ReLU, Softmax)}


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
