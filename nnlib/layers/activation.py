"""A parameter-free layer that applies an activation function."""
from __future__ import annotations

from nnlib import activations
from nnlib._validation import as_float_array
from nnlib.layers.base import Layer


class Activation(Layer):
    """Applies ``activation`` elementwise (softmax: over the last axis)."""

    def __init__(self, activation, name: str | None = None):
        super().__init__(name)
        self.activation = activations.get(activation)
        self._z = None

    def forward(self, x, training: bool = False):
        self._z = as_float_array(x, "x", min_ndim=1)
        return self.activation(self._z)

    def backward(self, dout):
        self._require_cache("_z")
        return self.activation.backward(self._z, dout)

    def cached_pre_activation(self):
        """The input of the last forward pass (the logits, for a sigmoid or softmax)."""
        self._require_cache("_z")
        return self._z

    def backward_pre_activation(self, delta):
        r"""Pass :math:`\partial L/\partial z` through unchanged, skipping the activation
        (used by :class:`~nnlib.model.Sequential` for a cross-entropy from the logits)."""
        self._require_cache("_z")
        delta = as_float_array(delta, "delta")
        if delta.shape != self._z.shape:
            raise ValueError(
                f"Activation layer {self.name!r} backward_pre_activation expected delta of shape {self._z.shape}. "
                f"Received: delta.shape={delta.shape}"
            )
        return delta

    def multiply_adds(self) -> int:
        return 0

    def __repr__(self):
        return repr(self.activation)  # Activation('relu'), Activation('leaky_relu', negative_slope=0.05)
