"""Small offline data sets: logic gates, separable data with a known margin, and float32
wrappers over scikit-learn's bundled and generated sets. Nothing is downloaded.

Inputs are float32 (Keras's dtype); class labels are int64, except for the logic gates,
whose targets are float32 so that they can be fed to a sigmoid output directly.
"""
from __future__ import annotations

import numpy as np


from nnlib._validation import generator, one_of, positive_float, positive_int

_GATES = {
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "nand": (1, 1, 1, 0),
    "nor": (1, 0, 0, 0),
    "xor": (0, 1, 1, 0),
    "xnor": (1, 0, 0, 1),
}


def logic_gate(name: str):
    """The four input pairs of a two-input gate and its truth table.

    Returns
    -------
    X : ndarray of shape (4, 2), float32
        Rows (0, 0), (0, 1), (1, 0), (1, 1).
    y : ndarray of shape (4,), float32
    """
    key = one_of(name, "name", _GATES)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    return X, np.array(_GATES[key], dtype=np.float32)


def linearly_separable(n_samples: int, margin: float, *, n_features: int = 2, rng=None):
    """Points in the cube [-1, 1]^d separated by a random hyperplane with a known margin.

    The hyperplane :math:`w^\\top x + b = 0` has :math:`\\lVert w\\rVert = 1` and an offset
    :math:`0.1 \\le |b| \\le 0.4`, so it does not pass through the origin. Points closer to it
    than ``margin`` are rejected, so every point is at distance at least ``margin``.

    Returns
    -------
    X : ndarray (n_samples, n_features), float64
    y : ndarray (n_samples,), int64 in {0, 1} (1 on the side where w.x + b > 0)
    weights : ndarray (n_features,), unit norm
    bias : float
    """
    n_samples = positive_int(n_samples, "n_samples")
    if n_samples < 2:
        raise ValueError(f"n_samples expected at least 2 (one point per class). Received: n_samples={n_samples}")
    n_features = positive_int(n_features, "n_features")
    margin = positive_float(margin, "margin")
    if margin >= 0.5:
        raise ValueError(f"margin expected a number in (0, 0.5) for points in [-1, 1]^d. Received: margin={margin}")
    rng = generator(rng)
    weights = rng.standard_normal(n_features)
    weights /= np.linalg.norm(weights)
    bias = float(rng.uniform(0.1, 0.4) * rng.choice([-1.0, 1.0]))
    kept = np.empty((0, n_features))
    while len(kept) < n_samples:
        candidates = rng.uniform(-1, 1, size=(4 * n_samples, n_features))
        kept = np.vstack([kept, candidates[np.abs(candidates @ weights + bias) >= margin]])
    X = kept[:n_samples]
    y = (X @ weights + bias > 0).astype(np.int64)
    if y.min() == y.max():  # pragma: no cover - needs an unlucky draw
        return linearly_separable(n_samples, margin, n_features=n_features, rng=rng)
    return X, y, weights, bias


def _sk():
    """scikit-learn's data sets, imported on first use (it takes a second)."""
    from sklearn import datasets

    return datasets


def _seed(rng) -> int:
    return int(generator(rng).integers(2**31 - 1))


def circles(n_samples: int = 200, *, noise: float = 0.1, factor: float = 0.5, rng=None):
    """Two concentric rings (scikit-learn's ``make_circles``); not linearly separable."""
    n_samples = positive_int(n_samples, "n_samples")
    positive_float(noise, "noise", allow_zero=True)
    factor = positive_float(factor, "factor")
    if factor >= 1:
        raise ValueError(f"factor expected a number in (0, 1). Received: factor={factor}")
    X, y = _sk().make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=_seed(rng))
    return X.astype(np.float32), y.astype(np.int64)


def moons(n_samples: int = 200, *, noise: float = 0.1, rng=None):
    """Two interleaved half-moons (scikit-learn's ``make_moons``)."""
    n_samples = positive_int(n_samples, "n_samples")
    positive_float(noise, "noise", allow_zero=True)
    X, y = _sk().make_moons(n_samples=n_samples, noise=noise, random_state=_seed(rng))
    return X.astype(np.float32), y.astype(np.int64)


def digits():
    """8x8 handwritten digits (1,797 images), pixels scaled to [0, 1]: X (1797, 64), y (1797,)."""
    data = _sk().load_digits()
    return (data.data / 16.0).astype(np.float32), data.target.astype(np.int64)


def iris():
    """Fisher's iris: X (150, 4), y (150,) in {0, 1, 2}."""
    data = _sk().load_iris()
    return data.data.astype(np.float32), data.target.astype(np.int64)


def breast_cancer():
    """Wisconsin breast cancer: X (569, 30) unscaled, y (569,) in {0, 1}."""
    data = _sk().load_breast_cancer()
    return data.data.astype(np.float32), data.target.astype(np.int64)


def wine():
    """Wine recognition: X (178, 13) unscaled, y (178,) in {0, 1, 2}."""
    data = _sk().load_wine()
    return data.data.astype(np.float32), data.target.astype(np.int64)


def diabetes():
    """Diabetes progression (regression): X (442, 10) as scikit-learn scales it, y (442,) float32."""
    data = _sk().load_diabetes()
    return data.data.astype(np.float32), data.target.astype(np.float32)
