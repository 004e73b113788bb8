r"""The fully connected layer (used from chapter 01 on; chapter 05 counts its cost)."""
from __future__ import annotations

import numpy as np

from nnlib import activations, initializers, regularizers
from nnlib._validation import as_float_array, flag, generator, positive_int
from nnlib.layers.base import float_dtype
from nnlib.layers.base import Layer


class Dense(Layer):
    r"""Fully connected layer :math:`A = \varphi(XW + b)`.

    Parameters
    ----------
    in_features : int
        Number of input features (columns of ``x``).
    units : int
        Number of neurons (columns of the output).
    activation : str or Activation, default "linear"
        See :mod:`nnlib.activations`.
    rng : numpy.random.Generator, optional
        Source of the initial weights; ``None`` uses nnlib's default generator.
    kernel_initializer, bias_initializer : str or callable
        Names from :mod:`nnlib.initializers` (Keras's defaults: Glorot uniform, zeros).
    use_bias : bool, default True
        ``True`` or ``False`` (``"no"`` or ``0`` are refused, not read as a truth value).
    kernel_regularizer, bias_regularizer : str or Regularizer, optional
        Weight penalties from :mod:`nnlib.regularizers` (``"l2"``, ``L1(0.001)``, ...). The
        model adds their values to the loss and their gradients to ``grads`` (chapters 13
        and 19); :meth:`backward` itself stays the plain derivative of :meth:`forward`.
    dtype : str, default "float64"
        float64 for gradient checks; float32 to compute exactly like Keras.

    Raises
    ------
    TypeError, ValueError
        An argument of the wrong type or out of range (see CONTRIBUTING, "Bad input").

    Notes
    -----
    Shapes, with batch size :math:`N`: ``x`` :math:`(N, \text{in})`, ``kernel``
    :math:`(\text{in}, \text{units})` (Keras's layout), ``bias`` :math:`(\text{units},)`,
    output :math:`(N, \text{units})`. With :math:`Z = XW + b` and upstream gradient
    :math:`G = \partial L/\partial A`:

    .. math::

        \delta = \varphi'(Z) \odot G,\quad
        \frac{\partial L}{\partial W} = X^\top \delta,\quad
        \frac{\partial L}{\partial b} = \textstyle\sum_n \delta_n,\quad
        \frac{\partial L}{\partial X} = \delta W^\top.
    """

    def __init__(
        self,
        in_features: int,
        units: int,
        activation="linear",
        *,
        rng: np.random.Generator | None = None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        use_bias: bool = True,
        kernel_regularizer=None,
        bias_regularizer=None,
        dtype: str = "float64",
        name: str | None = None,
    ):
        super().__init__(name)
        self.in_features = positive_int(in_features, "in_features")
        self.units = positive_int(units, "units")
        self.activation = activations.get(activation)
        self.use_bias = flag(use_bias, "use_bias")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dtype = float_dtype(dtype)
        rng = generator(rng)
        kernel = initializers.get(kernel_initializer)((self.in_features, self.units), rng)
        self.params["kernel"] = np.asarray(kernel, dtype=self.dtype)
        if self.use_bias:
            bias = initializers.get(bias_initializer)((self.units,), rng)
            self.params["bias"] = np.asarray(bias, dtype=self.dtype)
        self._x = None
        self._z = None

    @property
    def kernel(self) -> np.ndarray:
        return self.params["kernel"]

    @property
    def bias(self) -> np.ndarray:
        if not self.use_bias:
            return np.zeros(self.units, dtype=self.dtype)
        return self.params["bias"]

    def pre_activation(self, x):
        """:math:`Z = XW + b` for a batch ``x`` of shape ``(batch, in_features)``."""
        x = as_float_array(x, "x")
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"Dense layer {self.name!r} expected input of shape (batch, {self.in_features}). Received: x.shape={x.shape}"
            )
        z = x.astype(self.dtype, copy=False) @ self.kernel
        if self.use_bias:
            z = z + self.bias
        return z

    def forward(self, x, training: bool = False):
        z = self.pre_activation(x)
        self._x = np.asarray(x, dtype=self.dtype)
        self._z = z
        return self.activation(z)

    def backward(self, dout):
        self._require_cache("_z")
        dout = as_float_array(dout, "dout")
        if dout.shape != self._z.shape:
            raise ValueError(f"Dense layer {self.name!r} backward expected dout of shape {self._z.shape}. Received: dout.shape={dout.shape}")
        return self._backward_delta(self.activation.backward(self._z, dout))

    def cached_pre_activation(self) -> np.ndarray:
        """:math:`Z`, the logits of the last forward pass (what the activation received)."""
        self._require_cache("_z")
        return self._z

    def backward_pre_activation(self, delta):
        r"""Back-propagate :math:`\delta = \partial L/\partial Z` directly, skipping the activation.

        Used by :class:`~nnlib.model.Sequential` for a cross-entropy computed from the logits
        of a sigmoid or softmax output layer. Fills ``grads``; returns :math:`\delta W^\top`.
        """
        self._require_cache("_z")
        delta = as_float_array(delta, "delta")
        if delta.shape != self._z.shape:
            raise ValueError(
                f"Dense layer {self.name!r} backward_pre_activation expected delta of shape {self._z.shape}. Received: delta.shape={delta.shape}"
            )
        return self._backward_delta(delta.astype(self.dtype, copy=False))

    def _backward_delta(self, delta):
        self.grads["kernel"] = self._x.T @ delta
        if self.use_bias:
            self.grads["bias"] = delta.sum(axis=0)
        return delta @ self.kernel.T

    def _penalties(self):
        pairs = [("kernel", self.kernel_regularizer), ("bias", self.bias_regularizer if self.use_bias else None)]
        return [(key, regularizer) for key, regularizer in pairs if regularizer is not None]

    def regularization_loss(self) -> float:
        """The weight penalties' total, for example :math:`\\lambda\\sum w^2` for ``L2(lambda)``."""
        return float(sum(regularizer(self.params[key]) for key, regularizer in self._penalties()))

    def add_regularization_gradients(self) -> None:
        """Add the penalties' gradients to ``grads`` (called by the model after :meth:`backward`)."""
        for key, regularizer in self._penalties():
            self.grads[key] = self.grads[key] + regularizer.gradient(self.params[key])

    def multiply_adds(self) -> int:
        """Multiply-adds per example: ``in_features * units`` (biases and activation not counted)."""
        return self.in_features * self.units

    def __repr__(self):
        return f"Dense({self.in_features}, {self.units}, activation={self.activation.name!r})"
