"""Tests for nnlib.clipping: parity with TensorFlow's clip functions on random lists, small
cases by hand, the inputs left unchanged, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnlib  # noqa: F401  (before tensorflow: sets the quiet TensorFlow environment)
from nnlib import clipping

import tensorflow as tf  # noqa: E402

SHAPES = [(3, 4), (5,), (2, 2, 3), ()]
THRESHOLD = 1.5
# Gradient scales: well above the threshold (clipping acts), well below it (nothing changes).
CASES = {"large": 3.0, "below-threshold": 0.01}


def random_gradients(scale, *, zero_at=None, seed=0):
    rng = np.random.default_rng(seed)
    grads = [scale * rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
    if zero_at is not None:
        grads[zero_at] = np.zeros_like(grads[zero_at])
    return grads


GRADIENT_LISTS = {
    **{case: random_gradients(scale) for case, scale in CASES.items()},
    "with-a-zero-gradient": random_gradients(3.0, zero_at=1),
    "all-zero": [np.zeros(shape, dtype=np.float32) for shape in SHAPES],
}


# --- parity with TensorFlow in float32 ----------------------------------------------

@pytest.mark.parametrize("case", GRADIENT_LISTS)
def test_clip_by_value_matches_tensorflow(case):
    grads = GRADIENT_LISTS[case]
    ours = clipping.clip_by_value(grads, THRESHOLD)
    for mine, grad in zip(ours, grads, strict=True):
        np.testing.assert_array_equal(mine, tf.clip_by_value(grad, -THRESHOLD, THRESHOLD).numpy())


@pytest.mark.parametrize("case", GRADIENT_LISTS)
def test_clip_by_norm_matches_tensorflow(case):
    grads = GRADIENT_LISTS[case]
    ours = clipping.clip_by_norm(grads, THRESHOLD)
    for mine, grad in zip(ours, grads, strict=True):
        np.testing.assert_allclose(mine, tf.clip_by_norm(grad, THRESHOLD).numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", GRADIENT_LISTS)
def test_global_norm_matches_tensorflow(case):
    grads = GRADIENT_LISTS[case]
    norm = clipping.global_norm(grads)
    assert isinstance(norm, float)
    np.testing.assert_allclose(norm, tf.linalg.global_norm(grads).numpy(), rtol=1e-6)


@pytest.mark.parametrize("case", GRADIENT_LISTS)
def test_clip_by_global_norm_matches_tensorflow(case):
    grads = GRADIENT_LISTS[case]
    ours, norm = clipping.clip_by_global_norm(grads, THRESHOLD)
    theirs, tf_norm = tf.clip_by_global_norm(grads, THRESHOLD)
    np.testing.assert_allclose(norm, tf_norm.numpy(), rtol=1e-6)
    for mine, tf_clipped in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, tf_clipped.numpy(), rtol=1e-6, atol=1e-7)


def test_a_non_finite_global_norm_gives_nan_like_tensorflow():
    grads = [np.array([1.0, np.inf], dtype=np.float32), np.ones(2, dtype=np.float32)]
    ours, norm = clipping.clip_by_global_norm(grads, THRESHOLD)
    theirs, tf_norm = tf.clip_by_global_norm(grads, THRESHOLD)
    assert norm == tf_norm.numpy() == np.inf
    for mine, tf_clipped in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, tf_clipped.numpy())
        assert np.isnan(mine).all()


# --- small cases by hand, dtypes, inputs unchanged ------------------------------------

def test_small_cases_by_hand():
    grads = [np.array([3.0, 4.0]), np.array([[0.0]]), np.array(12.0)]  # norms 5, 0, 12: global 13
    assert clipping.global_norm(grads) == 13.0
    np.testing.assert_allclose(clipping.clip_by_value(grads, 3.5)[0], [3.0, 3.5], rtol=1e-15)
    by_norm = clipping.clip_by_norm(grads, 6.0)
    np.testing.assert_allclose(by_norm[0], [3.0, 4.0], rtol=1e-15)  # norm 5 < 6: unchanged
    np.testing.assert_allclose(by_norm[2], 6.0, rtol=1e-15)
    clipped, norm = clipping.clip_by_global_norm(grads, 6.5)  # scale 6.5 / 13 = 0.5
    assert norm == 13.0
    np.testing.assert_allclose(clipped[0], [1.5, 2.0], rtol=1e-15)
    np.testing.assert_array_equal(clipped[1], [[0.0]])
    np.testing.assert_allclose(clipped[2], 6.0, rtol=1e-15)
    assert clipping.global_norm([]) == 0.0 and clipping.clip_by_global_norm([], 1.0) == ([], 0.0)


@pytest.mark.parametrize("clip", ["clip_by_value", "clip_by_norm", "clip_by_global_norm"])
def test_returns_new_arrays_of_the_same_dtype_and_leaves_the_inputs_alone(clip):
    grads = GRADIENT_LISTS["large"]
    copies = [grad.copy() for grad in grads]
    result = getattr(clipping, clip)(grads, THRESHOLD)
    clipped = result[0] if clip == "clip_by_global_norm" else result
    for new, old, copy in zip(clipped, grads, copies, strict=True):
        assert new is not old and new.dtype == np.float32 and new.shape == old.shape
        np.testing.assert_array_equal(old, copy)
    integers = getattr(clipping, clip)([np.array([3, -4])], 2.0)
    assert (integers[0] if clip == "clip_by_global_norm" else integers)[0].dtype == np.float64


@settings(max_examples=50, deadline=None)
@given(
    st.lists(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                        elements=st.floats(-1e3, 1e3)), min_size=1, max_size=4),
    st.floats(1e-3, 1e3),
)
def test_clipped_norms_are_bounded_and_directions_kept(grads, clip_norm):
    clipped, norm = clipping.clip_by_global_norm(grads, clip_norm)
    assert clipping.global_norm(clipped) <= clip_norm * (1 + 1e-12)
    scale = min(1.0, clip_norm / norm) if norm > 0 else 1.0
    for new, old in zip(clipped, grads, strict=True):
        np.testing.assert_allclose(new, scale * old, rtol=1e-12)
    for new in clipping.clip_by_norm(grads, clip_norm):
        assert clipping.global_norm([new]) <= clip_norm * (1 + 1e-12)


# --- bad input ---------------------------------------------------------------------

@pytest.mark.parametrize("clip", ["clip_by_value", "clip_by_norm", "clip_by_global_norm"])
def test_refuses_bad_arguments(clip):
    function = getattr(clipping, clip)
    name = "clip_value" if clip == "clip_by_value" else "clip_norm"
    with pytest.raises(TypeError, match=r"grads expected a list of arrays\. Received: ndarray"):
        function(np.ones((2, 3)), 1.0)
    with pytest.raises(TypeError, match=r"grads\[1\] expected an array of numbers\. Received: str"):
        function([np.ones(2), "0.5"], 1.0)
    with pytest.raises(ValueError, match=rf"{name} expected a finite number > 0\. Received: {name}=0\.0"):
        function([np.ones(2)], 0)
    with pytest.raises(ValueError, match=rf"{name} expected a finite number > 0\. Received: {name}=-1\.0"):
        function([np.ones(2)], -1.0)
    with pytest.raises(TypeError, match=rf"{name} expected a real number\. Received: None"):
        function([np.ones(2)], None)


def test_global_norm_refuses_bad_arguments():
    with pytest.raises(TypeError, match=r"grads expected a list of arrays\. Received: float"):
        clipping.global_norm(1.0)
    with pytest.raises(TypeError, match=r"grads\[0\] expected an array of real numbers\. Received: dtype=complex128"):
        clipping.global_norm([np.array([1j])])
