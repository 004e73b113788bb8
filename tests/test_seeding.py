"""Tests for nnlib.seeding: one call reseeds Python, NumPy, nnlib's default generator and
Keras/TensorFlow, and turns on op determinism; bad input."""
import random
import re

import numpy as np
import pytest

import nnlib
from nnlib import layers
from nnlib.seeding import default_rng, seed_everything

import keras  # noqa: E402
from tensorflow.python.framework import config as tf_config  # noqa: E402  (no public getter for op determinism)


def draws():
    """One number from each source of randomness the course uses."""
    return (
        random.random(),
        np.random.rand(),
        default_rng().standard_normal(),
        float(keras.ops.convert_to_numpy(keras.random.normal((1,)))[0]),
    )


def test_seed_everything_returns_the_default_generator_seeded_like_numpy():
    rng = seed_everything(5)
    assert rng is default_rng() is nnlib.default_rng()
    expected = np.random.default_rng(5).standard_normal(4)
    np.testing.assert_array_equal(rng.standard_normal(4), expected)


def test_reseeding_repeats_every_source():
    seed_everything(11)
    first = draws()
    seed_everything(11)
    assert draws() == first
    seed_everything(12)
    second = draws()
    assert all(a != b for a, b in zip(first, second, strict=True))


def test_reseeding_repeats_nnlib_and_keras_initial_weights():
    def build():
        keras_layer = keras.layers.Dense(3)
        keras_layer.build((None, 4))
        return layers.Dense(4, 3).kernel, keras_layer.get_weights()[0]  # rng=None: nnlib's default generator

    seed_everything(0)
    nnlib_kernel, keras_kernel = build()
    seed_everything(0)
    again = build()
    np.testing.assert_array_equal(nnlib_kernel, again[0])
    np.testing.assert_array_equal(keras_kernel, again[1])


def test_backend_seeding_turns_on_op_determinism():
    seed_everything(0)
    assert tf_config.is_op_determinism_enabled()


def draws_after_numpy_seed(seed):
    """What Python, NumPy's legacy state and a fresh generator give right after seeding."""
    random.seed(seed)
    np.random.seed(seed)
    return random.random(), np.random.rand(), np.random.default_rng(seed).standard_normal()


def test_backend_false_leaves_keras_alone():
    seed_everything(21)
    keras_first = draws()[3]
    seed_everything(21, backend=False)
    python, numpy_legacy, nnlib_default, keras_second = draws()
    assert (python, numpy_legacy, nnlib_default) == draws_after_numpy_seed(21)
    assert keras_second != keras_first  # Keras's stream went on instead of restarting


def test_largest_numpy_seed_is_accepted():
    assert isinstance(seed_everything(2**32 - 1, backend=False), np.random.Generator)


def test_bad_seeds_are_refused():
    with pytest.raises(ValueError, match=r"seed expected a non-negative integer\. Received: seed=-1"):
        seed_everything(-1)
    with pytest.raises(TypeError, match=r"seed expected a non-negative integer\. Received: 1\.5"):
        seed_everything(1.5)
    with pytest.raises(TypeError, match=r"seed expected a non-negative integer\. Received: True"):
        seed_everything(True)
    with pytest.raises(TypeError, match=r"seed expected a non-negative integer\. Received: '0'"):
        seed_everything("0")
    with pytest.raises(ValueError, match=r"seed expected an integer in \[0, 2\*\*32 - 1\] \(NumPy's range\)\. Received: seed=4294967296"):
        seed_everything(2**32)


def test_nnlib_seed_replaces_the_seed_a_chapter_passes(monkeypatch):
    monkeypatch.setenv("NNLIB_SEED", "7")
    rng = seed_everything(0)
    np.testing.assert_array_equal(rng.standard_normal(3), np.random.default_rng(7).standard_normal(3))
    assert random.random() == draws_after_numpy_seed(7)[0]
    monkeypatch.setenv("NNLIB_SEED", "")  # empty counts as unset
    np.testing.assert_array_equal(seed_everything(0).standard_normal(3), np.random.default_rng(0).standard_normal(3))


def test_nnlib_seed_reaches_keras(monkeypatch):
    monkeypatch.setenv("NNLIB_SEED", "7")
    seed_everything(0)
    overridden = draws()[3]
    monkeypatch.delenv("NNLIB_SEED")
    seed_everything(7)
    assert draws()[3] == overridden


def test_bad_nnlib_seed_is_refused(monkeypatch):
    for text in ("-1", "1.5", "abc", str(2**32)):
        monkeypatch.setenv("NNLIB_SEED", text)
        with pytest.raises(ValueError, match=r"NNLIB_SEED expected an integer in \[0, 2\*\*32 - 1\] \(or unset\)\. "
                                             r"Received: NNLIB_SEED='%s'" % re.escape(text)):
            seed_everything(0)
    monkeypatch.setenv("NNLIB_SEED", "3")
    with pytest.raises(TypeError, match="seed expected a non-negative integer"):
        seed_everything(1.5)  # the chapter's own argument is still checked
