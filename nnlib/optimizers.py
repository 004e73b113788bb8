r"""Optimizers that update parameter arrays in place, with Keras's update rules.

An optimizer is given the list of parameters and the matching list of gradients at every
step; it keeps any state (momentum buffers) per position in that list.
"""
from __future__ import annotations

import numpy as np

from nnlib._validation import positive_float


class Optimizer:
    """Base class: ``step(params, grads)`` updates each array of ``params`` in place."""

    def __init__(self, learning_rate: float):
        self.learning_rate = positive_float(learning_rate, "learning_rate")
        self.iterations = 0

    def step(self, params, grads) -> None:
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError(f"step expected one gradient per parameter. Received: {len(params)} parameters, {len(grads)} gradients")
        for index, (param, grad) in enumerate(zip(params, grads)):
            if not isinstance(param, np.ndarray):
                raise TypeError(f"step expected numpy arrays as parameters (updated in place). Received: {type(param).__name__}")
            grad = np.asarray(grad)
            if grad.shape != param.shape:
                raise ValueError(f"step expected gradient {index} of shape {param.shape}. Received: shape={grad.shape}")
            self._update(index, param, grad)
        self.iterations += 1

    def _update(self, index: int, param: np.ndarray, grad: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum, as ``keras.optimizers.SGD``.

    Parameters
    ----------
    learning_rate : float, default 0.01
    momentum : float in [0, 1), default 0
    nesterov : bool, default False

    Notes
    -----
    Without momentum: :math:`w \leftarrow w - \eta g`. With momentum :math:`\beta`, Keras's
    velocity form:

    .. math::

        v \leftarrow \beta v - \eta g, \qquad
        w \leftarrow w + v \quad\text{or, with Nesterov,}\quad
        w \leftarrow w + \beta v - \eta g.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
        super().__init__(learning_rate)
        self.momentum = positive_float(momentum, "momentum", allow_zero=True)
        if self.momentum >= 1:
            raise ValueError(f"momentum expected a number in [0, 1). Received: momentum={momentum}")
        self.nesterov = bool(nesterov)
        self._velocities: dict[int, np.ndarray] = {}

    def _update(self, index, param, grad):
        if self.momentum == 0:
            param -= self.learning_rate * grad
            return
        velocity = self._velocities.setdefault(index, np.zeros_like(param))
        velocity *= self.momentum
        velocity -= self.learning_rate * grad
        if self.nesterov:
            param += self.momentum * velocity - self.learning_rate * grad
        else:
            param += velocity

    def __repr__(self):
        return f"SGD(learning_rate={self.learning_rate}, momentum={self.momentum}, nesterov={self.nesterov})"


def get(identifier) -> Optimizer:
    """Return an optimizer by name (``"sgd"``, Keras's defaults), or pass one through."""
    if isinstance(identifier, Optimizer):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"optimizer expected an nnlib Optimizer or 'sgd'. Received: {identifier!r}")
    if identifier.lower() == "sgd":
        return SGD()
    raise ValueError(f"optimizer expected an nnlib Optimizer or 'sgd'. Received: {identifier!r}")
