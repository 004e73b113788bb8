"""One place to seed every source of randomness the course uses (used in every chapter).

A chapter calls ``rng = nnlib.seed_everything(0)`` once, in its set-up cell, and derives every
other random stream (data splits, per-run generators, shuffles, Keras seeds) from ``rng``.
The environment variable ``NNLIB_SEED`` replaces the seed the chapter passes, so that one
command re-runs a whole chapter on other random numbers: ``NNLIB_SEED=7 jupyter lab`` or
``make robustness``, which runs every chapter at two more seeds.
"""
from __future__ import annotations

import importlib.util
import os
import random

import numpy as np

from nnlib._validation import flag, non_negative_int

_DEFAULT_RNG = np.random.default_rng(0)
SEED_VARIABLE = "NNLIB_SEED"


def seed_override() -> int | None:
    """The seed in the environment variable ``NNLIB_SEED``, or None when it is unset or empty.

    Raises
    ------
    ValueError
        If the variable is set to anything but an integer in [0, 2**32 - 1].
    """
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) >= 2**32:
        raise ValueError(f"{SEED_VARIABLE} expected an integer in [0, 2**32 - 1] (or unset). "
                         f"Received: {SEED_VARIABLE}={os.environ[SEED_VARIABLE]!r}")
    return int(text)


def seed_everything(seed: int = 0, *, backend: bool = True) -> np.random.Generator:
    """Seed Python, NumPy and (if installed) Keras/TensorFlow; return a NumPy generator.

    Parameters
    ----------
    seed : int
        A non-negative integer. When the environment variable ``NNLIB_SEED`` is set, its
        value is used instead (after ``seed`` has been checked), so a chapter runs on other
        random numbers without an edit; chapters therefore call this function once.
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
        If ``seed`` is not an integer in [0, 2**32 - 1], or ``NNLIB_SEED`` is set to
        something else than such an integer.
    """
    global _DEFAULT_RNG
    seed = non_negative_int(seed, "seed")
    backend = flag(backend, "backend")
    if seed >= 2**32:
        raise ValueError(f"seed expected an integer in [0, 2**32 - 1] (NumPy's range). Received: seed={seed}")
    override = seed_override()
    if override is not None:
        seed = override
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
