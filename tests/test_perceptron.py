"""Tests for nnlib.perceptron: the rule traced by hand on AND, scikit-learn parity, Novikoff's
bound (by hand and as a property), bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Perceptron as SklearnPerceptron

from nnlib import datasets
from nnlib.perceptron import NovikoffBound, Perceptron, novikoff_bound


def sklearn_perceptron(X, y, learning_rate, epochs):
    return SklearnPerceptron(shuffle=False, tol=None, eta0=learning_rate, penalty=None, max_iter=epochs).fit(X, y)


# --- small hand-computed cases -----------------------------------------------------

def test_and_gate_traced_by_hand():
    """Rows (0,0), (0,1), (1,0), (1,1) in order, lr = 1, from zeros; traced on paper:
    epoch 1: mistakes on (0,0) and (1,1) -> w = (1, 1), b = 0; ... epoch 9 makes none."""
    X, y = datasets.logic_gate("and")
    perceptron = Perceptron().fit(X, y)
    assert perceptron.mistakes_per_epoch == [2, 3, 3, 2, 2, 3, 2, 1, 0]
    assert perceptron.total_mistakes == 18 and perceptron.converged
    np.testing.assert_array_equal(perceptron.weights, [3.0, 2.0])
    assert perceptron.bias == -4.0
    assert len(perceptron.history) == 19  # the zeros, then one entry per update
    np.testing.assert_array_equal(perceptron.history[2][0], [1.0, 1.0])
    np.testing.assert_array_equal(perceptron.decision_function(X), [-4.0, -2.0, -1.0, 1.0])
    np.testing.assert_array_equal(perceptron.predict(X), [0, 0, 0, 1])


def test_labels_come_back_in_the_encoding_given():
    X, y = datasets.logic_gate("or")
    signs = np.where(y == 1, 1, -1)
    perceptron = Perceptron().fit(X, signs)
    np.testing.assert_array_equal(perceptron.predict(X), signs)
    np.testing.assert_array_equal(Perceptron().fit(X, y.astype(bool)).predict(X), y)


def test_zero_decision_value_predicts_the_positive_class():
    perceptron = Perceptron().fit(np.array([[1.0], [-1.0]]), np.array([1, 0]))
    assert perceptron.predict(np.array([[-perceptron.bias / perceptron.weights[0]]]))[0] == 1


def test_xor_never_converges():
    X, y = datasets.logic_gate("xor")
    perceptron = Perceptron(max_epochs=50).fit(X, y)
    assert not perceptron.converged
    assert len(perceptron.mistakes_per_epoch) == 50 and min(perceptron.mistakes_per_epoch) > 0
    assert np.mean(perceptron.predict(X) == y) < 1


def test_novikoff_bound_by_hand():
    """x = (2, 0) and (-2, 0) augmented with a 1: R = sqrt(5). Hyperplane x1 = 0: gamma = 2, bound 5/4.
    Hyperplane x1 + 1 = 0: u = (1, 0, 1)/sqrt(2), gamma = min(3, 1)/sqrt(2), bound = 5 / (1/2) = 10."""
    X, y = np.array([[2.0, 0.0], [-2.0, 0.0]]), np.array([1, 0])
    result = novikoff_bound(X, y, [1.0, 0.0], 0.0)
    assert isinstance(result, NovikoffBound)
    assert result.radius == pytest.approx(np.sqrt(5), rel=1e-15)
    assert result.margin == pytest.approx(2.0, rel=1e-15)
    assert result.bound == pytest.approx(1.25, rel=1e-15)
    assert novikoff_bound(X, y, [1.0, 0.0], 1.0).bound == pytest.approx(10.0, rel=1e-12)
    assert novikoff_bound(X, y, [3.0, 0.0], 3.0) == pytest.approx(novikoff_bound(X, y, [1.0, 0.0], 1.0))  # scale-free
    assert Perceptron().fit(X, y).total_mistakes <= 1.25


def test_shuffle_is_reproducible_with_a_generator():
    X, y, _, _ = datasets.linearly_separable(40, 0.05, rng=np.random.default_rng(0))
    first = Perceptron(shuffle=True, rng=np.random.default_rng(1)).fit(X, y)
    second = Perceptron(shuffle=True, rng=np.random.default_rng(1)).fit(X, y)
    assert first.mistakes_per_epoch == second.mistakes_per_epoch
    np.testing.assert_array_equal(first.weights, second.weights)


# --- parity with scikit-learn ------------------------------------------------------

@pytest.mark.parametrize("learning_rate", [1.0, 0.1])
@pytest.mark.parametrize("n_features", [2, 5])
def test_weights_match_sklearn_on_separable_data(n_features, learning_rate):
    X, y, _, _ = datasets.linearly_separable(60, 0.05, n_features=n_features, rng=np.random.default_rng(n_features))
    epochs = 30
    ours = Perceptron(learning_rate=learning_rate, max_epochs=epochs).fit(X, y)
    theirs = sklearn_perceptron(X, y, learning_rate, epochs)
    assert ours.converged
    np.testing.assert_allclose(ours.weights, theirs.coef_[0], rtol=1e-10, atol=1e-12)
    assert ours.bias == pytest.approx(theirs.intercept_[0], rel=1e-10, abs=1e-12)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_weights_match_sklearn_on_non_separable_data():
    """On XOR both cycle; after the same number of epochs they sit at the same point of the cycle."""
    X, y = datasets.logic_gate("xor")
    for epochs in [1, 2, 7]:
        ours = Perceptron(max_epochs=epochs).fit(X, y)
        theirs = sklearn_perceptron(X.astype(np.float64), y, 1.0, epochs)
        np.testing.assert_array_equal(ours.weights, theirs.coef_[0])
        assert ours.bias == theirs.intercept_[0]


# --- properties (Hypothesis) -------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.02, 0.2), st.integers(2, 4), st.booleans(), st.floats(0.01, 100))
def test_mistakes_never_exceed_novikoff_bound(seed, margin, n_features, shuffle, learning_rate):
    X, y, weights, bias = datasets.linearly_separable(30, margin, n_features=n_features, rng=np.random.default_rng(seed))
    bound = novikoff_bound(X, y, weights, bias).bound
    # every epoch before convergence makes at least one mistake, so bound + 1 epochs must be enough
    perceptron = Perceptron(learning_rate, max_epochs=int(bound) + 2, shuffle=shuffle, rng=np.random.default_rng(seed)).fit(X, y)
    assert perceptron.converged
    assert perceptron.total_mistakes <= bound
    np.testing.assert_array_equal(perceptron.predict(X), y)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(-6, 6))
def test_learning_rate_only_rescales_the_weights(seed, exponent):
    """From zero weights, lr = 2^k gives the same mistakes and 2^k times the weights (exactly)."""
    X, y, _, _ = datasets.linearly_separable(25, 0.05, rng=np.random.default_rng(seed))
    unit = Perceptron(1.0, max_epochs=20).fit(X, y)
    scaled = Perceptron(2.0**exponent, max_epochs=20).fit(X, y)
    assert scaled.mistakes_per_epoch == unit.mistakes_per_epoch
    np.testing.assert_array_equal(scaled.weights, 2.0**exponent * unit.weights)
    assert scaled.bias == 2.0**exponent * unit.bias


# --- bad input ---------------------------------------------------------------------

def test_constructor_arguments_are_validated():
    with pytest.raises(ValueError, match=r"learning_rate expected a finite number > 0\. Received: learning_rate=0\.0"):
        Perceptron(learning_rate=0)
    with pytest.raises(ValueError, match=r"max_epochs expected a positive integer\. Received: max_epochs=0"):
        Perceptron(max_epochs=0)
    with pytest.raises(TypeError, match=r"rng expected a numpy\.random\.Generator .*Received: int"):
        Perceptron(shuffle=True, rng=3).fit(*datasets.logic_gate("and"))


def test_fit_refuses_bad_data():
    X, y = datasets.logic_gate("and")
    with pytest.raises(ValueError, match=r"X expected a 2-D array\. Received: X\.shape=\(4,\)"):
        Perceptron().fit(X[:, 0], y)
    with pytest.raises(ValueError, match=r"X expected finite values\. Received: X with 4 NaN or inf values"):
        Perceptron().fit(np.where(X == 1, np.nan, X), y)
    with pytest.raises(ValueError, match=r"y expected labels in \{0, 1\} or \{-1, 1\}\. Received: \[0, 2\]"):
        Perceptron().fit(X, 2 * y.astype(int))
    with pytest.raises(ValueError, match=r"y expected a 1-D array of labels\. Received: y\.shape=\(4, 1\)"):
        Perceptron().fit(X, y[:, None])
    with pytest.raises(ValueError, match=r"fit expected one label per row of X\. Received: X\.shape=\(4, 2\), 3 labels"):
        Perceptron().fit(X, y[:3])


def test_use_before_fit_and_wrong_widths_are_refused():
    with pytest.raises(RuntimeError, match="call fit before using the perceptron"):
        Perceptron().predict(np.zeros((1, 2)))
    with pytest.raises(RuntimeError, match="call fit before using the perceptron"):
        Perceptron().total_mistakes
    fitted = Perceptron().fit(*datasets.logic_gate("and"))
    with pytest.raises(ValueError, match=r"expected X with 2 columns\. Received: X\.shape=\(1, 3\)"):
        fitted.predict(np.zeros((1, 3)))


def test_novikoff_bound_refuses_non_separating_and_zero_hyperplanes():
    X, y = np.array([[2.0, 0.0], [-2.0, 0.0]]), np.array([1, 0])
    with pytest.raises(ValueError, match=r"novikoff_bound expected a hyperplane that separates the data\. Received: margin=-2 <= 0"):
        novikoff_bound(X, y, [-1.0, 0.0], 0.0)
    with pytest.raises(ValueError, match=r"novikoff_bound expected a non-zero, finite \(weights, bias\)\. Received: weights=\[0\. 0\.\], bias=0"):
        novikoff_bound(X, y, [0.0, 0.0], 0)
    with pytest.raises(ValueError, match=r"novikoff_bound expected X \(n, d\), y \(n,\), weights \(d,\)\. "
                                         r"Received: X\.shape=\(2, 2\), 2 labels, weights\.shape=\(3,\)"):
        novikoff_bound(X, y, [1.0, 0.0, 0.0], 0.0)
