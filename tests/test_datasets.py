"""Tests for nnlib.datasets: truth tables by hand, the promised margin, shapes and dtypes of the
scikit-learn wrappers, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib import datasets

GATES = {
    "and": lambda a, b: a and b,
    "or": lambda a, b: a or b,
    "nand": lambda a, b: not (a and b),
    "nor": lambda a, b: not (a or b),
    "xor": lambda a, b: a != b,
    "xnor": lambda a, b: a == b,
}


# --- logic gates -------------------------------------------------------------------

@pytest.mark.parametrize("name", GATES)
def test_logic_gate_truth_tables(name):
    X, y = datasets.logic_gate(name)
    assert X.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [float(GATES[name](bool(a), bool(b))) for a, b in X])


def test_logic_gate_names_are_case_insensitive():
    np.testing.assert_array_equal(datasets.logic_gate("XOR")[1], datasets.logic_gate("xor")[1])


# --- linearly separable data with a margin -----------------------------------------

def check_separable(X, y, weights, bias, n_samples, margin, n_features):
    assert X.shape == (n_samples, n_features) and X.dtype == np.float64
    assert y.shape == (n_samples,) and y.dtype == np.int64
    assert np.all(np.abs(X) <= 1)
    assert np.linalg.norm(weights) == pytest.approx(1.0, rel=1e-12)
    assert 0.1 <= abs(bias) <= 0.4
    scores = X @ weights + bias
    assert np.all(np.abs(scores) >= margin)
    np.testing.assert_array_equal(y, (scores > 0).astype(int))
    assert set(np.unique(y)) == {0, 1}


def test_linearly_separable_keeps_its_promises():
    X, y, weights, bias = datasets.linearly_separable(200, 0.1, rng=np.random.default_rng(0))
    check_separable(X, y, weights, bias, 200, 0.1, 2)
    X5, y5, w5, b5 = datasets.linearly_separable(50, 0.05, n_features=5, rng=np.random.default_rng(1))
    check_separable(X5, y5, w5, b5, 50, 0.05, 5)


def test_linearly_separable_is_reproducible():
    first = datasets.linearly_separable(30, 0.1, rng=np.random.default_rng(2))
    second = datasets.linearly_separable(30, 0.1, rng=np.random.default_rng(2))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 60), st.floats(0.001, 0.45), st.integers(1, 6))
def test_linearly_separable_for_any_size_and_margin(seed, n_samples, margin, n_features):
    X, y, weights, bias = datasets.linearly_separable(n_samples, margin, n_features=n_features, rng=np.random.default_rng(seed))
    check_separable(X, y, weights, bias, n_samples, margin, n_features)


# --- scikit-learn wrappers ---------------------------------------------------------

def test_circles_without_noise_lie_on_two_circles():
    X, y = datasets.circles(100, noise=0.0, factor=0.3, rng=np.random.default_rng(0))
    assert X.shape == (100, 2) and X.dtype == np.float32 and y.dtype == np.int64
    radius = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(radius[y == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(radius[y == 1], 0.3, rtol=1e-6)
    assert np.bincount(y).tolist() == [50, 50]


def test_moons_without_noise_lie_on_two_half_circles():
    X, y = datasets.moons(60, noise=0.0, rng=np.random.default_rng(0))
    assert X.shape == (60, 2) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X[y == 0], axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(X[y == 1] - [1.0, 0.5], axis=1), 1.0, rtol=1e-6)
    assert np.bincount(y).tolist() == [30, 30]


@pytest.mark.parametrize("make", [datasets.circles, datasets.moons])
def test_generated_sets_follow_the_generator(make):
    first, _ = make(50, noise=0.1, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(first, make(50, noise=0.1, rng=np.random.default_rng(3))[0])
    assert not np.array_equal(first, make(50, noise=0.1, rng=np.random.default_rng(4))[0])


@pytest.mark.parametrize("loader, n_samples, n_features, n_classes", [
    (datasets.digits, 1797, 64, 10),
    (datasets.iris, 150, 4, 3),
    (datasets.breast_cancer, 569, 30, 2),
    (datasets.wine, 178, 13, 3),
])
def test_bundled_classification_sets(loader, n_samples, n_features, n_classes):
    X, y = loader()
    assert X.shape == (n_samples, n_features) and X.dtype == np.float32
    assert y.shape == (n_samples,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.unique(y), np.arange(n_classes))


def test_digits_are_scaled_to_unit_interval():
    X, _ = datasets.digits()
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.unique(X * 16), np.arange(17))  # 17 grey levels, 0..16


def test_diabetes_is_a_regression_set():
    X, y = datasets.diabetes()
    assert X.shape == (442, 10) and X.dtype == np.float32
    assert y.shape == (442,) and y.dtype == np.float32
    assert len(np.unique(y)) > 100


# --- bad input ---------------------------------------------------------------------

def test_logic_gate_refuses_unknown_gates():
    with pytest.raises(ValueError, match=r"name expected one of \['and', 'nand', 'nor', 'or', 'xnor', 'xor'\]\. Received: name='xand'"):
        datasets.logic_gate("xand")
    with pytest.raises(TypeError, match=r"name expected one of \[.*\]\. Received: 1"):
        datasets.logic_gate(1)


def test_linearly_separable_refuses_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"margin expected a number in \(0, 0\.5\) for points in \[-1, 1\]\^d\. Received: margin=0\.5"):
        datasets.linearly_separable(10, 0.5, rng=rng)
    with pytest.raises(ValueError, match=r"margin expected a finite number > 0\. Received: margin=0\.0"):
        datasets.linearly_separable(10, 0.0, rng=rng)
    with pytest.raises(ValueError, match=r"n_samples expected at least 2 \(one point per class\)\. Received: n_samples=1"):
        datasets.linearly_separable(1, 0.1, rng=rng)
    with pytest.raises(ValueError, match=r"n_samples expected a positive integer\. Received: n_samples=0"):
        datasets.linearly_separable(0, 0.1, rng=rng)
    with pytest.raises(TypeError, match=r"n_features expected a positive integer\. Received: 2\.0"):
        datasets.linearly_separable(10, 0.1, n_features=2.0, rng=rng)
    with pytest.raises(TypeError, match=r"rng expected a numpy\.random\.Generator .*Received: int"):
        datasets.linearly_separable(10, 0.1, rng=0)


def test_circles_and_moons_refuse_bad_arguments():
    with pytest.raises(ValueError, match=r"factor expected a number in \(0, 1\)\. Received: factor=1\.0"):
        datasets.circles(10, factor=1.0)
    with pytest.raises(ValueError, match=r"noise expected a finite number >= 0\. Received: noise=-0\.1"):
        datasets.circles(10, noise=-0.1)
    with pytest.raises(ValueError, match=r"noise expected a finite number >= 0\. Received: noise=-1\.0"):
        datasets.moons(10, noise=-1)
    with pytest.raises(TypeError, match=r"n_samples expected a positive integer\. Received: '10'"):
        datasets.moons("10")
