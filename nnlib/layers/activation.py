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

    def multiply_adds(self) -> int:
        return 0

    def __repr__(self):
        return f"Activation({self.activation.name!r})"
