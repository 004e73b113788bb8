"""One place to seed every source of randomness the course uses (used in every chapter)."""
from __future__ import annotations

import importlib.util
import random

import numpy as np

from nnlib._validation import non_negative_int

_DEFAULT_RNG = np.random.default_rng(0)


def seed_everything(seed: int = 0, *, backend: bool = True) -> np.random.Generator:
    """Seed Python, NumPy and (if installed) Keras/TensorFlow; return a NumPy generator.

    Parameters
    ----------
    seed : int
        A non-negative integer.
    backend : bool, default True
        Also seed Keras and TensorFlow and turn on TensorFlow's op determinism, so that
        training is bit-identical across runs on one machine. Ignored when TensorFlow is
        not installed.

    Returns
    -------
    numpy.random.Generator
        ``np.random.default_rng(seed)``. nnlib functions that take ``rng=None`` draw from
        this same generator, so a notebook that calls ``seed_everything`` once at the top
        gives the same numbers on every run.

    Raises
    ------
    TypeError, ValueError
        If ``seed`` is not an integer in [0, 2**32 - 1].
    """
    global _DEFAULT_RNG
    seed = non_negative_int(seed, "seed")
    if seed >= 2**32:
        raise ValueError(f"seed expected an integer in [0, 2**32 - 1] (NumPy's range). Received: seed={seed}")
    random.seed(seed)
    np.random.seed(seed)
    _DEFAULT_RNG = np.random.default_rng(seed)
    if backend and importlib.util.find_spec("tensorflow") is not None:
        from nnlib import keras_bridge

        keras_bridge.seed_backend(seed)
    return _DEFAULT_RNG


def default_rng() -> np.random.Generator:
    """The generator used when an nnlib function is called with ``rng=None``."""
    return _DEFAULT_RNG
