"""Tests for nnlib.optimizers: updates by hand and in closed form, Keras parity on the same
gradient sequence, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import optimizers

import keras  # noqa: E402

SETTINGS = {
    "plain": dict(learning_rate=0.1),
    "momentum": dict(learning_rate=0.05, momentum=0.9),
    "nesterov": dict(learning_rate=0.05, momentum=0.8, nesterov=True),
}


# --- small hand-computed cases -----------------------------------------------------

def test_plain_step_by_hand():
    weight = np.array([1.0, -1.0])
    optimizer = optimizers.SGD(learning_rate=0.1)
    optimizer.step([weight], [np.array([2.0, -4.0])])
    np.testing.assert_allclose(weight, [0.8, -0.6], rtol=1e-15)
    assert optimizer.iterations == 1


def test_momentum_steps_by_hand():
    """v1 = -0.1*1 = -0.1, w1 = 0.9; v2 = 0.5*(-0.1) - 0.1*2 = -0.25, w2 = 0.65."""
    weight = np.array([1.0])
    optimizer = optimizers.SGD(learning_rate=0.1, momentum=0.5)
    optimizer.step([weight], [np.array([1.0])])
    np.testing.assert_allclose(weight, [0.9], rtol=1e-15)
    optimizer.step([weight], [np.array([2.0])])
    np.testing.assert_allclose(weight, [0.65], rtol=1e-15)


def test_nesterov_steps_by_hand():
    """w1 = 1 + 0.5*(-0.1) - 0.1 = 0.85; v2 = -0.25, w2 = 0.85 + 0.5*(-0.25) - 0.2 = 0.525."""
    weight = np.array([1.0])
    optimizer = optimizers.SGD(learning_rate=0.1, momentum=0.5, nesterov=True)
    optimizer.step([weight], [np.array([1.0])])
    np.testing.assert_allclose(weight, [0.85], rtol=1e-15)
    optimizer.step([weight], [np.array([2.0])])
    np.testing.assert_allclose(weight, [0.525], rtol=1e-15)


def test_updates_in_place_and_keeps_state_per_parameter():
    kernel, bias = np.ones((2, 2)), np.zeros(2)
    kernel_id = id(kernel)
    optimizer = optimizers.SGD(learning_rate=1.0, momentum=0.5)
    for _ in range(2):
        optimizer.step([kernel, bias], [np.ones((2, 2)), np.zeros(2)])
    assert id(kernel) == kernel_id
    np.testing.assert_allclose(kernel, 1 - 1 - 1.5)  # v1 = -1, v2 = -1.5
    np.testing.assert_array_equal(bias, np.zeros(2))  # its velocity stayed 0
    assert optimizer.iterations == 2


def test_float32_parameters_stay_float32():
    weight = np.ones(3, dtype=np.float32)
    optimizers.SGD(0.1, momentum=0.9).step([weight], [np.ones(3)])
    assert weight.dtype == np.float32


def test_get_and_repr():
    default = optimizers.get("SGD")
    assert isinstance(default, optimizers.SGD)
    assert (default.learning_rate, default.momentum, default.nesterov) == (0.01, 0.0, False)  # Keras's defaults
    sgd = optimizers.SGD(0.5, momentum=0.25, nesterov=True)
    assert optimizers.get(sgd) is sgd
    assert repr(sgd) == "SGD(learning_rate=0.5, momentum=0.25, nesterov=True)"


@settings(max_examples=50, deadline=None)
@given(st.floats(1e-4, 1.0), st.floats(0.0, 0.99), st.integers(1, 30), st.booleans())
def test_constant_gradient_matches_the_closed_form(learning_rate, momentum, steps, nesterov):
    """With a constant gradient g, v_k = -lr g (1 - m^k) / (1 - m), a geometric series."""
    gradient = np.array([1.5, -0.5])
    weight = np.zeros(2)
    optimizer = optimizers.SGD(learning_rate, momentum=momentum, nesterov=nesterov)
    for _ in range(steps):
        optimizer.step([weight], [gradient])
    k = np.arange(1, steps + 1)
    velocities = -learning_rate * (1 - momentum**k) / (1 - momentum)
    displacement = (momentum * velocities - learning_rate).sum() if nesterov else velocities.sum()
    np.testing.assert_allclose(weight, displacement * gradient, rtol=1e-10, atol=1e-14)


# --- parity with keras.optimizers.SGD in float32 ----------------------------------

@pytest.mark.parametrize("setting", SETTINGS)
def test_steps_match_keras_sgd_on_the_same_gradients(setting):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,)]
    initial = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    ours = [w.copy() for w in initial]
    theirs = [keras.Variable(w) for w in initial]
    optimizer = optimizers.SGD(**SETTINGS[setting])
    keras_optimizer = keras.optimizers.SGD(**SETTINGS[setting])
    for _ in range(6):
        grads = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
        optimizer.step(ours, grads)
        keras_optimizer.apply_gradients(zip(grads, theirs))
        for mine, variable in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(mine, variable.numpy(), rtol=1e-6, atol=1e-7)
    assert optimizer.iterations == int(keras_optimizer.iterations.numpy()) == 6


# --- bad input ---------------------------------------------------------------------

def test_hyperparameters_are_validated():
    with pytest.raises(ValueError, match=r"learning_rate expected a finite number > 0\. Received: learning_rate=0\.0"):
        optimizers.SGD(0)
    with pytest.raises(ValueError, match=r"learning_rate expected a finite number > 0\. Received: learning_rate=nan"):
        optimizers.SGD(float("nan"))
    with pytest.raises(TypeError, match=r"learning_rate expected a real number\. Received: '0\.1'"):
        optimizers.SGD("0.1")
    with pytest.raises(ValueError, match=r"momentum expected a number in \[0, 1\)\. Received: momentum=1\.0"):
        optimizers.SGD(0.1, momentum=1.0)
    with pytest.raises(ValueError, match=r"momentum expected a finite number >= 0\. Received: momentum=-0\.1"):
        optimizers.SGD(0.1, momentum=-0.1)


def test_step_refuses_mismatched_arguments():
    optimizer = optimizers.SGD(0.1)
    with pytest.raises(ValueError, match=r"step expected one gradient per parameter\. Received: 2 parameters, 1 gradients"):
        optimizer.step([np.zeros(2), np.zeros(3)], [np.zeros(2)])
    with pytest.raises(ValueError, match=r"step expected gradient 0 of shape \(2,\)\. Received: shape=\(3,\)"):
        optimizer.step([np.zeros(2)], [np.zeros(3)])
    with pytest.raises(TypeError, match=r"step expected numpy arrays as parameters \(updated in place\)\. Received: list"):
        optimizer.step([[0.0, 0.0]], [np.zeros(2)])
    assert optimizer.iterations == 0


def test_get_refuses_unknown_optimizers():
    with pytest.raises(ValueError, match=r"optimizer expected an nnlib Optimizer or 'sgd'\. Received: 'adam'"):
        optimizers.get("adam")
    with pytest.raises(TypeError, match=r"optimizer expected an nnlib Optimizer or 'sgd'\. Received: None"):
        optimizers.get(None)
    with pytest.raises(TypeError, match=r"optimizer expected an nnlib Optimizer or 'sgd'\. Received: 123"):
        optimizers.get(123)
