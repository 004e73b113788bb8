"""Tests for nnlib.activations: hand values, float64 gradient checks, Keras parity, bad input."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import activations
from nnlib.gradcheck import check_function

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

# Largest elementwise relative error allowed in float64 gradient checks (nnlib.gradcheck,
# h = 1e-6). Rounding in the differences leaves ~1e-10 absolute noise, which is ~1e-6
# relative on the smallest components; a wrong gradient scores above 1e-2.
GRAD_TOL = 1e-5

ELEMENTWISE = ["linear", "step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus"]
SMOOTH = ["linear", "sigmoid", "tanh"]
KERAS_NAMES = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "softplus", "softmax"]


def away_from_zero(rng, shape, gap=1e-3):
    """Standard normal values with |z| >= gap, so ReLU's and the step's kinks are never crossed."""
    z = rng.standard_normal(shape)
    return np.where(np.abs(z) < gap, np.sign(z + 1e-12) * gap * 2, z)


# --- small hand-computed cases -----------------------------------------------------

def test_hand_values():
    assert activations.sigmoid(0.0) == 0.5
    np.testing.assert_allclose(activations.sigmoid([np.log(3.0)]), [0.75], rtol=1e-15)
    assert activations.tanh(0.0) == 0.0
    np.testing.assert_array_equal(activations.relu([-2.0, 0.0, 3.0]), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(activations.step([-1e-12, 0.0, 1e-12]), [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(activations.linear([[-1.5, 2.0]]), [[-1.5, 2.0]])
    np.testing.assert_allclose(activations.softmax([0.0, np.log(3.0)]), [0.25, 0.75], rtol=1e-15)
    np.testing.assert_allclose(activations.softmax([[1.0, 1.0, 1.0, 1.0]]), [[0.25] * 4])


def test_softmax_axis_argument():
    z = np.array([[0.0, np.log(3.0)], [np.log(3.0), 0.0]])
    np.testing.assert_allclose(activations.softmax(z, axis=0), [[0.25, 0.75], [0.75, 0.25]], rtol=1e-15)


def test_derivative_hand_values():
    assert activations.get("sigmoid").derivative(np.array(0.0)) == 0.25
    assert activations.get("tanh").derivative(np.array(0.0)) == 1.0
    np.testing.assert_array_equal(activations.get("relu").derivative(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(activations.get("step").derivative(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(activations.get("linear").derivative(np.array([-1.0, 5.0])), [1.0, 1.0])


def test_linear_returns_a_copy():
    z = np.array([1.0, 2.0])
    out = activations.linear(z)
    out[0] = 99.0
    assert z[0] == 1.0


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_dtype_is_kept_and_ints_become_float64(name):
    act = activations.get(name)
    assert act(np.ones((2, 3), dtype=np.float32)).dtype == np.float32
    assert act(np.ones((2, 3), dtype=np.int64)).dtype == np.float64
    assert act.backward(np.ones((2, 3), np.float32), np.ones((2, 3), np.float32)).dtype == np.float32


def test_get_names_and_passthrough():
    assert activations.names() == sorted(["linear", "step", "sigmoid", "tanh", "relu", "softmax", "leaky_relu", "elu",
                                          "selu", "gelu", "silu", "swish", "softplus"])
    for name in activations.names():
        assert activations.get(name).name == ("silu" if name == "swish" else name)
        assert activations.get(name.upper()).name == activations.get(name).name
    relu = activations.get("relu")
    assert activations.get(relu) is relu
    assert activations.get(None).name == "linear"
    assert repr(relu) == "Activation('relu')"


# --- float64 gradient checks -------------------------------------------------------

@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_derivative_matches_central_differences(name):
    rng = np.random.default_rng(1)
    act = activations.get(name)
    z = away_from_zero(rng, (4, 5))
    upstream = rng.standard_normal(z.shape)
    error = check_function(lambda v: np.sum(act(v) * upstream), lambda v: act.backward(v, upstream), z)
    assert error < GRAD_TOL
    np.testing.assert_array_equal(act.backward(z, upstream), upstream * act.derivative(z))


def test_softmax_backward_matches_central_differences():
    rng = np.random.default_rng(2)
    act = activations.get("softmax")
    for shape in [(5,), (3, 4), (2, 3, 4)]:
        z = rng.standard_normal(shape)
        upstream = rng.standard_normal(shape)
        error = check_function(lambda v: np.sum(act(v) * upstream), lambda v: act.backward(v, upstream), z)
        assert error < GRAD_TOL, shape


def test_softmax_backward_equals_explicit_jacobian():
    rng = np.random.default_rng(3)
    z, upstream = rng.standard_normal(4), rng.standard_normal(4)
    s = activations.softmax(z)
    jacobian = np.diag(s) - np.outer(s, s)
    np.testing.assert_allclose(activations.get("softmax").backward(z, upstream), jacobian.T @ upstream, rtol=1e-12, atol=1e-15)


def test_a_wrong_derivative_is_caught_by_the_check():
    """The gradient check above has power: sigmoid with tanh's derivative fails it."""
    rng = np.random.default_rng(4)
    z, upstream = rng.standard_normal(6), rng.standard_normal(6)
    wrong = activations.get("tanh")
    error = check_function(lambda v: np.sum(activations.sigmoid(v) * upstream), lambda v: wrong.backward(v, upstream), z)
    assert error > 1e-2


