"""Tests for nnlib.initializers: fans and formulas by hand, sample statistics against Keras's
formulas and against Keras's own samples, bad input."""
import math

import numpy as np
import pytest
from scipy import stats

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import initializers

import keras  # noqa: E402

DENSE, CONV = (300, 200), (3, 3, 32, 64)


def keras_variance(name, shape):
    """The variance each initialiser targets, written from Keras's documentation."""
    fan_in, fan_out = initializers.compute_fans(shape)
    return {
        "random_normal": 0.05**2,
        "random_uniform": 0.05**2 / 3,
        "glorot_uniform": 2 / (fan_in + fan_out),
        "glorot_normal": 2 / (fan_in + fan_out),
        "he_uniform": 2 / fan_in,
        "he_normal": 2 / fan_in,
        "lecun_normal": 1 / fan_in,
        "lecun_uniform": 1 / fan_in,
    }[name]


def support(name, shape):
    """Largest |w|: the uniform limit, or two (untruncated) standard deviations."""
    variance = keras_variance(name, shape)
    if name.endswith("uniform"):
        return math.sqrt(3 * variance)
    if name == "random_normal":
        return math.inf
    return 2 * math.sqrt(variance) / 0.87962566103423978


KERAS_CLASSES = {
    "random_normal": keras.initializers.RandomNormal,
    "random_uniform": keras.initializers.RandomUniform,
    "glorot_uniform": keras.initializers.GlorotUniform,
    "glorot_normal": keras.initializers.GlorotNormal,
    "he_uniform": keras.initializers.HeUniform,
    "he_normal": keras.initializers.HeNormal,
    "lecun_normal": keras.initializers.LecunNormal,
    "lecun_uniform": keras.initializers.LecunUniform,
}
RANDOM = list(KERAS_CLASSES)


# --- small hand-computed cases -----------------------------------------------------

def test_compute_fans_as_keras():
    assert initializers.compute_fans((3, 4)) == (3.0, 4.0)
    assert initializers.compute_fans((5,)) == (5.0, 5.0)
    assert initializers.compute_fans(7) == (7.0, 7.0)
    assert initializers.compute_fans((3, 3, 16, 32)) == (144.0, 288.0)  # receptive field 9
    assert initializers.compute_fans((5, 16, 32)) == (80.0, 160.0)


