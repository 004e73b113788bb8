"""Tests for nnlib.regularizers: hand values, float64 gradient checks, Keras parity of the
penalties (float32) and their gradients (tape), the proximal steps, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import regularizers
from nnlib.gradcheck import check_function
from nnlib.regularizers import L1, L1L2, L2, soft_threshold

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

GRAD_TOL = 1e-5  # see tests/test_dense.py
PAIRS = [
    (L1(0.3), keras.regularizers.L1(0.3)),
    (L2(0.2), keras.regularizers.L2(0.2)),
    (L1L2(0.05, 0.4), keras.regularizers.L1L2(0.05, 0.4)),
    (L1L2(l2=0.1), keras.regularizers.L1L2(l2=0.1)),
    (L1(), keras.regularizers.L1()),
    (L2(), keras.regularizers.L2()),
]
IDS = ["l1", "l2", "l1l2", "l1l2_only_l2", "l1_default", "l2_default"]


# --- small hand-computed cases -----------------------------------------------------

def test_defaults_follow_keras():
    assert L1().l1 == 0.01 and L2().l2 == 0.01
    assert (L1L2().l1, L1L2().l2) == (0.0, 0.0)
    assert L1().get_config() == {"l1": 0.01}
    assert L2(0.5).get_config() == {"l2": 0.5}
    assert L1L2(0.1, 0.2).get_config() == {"l1": 0.1, "l2": 0.2}
    assert repr(L1L2(0.1, 0.2)) == "L1L2(l1=0.1, l2=0.2)"
    assert repr(L2()) == "L2(l2=0.01)"


def test_penalties_by_hand():
    weights = np.array([[1.0, -2.0], [0.0, 3.0]])
    assert L1(0.5)(weights) == 0.5 * 6
    assert L2(0.5)(weights) == 0.5 * 14  # no factor 1/2, as in Keras
    assert L1L2(0.5, 0.25)(weights) == 3.0 + 3.5
    assert L1L2()(weights) == 0.0
    assert isinstance(L2()(weights), float)


def test_keras_docstring_example():
    """keras.regularizers.L2(2.)(ones((5, 5))) is 50."""
    assert L2(2.0)(np.ones((5, 5))) == 50.0


def test_gradients_by_hand():
    weights = np.array([1.0, -2.0, 0.0])
    np.testing.assert_array_equal(L1(0.5).gradient(weights), [0.5, -0.5, 0.0])  # sign(0) = 0
    np.testing.assert_array_equal(L2(0.5).gradient(weights), [1.0, -2.0, 0.0])  # 2 * l2 * w
    np.testing.assert_array_equal(L1L2(0.5, 0.5).gradient(weights), [1.5, -2.5, 0.0])


def test_float32_weights_stay_float32():
    weights = np.ones((2, 2), dtype=np.float32)
    for regularizer in (L1(), L2(), L1L2(0.1, 0.1)):
        assert regularizer.gradient(weights).dtype == np.float32
        assert regularizer.proximal(weights, 0.1).dtype == np.float32
    assert soft_threshold(weights, 0.5).dtype == np.float32


def test_soft_threshold_by_hand():
    weights = np.array([-3.0, -0.5, 0.0, 0.2, 2.0])
    np.testing.assert_array_equal(soft_threshold(weights, 1.0), [-2.0, 0.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(soft_threshold(weights, 0.0), weights)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(-3, 3), st.floats(0, 1), st.floats(0, 1), st.floats(0.01, 1),
)
def test_proximal_steps_minimise_the_proximal_objective(weight, l1, l2, learning_rate):
    """prox(w) = argmin_u (u - w)^2 / (2 eta) + penalty(u), found on a fine grid."""
    regularizer = L1L2(l1, l2)
    grid = np.linspace(-4, 4, 80001)  # spacing 1e-4
    objective = (grid - weight) ** 2 / (2 * learning_rate) + l1 * np.abs(grid) + l2 * grid**2
    best = grid[np.argmin(objective)]
    assert abs(regularizer.proximal(np.array([weight]), learning_rate)[0] - best) <= 1e-4


def test_named_proximal_steps():
    weights = np.array([-3.0, 0.05, 2.0])
    np.testing.assert_array_equal(L1(0.5).proximal(weights, 0.2), soft_threshold(weights, 0.1))
    np.testing.assert_allclose(L2(0.5).proximal(weights, 0.2), weights / 1.2, rtol=1e-15)


def test_get():
    assert regularizers.get(None) is None
    instance = L2(0.3)
    assert regularizers.get(instance) is instance
    assert regularizers.get("l1") == L1(0.01)
    assert regularizers.get("L2") == L2(0.01)
    assert regularizers.get("l1l2") == L1L2(0.0, 0.0)
    assert regularizers.get(L1) == L1()
    assert regularizers.names() == ["l1", "l1l2", "l2"]
    assert L1(0.1) != L1L2(0.1, 0.0)  # same penalty, different class


@pytest.mark.parametrize("name", ["l1", "l2", "l1l2", "L1", "L1L2"])
def test_get_returns_what_keras_get_returns(name):
    ours, theirs = regularizers.get(name), keras.regularizers.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.get_config() == pytest.approx(theirs.get_config(), rel=1e-7)  # Keras's L1 keeps l1 in float32


# --- float64 gradient checks -------------------------------------------------------

@pytest.mark.parametrize("regularizer", [L1(0.3), L2(0.2), L1L2(0.05, 0.4)], ids=["l1", "l2", "l1l2"])
def test_gradients_match_central_differences(regularizer):
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((4, 3))
    weights = np.where(np.abs(weights) < 1e-3, 0.5, weights)  # keep off the kink of |w|
    assert check_function(regularizer, regularizer.gradient, weights) < GRAD_TOL


def test_gradient_check_catches_a_missing_factor_two():
    class HalfL2(L2):
        def gradient(self, weights):
            return self.l2 * weights

    weights = np.random.default_rng(1).standard_normal((3, 3))
    assert check_function(HalfL2(0.1), HalfL2(0.1).gradient, weights) > 0.3


# --- parity with Keras in float32 --------------------------------------------------

@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=IDS)
def test_penalty_and_gradient_match_keras(ours, theirs):
    rng = np.random.default_rng(2)
    weights = rng.standard_normal((6, 5)).astype(np.float32)
    weights[0, 0] = 0.0  # the subgradient at 0: TensorFlow's sign(0) = 0
    variable = tf.Variable(weights)
    with tf.GradientTape() as tape:
        penalty = theirs(variable)
    gradient = tape.gradient(penalty, variable)
    np.testing.assert_allclose(ours(weights), float(penalty), rtol=1e-6)
    np.testing.assert_allclose(ours.gradient(weights), gradient.numpy(), rtol=1e-6, atol=1e-7)


# --- bad input ---------------------------------------------------------------------

def test_factors_are_validated():
    with pytest.raises(ValueError, match=r"l1 expected a finite number >= 0\. Received: l1=-0\.1"):
        L1(-0.1)
    with pytest.raises(ValueError, match=r"l2 expected a finite number >= 0\. Received: l2=inf"):
        L2(float("inf"))
    with pytest.raises(TypeError, match=r"l2 expected a non-negative real number\. Received: '0\.1'"):
        L1L2(l2="0.1")
    with pytest.raises(TypeError, match=r"l1 expected a non-negative real number\. Received: True"):
        L1(True)


def test_get_refuses_unknown_identifiers():
    with pytest.raises(ValueError, match=r"regularizer expected None, an nnlib Regularizer or one of \['l1', 'l1l2', 'l2'\]\. Received: regularizer='l1_l2'"):
        regularizers.get("l1_l2")  # refused by keras.regularizers.get too
    with pytest.raises(TypeError, match=r"regularizer expected None, an nnlib Regularizer or one of .*Received: <function"):
        regularizers.get(lambda w: 0.0)
    with pytest.raises(TypeError, match=r"Received: 0\.01"):
        regularizers.get(0.01)


def test_weights_and_thresholds_are_validated():
    with pytest.raises(TypeError, match=r"weights expected an array of numbers\. Received: str"):
        L2()("w")
    with pytest.raises(TypeError, match=r"weights expected an array of numbers\. Received: NoneType"):
        L1().gradient(None)
    with pytest.raises(ValueError, match=r"threshold expected a finite number >= 0\. Received: threshold=-1\.0"):
        soft_threshold(np.ones(2), -1.0)
    with pytest.raises(ValueError, match=r"learning_rate expected a finite number > 0\. Received: learning_rate=0\.0"):
        L1().proximal(np.ones(2), 0.0)