# --- parity with Keras in float32 --------------------------------------------------

@pytest.mark.parametrize("name", KERAS_NAMES)
def test_forward_matches_keras_activations(name):
    rng = np.random.default_rng(5)
    z = (4.0 * rng.standard_normal((16, 7))).astype(np.float32)
    expected = keras.ops.convert_to_numpy(keras.activations.get(name)(z))
    result = activations.get(name)(z)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_backward_matches_tensorflow_gradient(name):
    rng = np.random.default_rng(6)
    z = away_from_zero(rng, (16, 7)).astype(np.float32) * 3
    upstream = rng.standard_normal(z.shape).astype(np.float32)
    z_tf = tf.Variable(z)
    with tf.GradientTape() as tape:
        scalar = tf.reduce_sum(keras.activations.get(name)(z_tf) * upstream)
    expected = tape.gradient(scalar, z_tf).numpy()
    np.testing.assert_allclose(activations.get(name).backward(z, upstream), expected, rtol=1e-5, atol=1e-6)


# --- properties (Hypothesis) -------------------------------------------------------

finite = st.floats(-1e300, 1e300, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6), elements=finite))
def test_sigmoid_is_finite_and_symmetric_for_any_magnitude(z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        s, s_neg = activations.sigmoid(z), activations.sigmoid(-z)
        derivative = activations.get("sigmoid").derivative(z)
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s + s_neg, 1.0, rtol=0, atol=1e-15)
    assert np.all((derivative >= 0) & (derivative <= 0.25))


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6), elements=st.floats(-700, 700)),
    st.floats(-700, 700),
)
def test_softmax_is_invariant_to_shifts(z, shift):
    np.testing.assert_allclose(activations.softmax(z + shift), activations.softmax(z), rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6), elements=finite))
def test_softmax_is_a_distribution_for_any_finite_input(z):
    with np.errstate(over="ignore"):  # z - max z may overflow to -inf, whose exp is a clean 0
        s = activations.softmax(z)
    assert np.all(np.isfinite(s)) and np.all(s >= 0)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-12)
    # the largest input gets the largest probability (ties may appear after rounding)
    largest = np.take_along_axis(s, np.argmax(z, axis=-1)[..., None], axis=-1)[..., 0]
    np.testing.assert_array_equal(largest, s.max(axis=-1))


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-50, 50)), st.integers(0, 2**32 - 1))
def test_softmax_vector_jacobian_product_sums_to_zero(z, seed):
    """Softmax's outputs always sum to 1, so no upstream gradient can change that sum."""
    upstream = np.random.default_rng(seed).standard_normal(z.shape)
    grad = activations.get("softmax").backward(z, upstream)
    assert abs(grad.sum()) <= 1e-12 * (1 + np.abs(upstream).sum())


# --- bad input ---------------------------------------------------------------------

@pytest.mark.parametrize("function", [activations.sigmoid, activations.tanh, activations.relu, activations.step, activations.linear, activations.softmax])
def test_non_numeric_input_is_refused(function):
    with pytest.raises(TypeError, match=r"z expected an array of numbers\. Received: str"):
        function("1.0")
    with pytest.raises(TypeError, match=r"z expected an array of numbers\. Received: NoneType"):
        function(None)
    with pytest.raises(TypeError, match=r"z expected an array of numbers\. Received: dtype=<U1"):
        function(["a", "b"])
    with pytest.raises(TypeError, match=r"z expected an array of real numbers\. Received: dtype=complex128"):
        function(np.array([1 + 2j]))


def test_softmax_needs_at_least_one_dimension():
    with pytest.raises(ValueError, match=r"z expected an array with at least 1 dimensions\. Received: z\.shape=\(\)"):
        activations.softmax(1.0)


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_backward_refuses_mismatched_shapes(name):
    with pytest.raises(ValueError, match=rf"{name}\.backward expected dout\.shape == z\.shape\. Received: z\.shape=\(2, 3\), dout\.shape=\(3, 2\)"):
        activations.get(name).backward(np.zeros((2, 3)), np.zeros((3, 2)))


