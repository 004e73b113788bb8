"""Tests for nnlib.gradcheck: central differences by hand, the relative error, that the layer
check passes correct layers and fails broken ones, bad input."""
import numpy as np
import pytest

from nnlib import gradcheck, layers


# --- small hand-computed cases -----------------------------------------------------

def test_central_difference_error_is_h_squared_for_a_cubic():
    """((1+h)^3 - (1-h)^3) / (2h) = 3 + h^2 exactly: the O(h^2) error term, seen directly."""
    x = np.array([1.0])
    numeric = gradcheck.numerical_gradient(lambda: float(x[0] ** 3), x, eps=1e-3)
    assert numeric[0] == pytest.approx(3.0 + 1e-6, abs=1e-11)


def test_numerical_gradient_of_known_functions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(gradcheck.numerical_gradient(lambda: np.sum(x**2), x), 2 * x, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(gradcheck.numerical_gradient(lambda: np.sum(np.sin(x)), x), np.cos(x), rtol=1e-8, atol=1e-9)
    scalar = np.array(2.0)
    assert gradcheck.numerical_gradient(lambda: float(scalar) ** 2, scalar) == pytest.approx(4.0, rel=1e-9)


def test_numerical_gradient_restores_its_argument():
    x = np.random.default_rng(1).standard_normal(5)
    before = x.copy()
    gradcheck.numerical_gradient(lambda: np.prod(x), x)
    np.testing.assert_array_equal(x, before)


def test_relative_error_by_hand():
    assert gradcheck.relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert gradcheck.relative_error([1.0], [-1.0]) == 1.0
    assert gradcheck.relative_error([1.0, 0.0], [1.1, 0.0]) == pytest.approx(0.1 / 2.1)
    assert gradcheck.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.relative_error(np.zeros(0), np.zeros(0)) == 0.0
    # below 1e-12 in magnitude, differences are measured against 1e-12
    assert gradcheck.relative_error([1e-13], [0.0]) == pytest.approx(0.1)


def test_check_function_passes_a_right_gradient_and_fails_a_wrong_one():
    x = [0.5, -1.0, 2.0]  # a list of numbers is accepted
    assert gradcheck.check_function(lambda v: np.sum(np.exp(v)), np.exp, x) < 1e-8
    assert gradcheck.check_function(lambda v: np.sum(np.exp(v)), lambda v: np.exp(v) * 1.01, x) > 1e-3


def test_check_layer_passes_a_correct_layer_and_leaves_it_unchanged():
    rng = np.random.default_rng(2)
    layer = layers.Dense(3, 2, "tanh", rng=rng, bias_initializer="random_normal")
    weights = layer.get_weights()
    errors = gradcheck.check_layer(layer, rng.standard_normal((4, 3)), rng=rng)
    assert set(errors) == {"input", "kernel", "bias"}
    assert max(errors.values()) < 1e-5
    for before, after in zip(weights, layer.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_check_layer_reports_each_wrong_gradient_separately():
    class WrongBias(layers.Dense):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["bias"] = 2 * self.grads["bias"]
            return dx

    rng = np.random.default_rng(3)
    errors = gradcheck.check_layer(WrongBias(3, 2, rng=rng), rng.standard_normal((4, 3)), rng=rng)
    assert errors["input"] < 1e-5 and errors["kernel"] < 1e-5
    assert errors["bias"] == pytest.approx(1 / 3, rel=1e-4)  # |2g - g| / (|2g| + |g|)


# --- bad input ---------------------------------------------------------------------

def test_numerical_gradient_refuses_bad_arguments():
    with pytest.raises(TypeError, match=r"numerical_gradient expected a callable f\. Received: int"):
        gradcheck.numerical_gradient(3, np.zeros(2))
    with pytest.raises(TypeError, match=r"numerical_gradient expected a float64 numpy array x\. Received: ndarray float32"):
        gradcheck.numerical_gradient(lambda: 0.0, np.zeros(2, dtype=np.float32))
    with pytest.raises(TypeError, match=r"numerical_gradient expected a float64 numpy array x\. Received: list"):
        gradcheck.numerical_gradient(lambda: 0.0, [0.0, 1.0])
    with pytest.raises(ValueError, match=r"eps expected a finite number > 0\. Received: eps=0\.0"):
        gradcheck.numerical_gradient(lambda: 0.0, np.zeros(2), eps=0.0)


def test_relative_error_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"relative_error expected arrays of one shape\. Received: \(2,\) and \(3,\)"):
        gradcheck.relative_error(np.zeros(2), np.zeros(3))
    with pytest.raises(TypeError, match=r"analytic expected an array of numbers\. Received: str"):
        gradcheck.relative_error("a", np.zeros(1))


def test_check_layer_refuses_float32():
    rng = np.random.default_rng(4)
    with pytest.raises(TypeError, match=r"check_layer expected float64 inputs and parameters .*\. "
                                        r"Received: x\.dtype=float64, parameter dtypes \{'kernel': 'float32', 'bias': 'float32'\}"):
        gradcheck.check_layer(layers.Dense(2, 2, rng=rng, dtype="float32"), np.zeros((1, 2)))
    with pytest.raises(TypeError, match=r"check_layer expected float64 inputs and parameters .*\. Received: x\.dtype=float32"):
        gradcheck.check_layer(layers.Dense(2, 2, rng=rng), np.zeros((1, 2), dtype=np.float32))
