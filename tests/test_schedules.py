"""Tests for nnlib.schedules: hand values at the boundaries, exact parity with
keras.optimizers.schedules at many steps (float64 and float32), bad input."""
import math

import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib.schedules import CosineDecay, ExponentialDecay, PiecewiseConstantDecay

import keras  # noqa: E402

keras_schedules = keras.optimizers.schedules
STEPS = list(range(0, 260)) + [1000, 10**6]


def f64(value):
    """Keras rounds Python-float hyperparameters through float32 before casting them to
    the schedule's dtype; np.float64 arguments keep float64 throughout."""
    return None if value is None else np.float64(value)


# --- small hand-computed cases -----------------------------------------------------

def test_exponential_decay_by_hand():
    schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert schedule(0) == 0.1
    assert schedule(10) == 0.05
    assert schedule(5) == pytest.approx(0.1 * 0.5**0.5, rel=1e-15)
    staircase = ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert [staircase(step) for step in (0, 9, 10, 19, 20)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert isinstance(schedule(3), float)


def test_piecewise_constant_boundaries_are_closed_on_the_right():
    schedule = PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001])
    assert [schedule(step) for step in (0, 10, 11, 20, 21, 10**9)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    assert schedule(10.5) == 0.01


def test_cosine_decay_by_hand():
    schedule = CosineDecay(1.0, decay_steps=100, alpha=0.1)
    assert schedule(0) == 1.0
    assert schedule(50) == pytest.approx(0.55, rel=1e-15)  # half-way: (1 - alpha) / 2 + alpha
    assert schedule(100) == pytest.approx(0.1, rel=1e-15)
    assert schedule(1000) == schedule(100)  # clamped at decay_steps


def test_cosine_decay_warmup_by_hand():
    schedule = CosineDecay(0.0, decay_steps=100, warmup_target=1.0, warmup_steps=10)
    assert schedule(0) == 0.0
    assert schedule(5) == 0.5
    assert schedule(10) == 1.0  # the peak, at step warmup_steps exactly
    assert schedule(60) == pytest.approx(0.5, rel=1e-15)
    assert schedule(110) == pytest.approx(0.0, abs=1e-16)
    assert schedule(500) == schedule(110)
    # warmup_target without warm-up steps: the decay starts from warmup_target
    assert CosineDecay(0.3, 100, warmup_target=1.0)(0) == 1.0


def test_step_accepts_numpy_scalars():
    schedule = ExponentialDecay(0.1, 10, 0.5)
    assert schedule(np.int64(10)) == schedule(np.array(10)) == schedule(10.0) == 0.05


def test_repr_and_config():
    assert repr(ExponentialDecay(0.1, 10, 0.5)) == "ExponentialDecay(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=False)"
    assert PiecewiseConstantDecay([5], [0.1, 0.01]).get_config() == {"boundaries": [5.0], "values": [0.1, 0.01]}
    assert set(CosineDecay(0.1, 10).get_config()) == {"initial_learning_rate", "decay_steps", "alpha", "warmup_target", "warmup_steps"}


# --- parity with Keras -------------------------------------------------------------

EXPONENTIAL = [(0.1, 7, 0.96, False), (0.1, 7, 0.96, True), (0.5, 100, 0.3, False), (2.0, 1, 0.99, True)]
PIECEWISE = [([10], [0.1, 0.01]), ([10, 20, 100], [1.0, 0.5, 0.25, 0.01]), ([0, 3], [0.3, 0.2, 0.1])]
COSINE = [
    (0.1, 100, 0.0, None, 0),
    (0.1, 37, 0.2, None, 0),
    (0.0, 100, 0.1, 0.1, 10),
    (0.01, 50, 0.0, 0.3, 25),
    (0.05, 80, 0.05, 0.2, 0),
]


def _pair(kind, arguments, dtype):
    convert = f64 if dtype == "float64" else (lambda value: value)
    if kind == "exponential":
        rate, steps, decay, staircase = arguments
        return ExponentialDecay(rate, steps, decay, staircase), keras_schedules.ExponentialDecay(convert(rate), steps, convert(decay), staircase)
    if kind == "piecewise":
        boundaries, values = arguments
        return PiecewiseConstantDecay(boundaries, values), keras_schedules.PiecewiseConstantDecay(boundaries, [convert(v) for v in values])
    rate, steps, alpha, target, warmup = arguments
    ours = CosineDecay(rate, steps, alpha=alpha, warmup_target=target, warmup_steps=warmup)
    theirs = keras_schedules.CosineDecay(convert(rate), steps, alpha=alpha, warmup_target=convert(target), warmup_steps=warmup)
    return ours, theirs


CASES = (
    [("exponential", arguments) for arguments in EXPONENTIAL]
    + [("piecewise", arguments) for arguments in PIECEWISE]
    + [("cosine", arguments) for arguments in COSINE]
)


@pytest.mark.parametrize(("kind", "arguments"), CASES, ids=[f"{kind}-{index}" for index, (kind, _) in enumerate(CASES)])
def test_float64_keras_schedule_gives_the_same_rates(kind, arguments):
    """Keras in float64 (np.float64 arguments): equal up to the last bit or two."""
    ours, theirs = _pair(kind, arguments, "float64")
    expected = np.array([float(theirs(step)) for step in STEPS])
    assert np.asarray(theirs(3)).dtype == np.float64
    np.testing.assert_allclose([ours(step) for step in STEPS], expected, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize(("kind", "arguments"), CASES, ids=[f"{kind}-{index}" for index, (kind, _) in enumerate(CASES)])
def test_default_keras_schedule_agrees_to_float32_rounding(kind, arguments):
    """Keras's default (Python floats) computes in float32: relative error of a few float32
    ulps, plus an absolute one of a few ulps of the peak rate where 1 + cos(...) cancels
    (cosine's tail) or float32 underflows (exponential at 10**6 steps)."""
    ours, theirs = _pair(kind, arguments, "float32")
    expected = np.array([float(theirs(step)) for step in STEPS])
    np.testing.assert_allclose([ours(step) for step in STEPS], expected, rtol=2e-6, atol=1e-6 * expected.max())


# --- bad input ---------------------------------------------------------------------

def test_constructor_arguments_are_validated():
    with pytest.raises(ValueError, match=r"decay_steps expected an integer > 0\. Received: decay_steps=0"):
        ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(TypeError, match=r"decay_steps expected a positive integer\. Received: 10\.0"):
        ExponentialDecay(0.1, 10.0, 0.5)
    with pytest.raises(ValueError, match=r"initial_learning_rate expected a finite number > 0\. Received: initial_learning_rate=-0\.1"):
        ExponentialDecay(-0.1, 10, 0.5)
    with pytest.raises(TypeError, match=r"staircase expected True or False\. Received: 1"):
        ExponentialDecay(0.1, 10, 0.5, staircase=1)
    with pytest.raises(ValueError, match=r"values expected one more element than boundaries\. Received: 2 boundaries and 2 values"):
        PiecewiseConstantDecay([1, 2], [0.1, 0.01])
    with pytest.raises(ValueError, match=r"boundaries expected strictly increasing numbers\. Received: boundaries=\[5\.0, 5\.0\]"):
        PiecewiseConstantDecay([5, 5], [0.3, 0.2, 0.1])
    with pytest.raises(ValueError, match=r"boundaries expected at least one boundary"):
        PiecewiseConstantDecay([], [0.1])
    with pytest.raises(TypeError, match=r"boundaries expected a list of numbers\. Received: 10"):
        PiecewiseConstantDecay(10, [0.1, 0.01])
    with pytest.raises(TypeError, match=r"boundaries\[0\] expected a finite real number\. Received: 'a'"):
        PiecewiseConstantDecay(["a"], [0.1, 0.01])
    with pytest.raises(ValueError, match=r"warmup_steps expected an integer >= 0\. Received: warmup_steps=-1"):
        CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=-1)
    with pytest.raises(ValueError, match=r"initial_learning_rate expected a number > 0 when there is no warm-up"):
        CosineDecay(0.0, 10)
    with pytest.raises(ValueError, match=r"alpha expected a finite number >= 0\. Received: alpha=-0\.5"):
        CosineDecay(0.1, 10, alpha=-0.5)


def test_steps_are_validated():
    schedule = CosineDecay(0.1, 10)
    with pytest.raises(ValueError, match=r"step expected a finite number >= 0\. Received: step=-1\.0"):
        schedule(-1)
    with pytest.raises(ValueError, match=r"step expected a finite number >= 0\. Received: step=nan"):
        schedule(math.nan)
    with pytest.raises(TypeError, match=r"step expected a non-negative number \(the optimizer's step count\)\. Received: True"):
        schedule(True)
    with pytest.raises(TypeError, match=r"Received: '3'"):
        schedule("3")


def test_a_float64_initial_rate_alone_leaves_keras_rounding_the_other_arguments_through_float32():
    """The module note: np.float64(initial_learning_rate) with a Python-float decay_rate is not
    float64 agreement; Keras uses float64(float32(0.96)) for the decay rate."""
    ours = ExponentialDecay(0.1, 7, 0.96)
    theirs = keras_schedules.ExponentialDecay(np.float64(0.1), 7, 0.96)
    assert np.asarray(theirs(5)).dtype == np.float64
    relative = abs(float(theirs(5)) - ours(5)) / ours(5)
    assert 1e-8 < relative < 3e-8  # 1.6e-8: (5/7) * (float32(0.96) - 0.96) / 0.96
    assert float(theirs(5)) == pytest.approx(0.1 * float(np.float32(0.96)) ** (5 / 7), rel=1e-15)
    every_argument = keras_schedules.ExponentialDecay(np.float64(0.1), 7, np.float64(0.96))
    assert float(every_argument(5)) == pytest.approx(ours(5), rel=1e-15)