def test_softmax_has_no_elementwise_derivative():
    with pytest.raises(TypeError, match=r"softmax\.derivative expected an elementwise activation; softmax has none, use backward\(z, dout\)"):
        activations.get("softmax").derivative(np.zeros(3))


def test_get_refuses_unknown_names_and_non_strings():
    with pytest.raises(ValueError, match=r"activation expected one of \['elu', 'gelu', .*\]\. Received: activation='mish'"):
        activations.get("mish")
    with pytest.raises(TypeError, match=r"activation expected one of \[.*\]\. Received: 3"):
        activations.get(3)


# --- the Part III activations (chapter 15) ------------------------------------------

def test_parametrised_activations_by_hand_and_their_defaults_follow_keras():
    assert activations.get("leaky_relu").negative_slope == 0.2  # Keras's default, not 0.01
    np.testing.assert_allclose(activations.LeakyReLU(0.01)([-2.0, 3.0]), [-0.02, 3.0])
    np.testing.assert_allclose(activations.ELU(2.0)([-np.inf, 0.0, 1.5]), [-2.0, 0.0, 1.5])
    np.testing.assert_allclose(activations.gelu(np.array([0.0, 1.0])), [0.0, 0.8413447460685429], rtol=1e-12)
    np.testing.assert_allclose(activations.softplus(np.array([0.0, 1000.0, -1000.0])), [np.log(2.0), 1000.0, 0.0])
    np.testing.assert_allclose(activations.Softplus().derivative(np.array([0.0])), [0.5])
    assert repr(activations.GELU(approximate=True)) == "Activation('gelu', approximate=True)"


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_forms_match_keras_and_their_derivatives_check(approximate):
    rng = np.random.default_rng(7)
    z = (3.0 * rng.standard_normal((8, 5))).astype(np.float32)
    act = activations.GELU(approximate=approximate)
    z_tf = tf.Variable(z)
    with tf.GradientTape() as tape:
        out = keras.activations.gelu(z_tf, approximate=approximate)
    np.testing.assert_allclose(act(z), out.numpy(), rtol=1e-5, atol=1e-6)
    # float32 rounding in TensorFlow's tanh form leaves ~1e-6 absolute noise in the tails
    np.testing.assert_allclose(act.derivative(z), tape.gradient(out, z_tf).numpy(), rtol=1e-5, atol=3e-6)
    z64 = np.clip(z, -4, 4).astype(np.float64)  # beyond, the derivative (< 1e-3) is below the differences' resolution
    assert check_function(lambda v: np.sum(act(v)), lambda v: act.derivative(v), z64) < GRAD_TOL


def test_parametrised_activations_refuse_bad_arguments():
    with pytest.raises(ValueError, match=r"alpha expected a finite number > 0\. Received: alpha=0\.0"):
        activations.ELU(0.0)
    with pytest.raises(ValueError, match=r"negative_slope expected a finite number >= 0\. Received: negative_slope=-0\.1"):
        activations.LeakyReLU(-0.1)
    with pytest.raises(TypeError, match=r"approximate expected True or False\. Received: 'yes'"):
        activations.GELU(approximate="yes")


# --- SELU (issue 11, item 7) --------------------------------------------------------

def test_selu_by_hand_and_its_derivative_at_zero_is_tensorflows():
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    np.testing.assert_allclose(activations.selu(np.array([-np.inf, -1.0, 0.0, 2.0])),
                               [-scale * alpha, scale * alpha * np.expm1(-1.0), 0.0, 2 * scale], rtol=1e-15)
    z = tf.Variable(np.array([0.0, -0.0], dtype=np.float32))
    with tf.GradientTape() as tape:
        out = keras.activations.selu(z)
    np.testing.assert_allclose(activations.SELU().derivative(np.zeros(2, np.float32)), tape.gradient(out, z).numpy(), rtol=1e-7)
    assert activations.get("selu").derivative(np.array([0.0]))[0] == scale


def test_selu_with_lecun_normal_weights_keeps_activations_standardised():
    """Klambauer et al.'s fixed point: mean ~0 and variance ~1 after many layers (fan-in 400)."""
    from nnlib import initializers

    rng = np.random.default_rng(8)
    x = rng.standard_normal((2000, 400))
    for _ in range(20):
        x = activations.selu(x @ initializers.lecun_normal((400, 400), rng))
    assert abs(x.mean()) < 0.1 and abs(x.var() - 1) < 0.15
