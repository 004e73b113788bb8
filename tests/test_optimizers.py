"""Tests for nnlib.optimizers: updates by hand and in closed form, Keras parity on the same
gradient sequence (with every option), bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import optimizers

import keras  # noqa: E402

SHAPES = [(3, 4), (4,), (2, 3, 2), ()]
STEPS = 20
# (optimizer class name, arguments given to both nnlib and Keras). The gradients are
# N(0, 3^2), so the clip thresholds below are active on most steps.
SETTINGS = {
    "sgd": ("SGD", dict(learning_rate=0.1)),
    "sgd-momentum": ("SGD", dict(learning_rate=0.05, momentum=0.9)),
    "sgd-nesterov": ("SGD", dict(learning_rate=0.05, momentum=0.8, nesterov=True)),
    "sgd-weight-decay": ("SGD", dict(learning_rate=0.05, momentum=0.9, weight_decay=0.1)),
    "sgd-clipnorm": ("SGD", dict(learning_rate=0.1, clipnorm=1.0)),
    "adagrad": ("Adagrad", dict(learning_rate=0.1)),
    "adagrad-zero-start": ("Adagrad", dict(learning_rate=0.1, initial_accumulator_value=0.0, epsilon=1e-3)),
    "adagrad-clipvalue": ("Adagrad", dict(learning_rate=0.1, clipvalue=0.5)),
    "rmsprop": ("RMSprop", dict(learning_rate=0.01)),
    "rmsprop-momentum": ("RMSprop", dict(learning_rate=0.01, rho=0.8, momentum=0.9)),
    "rmsprop-centered": ("RMSprop", dict(learning_rate=0.01, centered=True)),
    "rmsprop-centered-momentum-global-clipnorm": (
        "RMSprop", dict(learning_rate=0.01, momentum=0.5, centered=True, global_clipnorm=2.0)),
    "adam": ("Adam", dict(learning_rate=0.01)),
    "adam-amsgrad": ("Adam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, amsgrad=True)),
    "adam-weight-decay": ("Adam", dict(learning_rate=0.01, weight_decay=0.05)),
    "adam-clipnorm": ("Adam", dict(learning_rate=0.01, epsilon=1e-3, clipnorm=1.0)),
    "adam-global-clipnorm": ("Adam", dict(learning_rate=0.01, global_clipnorm=2.0)),
    "adamw": ("AdamW", dict(learning_rate=0.01)),
    "adamw-amsgrad-clipvalue": ("AdamW", dict(learning_rate=0.01, weight_decay=0.1, amsgrad=True, clipvalue=0.5)),
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
    assert repr(optimizers.Adam(clipnorm=1)) == (
        "Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False, clipnorm=1.0)"
    )
    assert repr(optimizers.AdamW()).startswith("AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9")


def test_adagrad_step_by_hand():
    """a = 0.75 + 0.5^2 = 1, w = 1 - 0.1 * 0.5 / sqrt(1 + 0) = 0.95."""
    weight = np.array([1.0])
    optimizers.Adagrad(0.1, initial_accumulator_value=0.75, epsilon=0.0).step([weight], [np.array([0.5])])
    np.testing.assert_allclose(weight, [0.95], rtol=1e-15)


def test_rmsprop_steps_by_hand():
    """s = 0.25 * 2^2 = 1; plain: w = 1 - 0.1 * 2 / 1 = 0.8; centered: gbar = 0.25 * 2 = 0.5,
    w = 1 - 0.1 * 2 / sqrt(1 - 0.25)."""
    plain, centered = np.array([1.0]), np.array([1.0])
    optimizers.RMSprop(0.1, rho=0.75, epsilon=0.0).step([plain], [np.array([2.0])])
    optimizers.RMSprop(0.1, rho=0.75, epsilon=0.0, centered=True).step([centered], [np.array([2.0])])
    np.testing.assert_allclose(plain, [0.8], rtol=1e-15)
    np.testing.assert_allclose(centered, [1 - 0.2 / np.sqrt(0.75)], rtol=1e-15)


def test_first_adam_step_by_hand():
    """Step 1: m = 0.1 g, v = 0.001 g^2, alpha = 0.1 sqrt(0.001) / 0.1, so the update is
    alpha m / (sqrt(v) + eps) = 0.1 g / (|g| + eps / sqrt(0.001)): about lr * sign(g)."""
    gradient = np.array([0.5, -0.1, 0.0])
    weight = np.array([1.0, -2.0, 3.0])
    optimizers.Adam(0.1).step([weight], [gradient])
    np.testing.assert_allclose(weight, [1.0, -2.0, 3.0] - 0.1 * gradient / (np.abs(gradient) + 1e-7 / np.sqrt(0.001)), rtol=1e-15)
    np.testing.assert_allclose(weight, [0.9, -1.9, 3.0], rtol=1e-5)


def test_two_adam_steps_by_hand():
    """lr 0.1, betas 0.5: m1 = 0.5, v1 = 0.5; m2 = 0.25 + 0.5*3 = 1.75, v2 = 0.25 + 0.5*9 = 4.75;
    alpha1 = 0.1 sqrt(0.5) / 0.5, alpha2 = 0.1 sqrt(0.75) / 0.75."""
    weight = np.array([0.0])
    optimizer = optimizers.Adam(0.1, beta_1=0.5, beta_2=0.5, epsilon=0.0)
    optimizer.step([weight], [np.array([1.0])])
    first = -0.1 * np.sqrt(0.5) / 0.5 * 0.5 / np.sqrt(0.5)
    np.testing.assert_allclose(weight, [first], rtol=1e-15)
    optimizer.step([weight], [np.array([3.0])])
    np.testing.assert_allclose(weight, [first - 0.1 * np.sqrt(0.75) / 0.75 * 1.75 / np.sqrt(4.75)], rtol=1e-15)


def test_weight_decay_comes_before_the_update_and_uses_the_old_weight():
    """w = 2 - 0.1 * 0.5 * 2 = 1.9, then w = 1.9 - 0.1 * 1 = 1.8 (the gradient is not changed)."""
    weight = np.array([2.0])
    optimizers.SGD(0.1, weight_decay=0.5).step([weight], [np.array([1.0])])
    np.testing.assert_allclose(weight, [1.8], rtol=1e-15)


def test_adamw_is_adam_with_weight_decay():
    rng = np.random.default_rng(1)
    adam_weight, adamw_weight = np.ones(5), np.ones(5)
    adam, adamw = optimizers.Adam(0.01, weight_decay=0.2), optimizers.AdamW(0.01, weight_decay=0.2)
    for _ in range(5):
        gradient = rng.standard_normal(5)
        adam.step([adam_weight], [gradient])
        adamw.step([adamw_weight], [gradient])
    np.testing.assert_array_equal(adam_weight, adamw_weight)


def test_clip_options_clip_before_the_update_and_leave_the_gradients_alone():
    gradient = np.array([3.0, -0.2])
    weight = np.zeros(2)
    optimizers.SGD(1.0, clipvalue=0.5).step([weight], [gradient])
    np.testing.assert_allclose(weight, [-0.5, 0.2], rtol=1e-15)
    weight = np.zeros(2)
    optimizers.SGD(1.0, clipnorm=1.0).step([weight], [np.array([3.0, 4.0])])
    np.testing.assert_allclose(weight, [-0.6, -0.8], rtol=1e-15)
    kernel, bias = np.zeros(1), np.zeros(1)
    optimizers.SGD(1.0, global_clipnorm=2.5).step([kernel, bias], [np.array([3.0]), np.array([4.0])])
    np.testing.assert_allclose([kernel[0], bias[0]], [-1.5, -2.0], rtol=1e-15)
    np.testing.assert_array_equal(gradient, [3.0, -0.2])


def test_current_learning_rate_is_used_for_decay_and_update():
    """The hook a learning-rate schedule will use: here the rate halves at every step."""

    class HalvingSGD(optimizers.SGD):
        def current_learning_rate(self):
            return self.learning_rate / 2**self.iterations

    weight = np.array([1.0])
    optimizer = HalvingSGD(0.2, weight_decay=1.0)
    optimizer.step([weight], [np.array([1.0])])  # 1 - 0.2 * 1 - 0.2 = 0.6
    optimizer.step([weight], [np.array([1.0])])  # 0.6 - 0.1 * 0.6 - 0.1 = 0.44
    np.testing.assert_allclose(weight, [0.44], rtol=1e-15)


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
def test_steps_match_keras_on_the_same_gradients(setting):
    name, arguments = SETTINGS[setting]
    rng = np.random.default_rng(0)
    initial = [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
    ours = [w.copy() for w in initial]
    theirs = [keras.Variable(w) for w in initial]
    optimizer = getattr(optimizers, name)(**arguments)
    keras_optimizer = getattr(keras.optimizers, name)(**arguments)
    for _ in range(STEPS):
        grads = [3 * rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
        optimizer.step(ours, grads)
        keras_optimizer.apply_gradients(zip(grads, theirs))
        for mine, variable in zip(ours, theirs, strict=True):
            assert mine.dtype == np.float32
            np.testing.assert_allclose(mine, variable.numpy(), rtol=1e-5, atol=1e-6)
    assert optimizer.iterations == int(keras_optimizer.iterations.numpy()) == STEPS


@pytest.mark.parametrize("name", ["sgd", "Adagrad", "RMSPROP", "adam", "AdamW"])
def test_get_by_name_has_keras_defaults(name):
    optimizer = optimizers.get(name)
    keras_config = keras.optimizers.get(name.lower()).get_config()
    assert type(optimizer).__name__.lower() == name.lower()
    names = optimizer._hyperparameters + optimizers._OPTIONS
    ours = {key: getattr(optimizer, key) for key in names}
    assert ours == pytest.approx({key: keras_config[key] for key in names})  # Keras stores lr in float32


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
    with pytest.raises(ValueError, match=r"learning_rate expected a finite number > 0\. Received: learning_rate=-0\.001"):
        optimizers.Adam(-0.001)
    with pytest.raises(TypeError, match=r"beta_1 expected a real number\. Received: '0\.9'"):
        optimizers.Adam(beta_1="0.9")
    with pytest.raises(ValueError, match=r"beta_2 expected a number in \[0, 1\)\. Received: beta_2=1\.0"):
        optimizers.AdamW(beta_2=1.0)
    with pytest.raises(ValueError, match=r"rho expected a number in \[0, 1\)\. Received: rho=1\.5"):
        optimizers.RMSprop(rho=1.5)
    with pytest.raises(ValueError, match=r"epsilon expected a finite number >= 0\. Received: epsilon=-1e-07"):
        optimizers.Adagrad(epsilon=-1e-7)
    with pytest.raises(ValueError, match=r"initial_accumulator_value expected a finite number >= 0\. Received: "):
        optimizers.Adagrad(initial_accumulator_value=-0.1)
    with pytest.raises(TypeError, match=r"amsgrad expected True or False\. Received: 1"):
        optimizers.Adam(amsgrad=1)
    with pytest.raises(TypeError, match=r"centered expected True or False\. Received: 'yes'"):
        optimizers.RMSprop(centered="yes")
    with pytest.raises(TypeError, match=r"weight_decay expected a real number \(AdamW always decays the weights\)\. Received: None"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match=r"weight_decay expected a finite number >= 0\. Received: weight_decay=-0\.1"):
        optimizers.SGD(weight_decay=-0.1)


def test_clip_options_are_validated():
    with pytest.raises(ValueError, match=(r"Optimizer expected at most one of clipnorm, clipvalue and global_clipnorm\. "
                                          r"Received: clipnorm=1\.0, clipvalue=0\.5, global_clipnorm=None")):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match=r"Optimizer expected at most one of clipnorm, clipvalue and global_clipnorm\."):
        optimizers.AdamW(clipvalue=0.5, global_clipnorm=1.0)
    with pytest.raises(ValueError, match=r"clipnorm expected a finite number > 0\. Received: clipnorm=0\.0"):
        optimizers.SGD(clipnorm=0.0)
    with pytest.raises(ValueError, match=r"global_clipnorm expected a finite number > 0\. Received: global_clipnorm=-1\.0"):
        optimizers.RMSprop(global_clipnorm=-1.0)
    with pytest.raises(TypeError, match=r"clipvalue expected a real number\. Received: \[1\.0\]"):
        optimizers.Adagrad(clipvalue=[1.0])
    with pytest.raises(TypeError, match=r"got an unexpected keyword argument 'clip_norm'"):
        optimizers.Adam(clip_norm=1.0)


def test_step_refuses_mismatched_arguments():
    optimizer = optimizers.SGD(0.1)
    with pytest.raises(ValueError, match=r"step expected one gradient per parameter\. Received: 2 parameters, 1 gradients"):
        optimizer.step([np.zeros(2), np.zeros(3)], [np.zeros(2)])
    with pytest.raises(ValueError, match=r"step expected gradient 0 of shape \(2,\)\. Received: shape=\(3,\)"):
        optimizer.step([np.zeros(2)], [np.zeros(3)])
    with pytest.raises(TypeError, match=r"step expected numpy arrays as parameters \(updated in place\)\. Received: list"):
        optimizer.step([[0.0, 0.0]], [np.zeros(2)])
    with pytest.raises(TypeError, match=r"step expected floating-point parameters\. Received: parameter 1 of dtype=int64"):
        optimizer.step([np.zeros(2), np.zeros(2, dtype=np.int64)], [np.zeros(2), np.zeros(2)])
    with pytest.raises(TypeError, match=r"grads\[0\] expected an array of numbers\. Received: dtype=<U1"):
        optimizer.step([np.zeros(2)], [np.array(["a", "b"])])
    assert optimizer.iterations == 0


def test_a_failed_step_changes_nothing():
    weight = np.ones(2)
    optimizer = optimizers.Adam(0.1, weight_decay=0.5)
    with pytest.raises(ValueError, match=r"step expected gradient 1 of shape \(3,\)\. Received: shape=\(2,\)"):
        optimizer.step([weight, np.ones(3)], [np.ones(2), np.ones(2)])
    np.testing.assert_array_equal(weight, np.ones(2))
    assert optimizer.iterations == 0 and not optimizer._states


def test_get_refuses_unknown_optimizers():
    expected = r"optimizer expected an nnlib Optimizer or one of \['adagrad', 'adam', 'adamw', 'rmsprop', 'sgd'\]\. "
    with pytest.raises(ValueError, match=expected + r"Received: 'nadam'"):
        optimizers.get("nadam")
    with pytest.raises(TypeError, match=expected + r"Received: None"):
        optimizers.get(None)
    with pytest.raises(TypeError, match=expected + r"Received: 123"):
        optimizers.get(123)
    with pytest.raises(TypeError, match=expected + r"Received: <class 'nnlib\.optimizers\.Adam'>"):
        optimizers.get(optimizers.Adam)


# --- float32 to the last bit, float64 as documented (issue 11, item 6) ---------------

def run_both(name, arguments, dtype, steps, seed=0):
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    ours, theirs = [w.copy() for w in initial], [keras.Variable(w) for w in initial]
    optimizer, keras_optimizer = getattr(optimizers, name)(**arguments), getattr(keras.optimizers, name)(**arguments)
    for _ in range(steps):
        grads = [3 * rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
        optimizer.step(ours, grads)
        keras_optimizer.apply_gradients(zip(grads, theirs))
    return initial, ours, [variable.numpy() for variable in theirs]


UNCLIPPED = [setting for setting, (_, arguments) in SETTINGS.items() if not {"clipnorm", "clipvalue", "global_clipnorm"} & set(arguments)]


@pytest.mark.parametrize("setting", UNCLIPPED + ["adam-defaults"])
def test_float32_steps_equal_keras_to_the_last_bit(setting):
    """Hyperparameters meet float32 arrays as float32(value), and Adam's step size is computed in
    float32 in Keras's order: 50 steps, identical bits. (Clipping norms are accumulated in
    float64 by nnlib, so clipped runs agree to float32 rounding only: the test above.)"""
    name, arguments = SETTINGS.get(setting, ("Adam", {}))
    _, ours, theirs = run_both(name, arguments, np.float32, steps=50)
    for mine, keras_value in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, keras_value)


def test_float64_adam_differs_from_keras_by_the_float32_rounding_of_its_hyperparameters():
    """The documented decision: nnlib uses 0.9, 0.999 and 0.001 as given in float64; Keras uses
    float32(0.001), float32(0.9)**t and float32(0.999)**t (and the exact 1 - beta in the moments)."""
    initial, ours, theirs = run_both("Adam", {}, np.float64, steps=1)
    for start, mine, keras_value in zip(initial, ours, theirs, strict=True):
        relative = np.abs((keras_value - start) - (mine - start)) / np.abs(mine - start)
        assert np.all(relative > 5e-6) and np.all(relative < 8e-6)  # 6.7e-6 for |g| >> epsilon
    # the same update rule with Keras's roundings reproduces Keras's float64 step
    f32 = lambda value: float(np.float32(value))  # noqa: E731
    rng = np.random.default_rng(0)  # run_both's draws: the initial weights, then the gradients
    start = [rng.standard_normal(shape) for shape in SHAPES]
    grads = [3 * rng.standard_normal(shape) for shape in SHAPES]
    for weight, gradient, keras_value in zip(start, grads, theirs, strict=True):
        m, v = (1 - 0.9) * gradient, (1 - 0.999) * gradient**2
        alpha = f32(0.001) * np.sqrt(1 - f32(0.999)) / (1 - f32(0.9))
        np.testing.assert_allclose(weight - m * alpha / (np.sqrt(v) + 1e-7), keras_value, rtol=1e-14)
    # and with np.float64 hyperparameters only the float32 learning-rate variable is left
    weight = np.ones(3)
    keras_weight = keras.Variable(np.ones(3))
    optimizers.Adam().step([weight], [np.full(3, 0.5)])
    keras.optimizers.Adam(beta_1=np.float64(0.9), beta_2=np.float64(0.999)).apply_gradients([(np.full(3, 0.5), keras_weight)])
    np.testing.assert_allclose((1 - keras_weight.numpy()) / (1 - weight), f32(0.001) / 0.001, rtol=1e-12)