def test_constant_initializers():
    np.testing.assert_array_equal(initializers.zeros((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(initializers.ones(4), np.ones(4))
    assert initializers.zeros((2, 3), np.random.default_rng(0)).dtype == np.float64
    np.testing.assert_array_equal(initializers.constant(0.1)((2, 2)), np.full((2, 2), 0.1))
    np.testing.assert_array_equal(initializers.get("constant")((3,)), keras.initializers.Constant()((3,)).numpy())
    np.testing.assert_array_equal(initializers.constant(-2)((2,)), keras.initializers.Constant(-2.0)((2,)).numpy())
    with pytest.raises(TypeError, match=r"constant expected a finite real value\. Received: nan"):
        initializers.constant(float("nan"))


def test_glorot_uniform_limit_by_hand():
    """fan_in + fan_out = 6 + 2 = 8, so the limit is sqrt(6/8)."""
    weights = initializers.glorot_uniform((6, 2), np.random.default_rng(0))
    assert weights.shape == (6, 2) and weights.dtype == np.float64
    assert np.abs(weights).max() <= math.sqrt(6 / 8)


def test_keyword_scales():
    rng = np.random.default_rng(1)
    assert np.abs(initializers.random_uniform((1000,), rng, limit=0.01)).max() <= 0.01
    assert initializers.random_normal((20000,), rng, stddev=3.0).std() == pytest.approx(3.0, rel=0.03)


@pytest.mark.parametrize("name", RANDOM)
def test_same_generator_state_gives_same_weights(name):
    init = initializers.get(name)
    first = init((4, 5), np.random.default_rng(7))
    np.testing.assert_array_equal(first, init((4, 5), np.random.default_rng(7)))
    assert not np.array_equal(first, init((4, 5), np.random.default_rng(8)))


def test_get_names_and_callables():
    for name in ["zeros", "ones", *RANDOM]:
        assert initializers.get(name) is getattr(initializers, name)
    assert initializers.get("He_Normal") is initializers.he_normal

    def custom(shape, rng):
        return np.full(shape, 0.5)

    assert initializers.get(custom) is custom


def test_integer_like_shapes_are_accepted():
    assert initializers.zeros(np.int64(3)).shape == (3,)
    assert initializers.glorot_uniform((np.int64(2), 3), np.random.default_rng(0)).shape == (2, 3)


# --- statistics against Keras's formulas ------------------------------------------

@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name", RANDOM)
def test_sample_mean_variance_and_support_follow_keras_formulas(name, shape):
    weights = initializers.get(name)(shape, np.random.default_rng(2))
    variance = keras_variance(name, shape)
    count = weights.size
    assert weights.shape == shape
    assert abs(weights.mean()) < 5 * math.sqrt(variance / count)
    # the sample variance has a relative standard error below sqrt(2 / count) = 0.6 %
    assert weights.var() == pytest.approx(variance, rel=0.03)
    assert np.abs(weights).max() <= support(name, shape)


@pytest.mark.parametrize("name", ["glorot_normal", "he_normal", "lecun_normal"])
def test_normal_initializers_are_truncated_at_two_standard_deviations(name):
    weights = initializers.get(name)(DENSE, np.random.default_rng(3))
    untruncated_std = math.sqrt(keras_variance(name, DENSE)) / 0.87962566103423978
    assert np.abs(weights).max() <= 2 * untruncated_std
    assert np.abs(weights).max() > 1.99 * untruncated_std  # the tails are cut, not shrunk


# --- against Keras's own samples ---------------------------------------------------

@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name", RANDOM)
def test_same_distribution_as_keras_samples(name, shape):
    ours = initializers.get(name)(shape, np.random.default_rng(4)).ravel()
    theirs = keras.ops.convert_to_numpy(KERAS_CLASSES[name](seed=4)(shape)).astype(np.float64).ravel()
    assert ours.var() == pytest.approx(theirs.var(), rel=0.04)
    if name != "random_normal":  # bounded: both reach (nearly) the same largest |w|
        assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=0.01)
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3


def test_the_two_sample_comparison_detects_a_missing_truncation():
    """Power check for the test above: an untruncated normal of the same variance is told apart."""
    ours = initializers.glorot_normal(DENSE, np.random.default_rng(5)).ravel()
    stddev = math.sqrt(keras_variance("glorot_normal", DENSE))
    untruncated = keras.ops.convert_to_numpy(keras.initializers.RandomNormal(stddev=stddev, seed=5)(DENSE)).ravel()
    assert stats.ks_2samp(ours, untruncated).pvalue < 1e-6


# --- bad input ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["zeros", "ones", *RANDOM])
def test_bad_shapes_are_refused(name):
    init = initializers.get(name)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"shape expected a tuple of positive integers\. Received: shape=\(0, 3\)"):
        init((0, 3), rng)
    with pytest.raises(ValueError, match=r"shape expected a tuple of positive integers\. Received: shape=\(\)"):
        init((), rng)
    with pytest.raises(TypeError, match=r"shape expected a tuple of positive integers\. Received: \(2\.5, 3\)"):
        init((2.5, 3), rng)
    with pytest.raises(TypeError, match=r"shape expected a tuple of positive integers\. Received: None"):
        init(None, rng)
    with pytest.raises(TypeError, match=r"shape expected a tuple of positive integers\. Received: \('a', 'b'\)"):
        init("ab", rng)


@pytest.mark.parametrize("name", RANDOM)
def test_rng_must_be_a_generator(name):
    with pytest.raises(TypeError, match=r"rng expected a numpy\.random\.Generator \(np\.random\.default_rng\(seed\)\)\. Received: int"):
        initializers.get(name)((2, 2), 42)


def test_scales_must_be_positive():
    with pytest.raises(ValueError, match=r"stddev expected a finite number > 0\. Received: stddev=-1\.0"):
        initializers.random_normal((2,), np.random.default_rng(0), stddev=-1)
    with pytest.raises(TypeError, match=r"limit expected a real number\. Received: '0\.1'"):
        initializers.random_uniform((2,), np.random.default_rng(0), limit="0.1")


def test_get_refuses_unknown_names():
    with pytest.raises(ValueError, match=r"initializer expected one of \[.*'glorot_uniform'.*\]\. Received: initializer='identity'"):
        initializers.get("identity")
    with pytest.raises(TypeError, match=r"initializer expected one of \[.*\]\. Received: None"):
        initializers.get(None)


def test_orthogonal_matches_keras_properties():
    """Keras's Orthogonal draws from its own generator, so the values differ; what it promises
    holds for both: orthonormal rows (wide) or columns (tall), times the gain."""
    import nnlib  # noqa: F401
    import keras

    for shape in [(5, 20), (20, 5), (6, 6)]:
        ours = initializers.orthogonal(shape, np.random.default_rng(0), gain=1.5)
        theirs = keras.initializers.Orthogonal(gain=1.5, seed=0)(shape).numpy()
        for w in (ours, theirs):
            gram = w @ w.T if shape[0] <= shape[1] else w.T @ w
            np.testing.assert_allclose(gram, 2.25 * np.eye(min(shape)), atol=1e-5)
    a = initializers.orthogonal((4, 4), np.random.default_rng(3))
    b = initializers.orthogonal((4, 4), np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)  # reproducible from the generator alone
