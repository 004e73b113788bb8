"""The interface every nnlib layer implements."""
from __future__ import annotations

import numpy as np


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
        """Overwrite the parameters in place (Keras's order and shapes)."""
        weights = list(weights)
        if len(weights) != len(self.params):
            raise ValueError(f"{self.name}.set_weights expected {len(self.params)} arrays. Received: {len(weights)}")
        for (key, current), new in zip(self.params.items(), weights):
            new = np.asarray(new)
            if new.shape != current.shape:
                raise ValueError(f"{self.name}.set_weights expected {key} of shape {current.shape}. Received: shape={new.shape}")
            current[...] = new

    def count_params(self) -> int:
        return int(sum(value.size for value in self.params.values()))

    def _require_cache(self, attribute: str):
        if getattr(self, attribute, None) is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
