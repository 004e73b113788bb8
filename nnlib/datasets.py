"""Small offline data sets: logic gates, separable data with a known margin, and float32
wrappers over scikit-learn's bundled and generated sets. Nothing is downloaded.

Inputs are float32 (Keras's dtype); class labels are int64, except for the logic gates,
whose targets are float32 so that they can be fed to a sigmoid output directly.
"""
from __future__ import annotations

import numpy as np


from nnlib._validation import flag, fraction, generator, one_of, positive_float, positive_int

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


def digits_transfer_split(*, n_target_labels_per_class: int = 10, source_test_fraction: float = 0.25,
                          target_test_fraction: float = 0.5, flat: bool = False, rng=None) -> dict:
    r"""The digits split for transfer learning: a source task on classes 0-4, a target task on 5-9.

    The 1,797 images of :func:`digits` are split by class. The *source* task (digits 0-4) is
    split, stratified, into ``source_train`` and ``source_test`` (``source_test_fraction``).
    The *target* task (digits 5-9) is split, stratified, into a labelled pool and
    ``target_test`` (``target_test_fraction``); from the pool, ``n_target_labels_per_class``
    images of each target class are drawn for ``target_train`` (the few labels). Target
    labels are re-indexed :math:`y - 5 \in \{0, \dots, 4\}`, so both tasks are 5-class
    problems. No image appears in two sets. Everything is drawn from ``rng``.

    Parameters
    ----------
    n_target_labels_per_class : int >= 1, default 10
        Labelled target images per class (at most the pool's smallest class).
    source_test_fraction, target_test_fraction : float in (0, 1)
    flat : bool, default False
        False: images of shape ``(N, 8, 8, 1)`` (channels-last, as ``keras.layers.Conv2D``
        and ``nnlib.layers.Conv2D`` take them); True: ``(N, 64)``.
    rng : numpy.random.Generator, optional

    Returns
    -------
    dict with keys ``"source_train"``, ``"source_test"``, ``"target_train"``,
    ``"target_test"``, each a pair ``(x, y)``: x float32 in [0, 1], y int64 in {0, ..., 4}.

    Notes
    -----
    The splits use scikit-learn's ``train_test_split(stratify=...)`` with a ``random_state``
    drawn from ``rng``. Used in chapter 33.
    """
    n_labels = positive_int(n_target_labels_per_class, "n_target_labels_per_class")
    source_test_fraction = fraction(source_test_fraction, "source_test_fraction")
    target_test_fraction = fraction(target_test_fraction, "target_test_fraction")
    for name, value in (("source_test_fraction", source_test_fraction), ("target_test_fraction", target_test_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"{name} expected a number in (0, 1). Received: {name}={value}")
    flat = flag(flat, "flat")
    rng = generator(rng)
    from sklearn.model_selection import train_test_split

    x, y = digits()
    if not flat:
        x = x.reshape(-1, 8, 8, 1)
    source, target = y < 5, y >= 5
    xs_train, xs_test, ys_train, ys_test = train_test_split(
        x[source], y[source], test_size=source_test_fraction, stratify=y[source], random_state=_seed(rng))
    xt_pool, xt_test, yt_pool, yt_test = train_test_split(
        x[target], y[target] - 5, test_size=target_test_fraction, stratify=y[target], random_state=_seed(rng))
    smallest = int(np.bincount(yt_pool).min())
    if n_labels > smallest:
        raise ValueError(
            f"n_target_labels_per_class expected at most {smallest} (the smallest target class in the labelled pool). "
            f"Received: n_target_labels_per_class={n_labels}")
    chosen = np.concatenate([rng.choice(np.flatnonzero(yt_pool == label), size=n_labels, replace=False) for label in range(5)])
    chosen = rng.permutation(chosen)
    return {"source_train": (xs_train, ys_train), "source_test": (xs_test, ys_test),
            "target_train": (xt_pool[chosen], yt_pool[chosen]), "target_test": (xt_test, yt_test)}


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
