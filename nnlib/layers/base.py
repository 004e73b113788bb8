"""The interface every nnlib layer implements."""
from __future__ import annotations

import numpy as np

from nnlib._validation import as_float_array


def float_dtype(dtype) -> np.dtype:
    """A layer's ``dtype``: ``"float32"`` or ``"float64"`` (or those NumPy dtypes)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or dtype is None or resolved not in (np.float32, np.float64):
        raise ValueError(f"dtype expected 'float32' or 'float64'. Received: dtype={dtype!r}")
    return resolved


class Layer:
    """Base class: a layer with named parameters and gradients.

    Attributes
    ----------
    params : dict[str, ndarray]
        Trainable arrays, updated in place by optimizers.
    grads : dict[str, ndarray]
        Gradients of the loss with respect to ``params``, filled by ``backward``.
    """

    def __init__(self, name: str | None = None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name expected a string or None. Received: name={name!r}")
        self.name = name or type(self).__name__.lower()
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x, training: bool = False):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x, training: bool = False):
        return self.forward(x, training=training)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters, in Keras's order."""
        return [value.copy() for value in self.params.values()]

    def set_weights(self, weights) -> None:
        """Overwrite the parameters in place (Keras's order and shapes).

        Weights are numeric arrays of the right shapes; inf and NaN are accepted (a diverged
        model's weights can be saved and put back).
        """
        if isinstance(weights, (str, bytes, np.ndarray)) or not hasattr(weights, "__iter__"):
            raise TypeError(f"{self.name}.set_weights expected a list of arrays. Received: {type(weights).__name__}")
        weights = list(weights)
        if len(weights) != len(self.params):
            raise ValueError(f"{self.name}.set_weights expected {len(self.params)} arrays. Received: {len(weights)}")
        checked = []
        for (key, current), new in zip(self.params.items(), weights):
            new = as_float_array(new, f"{self.name}.set_weights {key}")
            if new.shape != current.shape:
                raise ValueError(f"{self.name}.set_weights expected {key} of shape {current.shape}. Received: shape={new.shape}")
            checked.append(new)
        for current, new in zip(self.params.values(), checked):  # all checked first: nothing half-written
            current[...] = new

    def count_params(self) -> int:
        return int(sum(value.size for value in self.params.values()))

    def _require_cache(self, attribute: str):
        if getattr(self, attribute, None) is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
