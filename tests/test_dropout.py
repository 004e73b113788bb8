"""Tests for nnlib.layers.dropout: the identity at inference, statistics of the masks
(tolerances from the binomial standard deviation), backward with the cached mask, a float64
gradient check with a fixed mask, statistical parity with keras.layers.Dropout, bad input."""
import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib.gradcheck import numerical_gradient, relative_error
from nnlib.layers.dropout import Dropout

import keras  # noqa: E402

GRAD_TOL = 1e-5  # see tests/test_dense.py
RATES = [0.1, 0.5, 0.8]
SIGMAS = 5  # a correct layer fails a 5-sigma check with probability below 1e-6


def dropout(rate=0.5, seed=0):
    return Dropout(rate, rng=np.random.default_rng(seed))


# --- small cases ---------------------------------------------------------------------

def test_no_parameters_and_repr():
    layer = dropout(0.25)
    assert layer.params == {} and layer.count_params() == 0 and layer.get_weights() == []
    assert layer.multiply_adds() == 0
    assert layer.scale == 1 / 0.75
    assert repr(layer) == "Dropout(rate=0.25)"


@pytest.mark.parametrize("rate", [0.0, *RATES])
def test_identity_at_inference(rate):
    layer = dropout(rate)
    x = np.random.default_rng(1).standard_normal((4, 5))
    out = layer.forward(x)  # training=False is the default, as in Keras
    assert out is x or np.array_equal(out, x)
    np.testing.assert_array_equal(layer(x, training=False), x)
    dout = np.arange(20.0).reshape(4, 5)
    np.testing.assert_array_equal(layer.backward(dout), dout)


def test_rate_zero_is_the_identity_in_training():
    x = np.random.default_rng(2).standard_normal((3, 3))
    layer = dropout(0.0)
    np.testing.assert_array_equal(layer.forward(x, training=True), x)
    assert layer.mask is None


def test_kept_units_are_scaled_and_dropped_units_are_zero():
    layer = dropout(0.75)
    x = np.random.default_rng(3).uniform(1, 2, size=(50, 40))
    out = layer.forward(x, training=True)
    np.testing.assert_array_equal(out[layer.mask], x[layer.mask] * 4.0)
    np.testing.assert_array_equal(out[~layer.mask], 0.0)


def test_backward_is_mask_times_scale_times_dout():
    layer = dropout(0.4)
    rng = np.random.default_rng(4)
    layer.forward(rng.standard_normal((6, 7)), training=True)
    dout = rng.standard_normal((6, 7))
    np.testing.assert_allclose(layer.backward(dout), layer.mask * (1 / 0.6) * dout, rtol=1e-15)


def test_same_generator_seed_gives_the_same_mask_and_a_new_one_each_call():
    x = np.ones((10, 10))
    first, second = dropout(0.5, seed=7), dropout(0.5, seed=7)
    np.testing.assert_array_equal(first.forward(x, training=True), second.forward(x, training=True))
    previous = first.mask.copy()
    first.forward(x, training=True)
    assert not np.array_equal(first.mask, previous)


def test_dtype_and_shape_are_kept():
    layer = dropout(0.5)
    x32 = np.ones((2, 3, 4), dtype=np.float32)
    out = layer.forward(x32, training=True)
    assert out.dtype == np.float32 and out.shape == (2, 3, 4)
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert layer.backward(np.ones((2, 3, 4), dtype=np.float32)).dtype == np.float32


# --- statistics ----------------------------------------------------------------------

@pytest.mark.parametrize("rate", RATES)
def test_fraction_dropped_is_rate(rate):
    count = 200_000
    layer = dropout(rate, seed=5)
    layer.forward(np.ones(count), training=True)
    dropped = 1 - layer.mask.mean()
    assert abs(dropped - rate) < SIGMAS * np.sqrt(rate * (1 - rate) / count)


