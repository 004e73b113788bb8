r"""Rosenblatt's perceptron with the classic learning rule (chapter 03).

The perceptron computes :math:`\hat y = H(w^\top x + b)` with the Heaviside step :math:`H`
and learns only from mistakes. With labels :math:`y \in \{-1, +1\}`, an example is a
mistake when :math:`y (w^\top x + b) \le 0`, and then

.. math:: w \leftarrow w + \eta\, y\, x, \qquad b \leftarrow b + \eta\, y.

Points exactly on the boundary count as mistakes for either class; without that, training
from :math:`w = 0` could never start. Prediction uses :math:`H(0) = 1`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnlib._validation import data_array, flag, generator, positive_float, positive_int


def _labels(y, name="y"):
    y = data_array(y, name)
    if y.ndim != 1:
        raise ValueError(f"{name} expected a 1-D array of labels. Received: {name}.shape={y.shape}")
    values = set(np.unique(y).tolist())
    if values <= {0, 1}:
        return np.where(y == 1, 1.0, -1.0), (0, 1)
    if values <= {-1, 1}:
        return y.astype(float), (-1, 1)
    raise ValueError(f"{name} expected labels in {{0, 1}} or {{-1, 1}}. Received: {sorted(int(v) if float(v).is_integer() else v for v in values)}")


class Perceptron:
    """The classic perceptron.

    Parameters
    ----------
    learning_rate : float, default 1.0
        :math:`\\eta`. Starting from zero weights it only rescales :math:`(w, b)`, so the
        sequence of mistakes does not depend on it.
    max_epochs : int, default 100
        Passes over the data; training stops early after an epoch without mistakes.
    shuffle : bool, default False
        Visit the examples in a new random order every epoch.
    rng : numpy.random.Generator, optional
        Used only when ``shuffle`` is True.

    Attributes
    ----------
    weights : ndarray of shape (n_features,)
    bias : float
    mistakes_per_epoch : list of int
    total_mistakes : int
    converged : bool
        True once an epoch made no mistake (the data are then separated).
    history : list of tuple (weights, bias)
        The parameters after every update, starting with the zeros (for plotting cycles).
    """

    def __init__(self, learning_rate: float = 1.0, max_epochs: int = 100, shuffle: bool = False, rng=None):
        self.learning_rate = positive_float(learning_rate, "learning_rate")
        self.max_epochs = positive_int(max_epochs, "max_epochs")
        self.shuffle = flag(shuffle, "shuffle")
        self.rng = None if rng is None else generator(rng)
        self.weights = None
        self.bias = 0.0

    def fit(self, X, y) -> "Perceptron":
        X = data_array(X, "X", ndim=2)
        signs, self._encoding = _labels(y)
        if len(signs) != len(X):
            raise ValueError(f"fit expected one label per row of X. Received: X.shape={X.shape}, {len(signs)} labels")
        rng = generator(self.rng) if self.shuffle else None
        self.weights = np.zeros(X.shape[1])
        self.bias = 0.0
        self.mistakes_per_epoch = []
        self.history = [(self.weights.copy(), self.bias)]
        self.converged = False
        for _ in range(self.max_epochs):
            order = rng.permutation(len(X)) if self.shuffle else range(len(X))
            mistakes = 0
            for i in order:
                if signs[i] * (X[i] @ self.weights + self.bias) <= 0:
                    self.weights += self.learning_rate * signs[i] * X[i]
                    self.bias += self.learning_rate * signs[i]
                    self.history.append((self.weights.copy(), self.bias))
                    mistakes += 1
            self.mistakes_per_epoch.append(mistakes)
            if mistakes == 0:
                self.converged = True
                break
        return self

    @property
    def total_mistakes(self) -> int:
        self._require_fitted()
        return int(sum(self.mistakes_per_epoch))

    def _require_fitted(self):
        if self.weights is None:
            raise RuntimeError("call fit before using the perceptron")

    def decision_function(self, X):
        """:math:`w^\\top x + b` for each row of ``X``."""
        self._require_fitted()
        X = data_array(X, "X", ndim=2)
        if X.shape[1] != len(self.weights):
            raise ValueError(f"expected X with {len(self.weights)} columns. Received: X.shape={X.shape}")
        return X @ self.weights + self.bias

    def predict(self, X):
        """Labels in the encoding given to ``fit``: :math:`H(w^\\top x + b)` with :math:`H(0)=1`."""
        positive = self.decision_function(X) >= 0
        negative_label, positive_label = self._encoding
        return np.where(positive, positive_label, negative_label)


class NovikoffBound(NamedTuple):
    bound: float
    radius: float
    margin: float


def novikoff_bound(X, y, weights, bias) -> NovikoffBound:
    r"""The perceptron convergence bound :math:`(R/\gamma)^2` for data separated by ``(weights, bias)``.

    The bias is absorbed into the weights by appending a constant 1 to every input, as in
    Novikoff's proof (1962): :math:`R = \max_i \lVert (x_i, 1) \rVert` and
    :math:`\gamma = \min_i y_i\, u^\top (x_i, 1)` with :math:`u = (w, b)/\lVert (w, b)\rVert`.
    Starting from zero weights, the perceptron makes at most :math:`(R/\gamma)^2` mistakes,
    whatever the order of the examples and the learning rate.

    Raises
    ------
    ValueError
        If ``(weights, bias)`` is zero or does not separate the data with a positive margin.
    """
    X = data_array(X, "X", ndim=2)
    signs, _ = _labels(y)
    weights = data_array(weights, "weights", ndim=1)
    if len(weights) != X.shape[1] or len(signs) != len(X):
        raise ValueError(
            f"novikoff_bound expected X (n, d), y (n,), weights (d,). "
            f"Received: X.shape={X.shape}, {len(signs)} labels, weights.shape={weights.shape}"
        )
    augmented = np.hstack([X, np.ones((len(X), 1))])
    direction = np.append(weights, float(bias))
    norm = np.linalg.norm(direction)
    if not np.isfinite(norm) or norm == 0:
        raise ValueError(f"novikoff_bound expected a non-zero, finite (weights, bias). Received: weights={weights}, bias={bias}")
    direction = direction / norm
    margin = float(np.min(signs * (augmented @ direction)))
    if margin <= 0:
        raise ValueError(f"novikoff_bound expected a hyperplane that separates the data. Received: margin={margin:.3g} <= 0")
    radius = float(np.max(np.linalg.norm(augmented, axis=1)))
    return NovikoffBound(bound=(radius / margin) ** 2, radius=radius, margin=margin)