@pytest.mark.parametrize("rate", RATES)
def test_mean_is_preserved(rate):
    """E[y] = x. For x = 1 each output is s * Bernoulli(1 - p): variance p / (1 - p)."""
    count = 200_000
    out = dropout(rate, seed=6).forward(np.ones(count), training=True)
    assert abs(out.mean() - 1.0) < SIGMAS * np.sqrt(rate / (1 - rate) / count)


# --- float64 gradient check (a fixed mask: the generator is re-seeded for every forward) -

def test_gradient_matches_central_differences_with_a_fixed_mask():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 4))
    upstream = rng.standard_normal((5, 4))
    layer = dropout(0.3)

    def forward():
        layer.rng = np.random.default_rng(9)
        return layer.forward(x, training=True)

    def loss():
        return np.sum(forward() * upstream)

    forward()
    analytic = layer.backward(upstream)
    assert 0 < layer.mask.sum() < layer.mask.size
    assert relative_error(analytic, numerical_gradient(loss, x)) < GRAD_TOL


# --- parity with Keras (statistical: the two use different random streams) ---------

@pytest.mark.parametrize("rate", RATES)
def test_matches_keras_dropout_statistically(rate):
    count = 100_000
    x = np.random.default_rng(10).uniform(0.5, 1.5, size=(100, count // 100)).astype(np.float32)
    keras_out = keras.layers.Dropout(rate, seed=11)(x, training=True).numpy()
    out = dropout(rate, seed=12).forward(x, training=True)
    assert out.dtype == keras_out.dtype == np.float32
    kept, keras_kept = out != 0, keras_out != 0
    # the same kept fraction: each within binomial tolerance of 1 - p, hence of each other
    tolerance = SIGMAS * np.sqrt(rate * (1 - rate) / count)
    assert abs(kept.mean() - (1 - rate)) < tolerance
    assert abs(keras_kept.mean() - (1 - rate)) < tolerance
    # the same scale of kept values: x / (1 - p), computed as x * (1 / (1 - p)) in float32
    np.testing.assert_allclose(keras_out[keras_kept], x[keras_kept] / (1 - rate), rtol=1e-6)
    np.testing.assert_allclose(out[kept], x[kept] / (1 - rate), rtol=1e-6)
    # and the identity at inference in both
    np.testing.assert_array_equal(keras.layers.Dropout(rate)(x, training=False).numpy(), dropout(rate).forward(x))


# --- bad input -----------------------------------------------------------------------

def test_rate_is_validated():
    with pytest.raises(ValueError, match=r"rate expected a number in \[0, 1\) \(the fraction of units dropped\)\. Received: rate=1\.0"):
        Dropout(1.0)
    with pytest.raises(ValueError, match=r"Received: rate=-0\.1"):
        Dropout(-0.1)
    with pytest.raises(TypeError, match=r"rate expected a number in \[0, 1\)\. Received: '0\.5'"):
        Dropout("0.5")
    with pytest.raises(TypeError, match=r"rate expected a number in \[0, 1\)\. Received: None"):
        Dropout(None)
    with pytest.raises(TypeError, match=r"rng expected a numpy\.random\.Generator .*Received: int"):
        Dropout(0.5, rng=0)


def test_forward_and_backward_refuse_bad_input():
    layer = dropout(0.5)
    with pytest.raises(RuntimeError, match=r"dropout\.backward called before forward"):
        layer.backward(np.ones(3))
    with pytest.raises(TypeError, match=r"x expected an array of numbers\. Received: str"):
        layer.forward("x")
    with pytest.raises(ValueError, match=r"x expected an array with at least 1 dimensions\. Received: x\.shape=\(\)"):
        layer.forward(1.0)
    layer.forward(np.ones((2, 3)), training=True)
    with pytest.raises(ValueError, match=r"Dropout layer 'dropout' backward expected dout of shape \(2, 3\)\. Received: dout\.shape=\(3, 2\)"):
        layer.backward(np.ones((3, 2)))
