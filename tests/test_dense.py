"""Tests for nnlib.layers (Dense, Activation): hand values, float64 gradient checks, Keras
parity with copied weights, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import activations, layers
from nnlib.gradcheck import check_layer

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

# Largest elementwise relative error allowed in float64 gradient checks (nnlib.gradcheck,
# h = 1e-6). Rounding in the differences leaves ~1e-10 absolute noise, which is ~1e-6
# relative on the smallest components; a wrong gradient scores above 1e-2.
GRAD_TOL = 1e-5
ACTIVATIONS = activations.names()  # linear, relu, sigmoid, softmax, step, tanh
KERAS_ACTIVATIONS = ["linear", "relu", "sigmoid", "softmax", "tanh"]


def dense(in_features=3, units=4, activation="linear", seed=0, **kwargs):
    return layers.Dense(in_features, units, activation, rng=np.random.default_rng(seed), **kwargs)


# --- small hand-computed cases -----------------------------------------------------

def test_weights_follow_keras_layout_and_defaults():
    layer = dense(3, 4)
    assert list(layer.params) == ["kernel", "bias"]
    assert layer.kernel.shape == (3, 4) and layer.bias.shape == (4,)
    assert layer.kernel.dtype == np.float64
    np.testing.assert_array_equal(layer.bias, np.zeros(4))
    assert np.abs(layer.kernel).max() <= np.sqrt(6 / 7)  # Glorot uniform, Keras's default
    assert layer.count_params() == 16
    assert layer.multiply_adds() == 12
    assert layer.activation.name == "linear"
    assert repr(layer) == "Dense(3, 4, activation='linear')"


def test_forward_by_hand():
    layer = dense(2, 1, "sigmoid")
    layer.set_weights([np.array([[1.0], [2.0]]), np.array([-3.0])])
    x = np.array([[1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(layer.pre_activation(x), [[0.0], [-3.0]])
    np.testing.assert_allclose(layer.forward(x), [[0.5], [1 / (1 + np.exp(3.0))]], rtol=1e-15)
    np.testing.assert_allclose(layer(x), layer.forward(x))


def test_backward_by_hand():
    """Linear 2 -> 1: dW = x^T dout, db = sum dout, dx = dout W^T."""
    layer = dense(2, 1)
    layer.set_weights([np.array([[1.0], [2.0]]), np.array([0.5])])
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    layer.forward(x)
    dx = layer.backward(np.array([[1.0], [-1.0]]))
    np.testing.assert_array_equal(layer.grads["kernel"], [[-2.0], [-2.0]])
    np.testing.assert_array_equal(layer.grads["bias"], [0.0])
    np.testing.assert_array_equal(dx, [[1.0, 2.0], [-1.0, -2.0]])


def test_backward_overwrites_rather_than_accumulates():
    layer = dense()
    x = np.random.default_rng(1).standard_normal((5, 3))
    layer.forward(x)
    layer.backward(np.ones((5, 4)))
    first = layer.grads["kernel"].copy()
    layer.backward(np.ones((5, 4)))
    np.testing.assert_array_equal(layer.grads["kernel"], first)


def test_without_bias():
    layer = dense(3, 2, use_bias=False)
    assert list(layer.params) == ["kernel"]
    assert layer.count_params() == 6
    np.testing.assert_array_equal(layer.bias, np.zeros(2))
    x = np.random.default_rng(2).standard_normal((4, 3))
    np.testing.assert_allclose(layer.forward(x), x @ layer.kernel)
    layer.backward(np.ones((4, 2)))
    assert list(layer.grads) == ["kernel"]


def test_float32_layer_computes_in_float32():
    layer = dense(3, 2, "tanh", dtype="float32")
    assert layer.kernel.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer.forward(np.ones((2, 3))).dtype == np.float32
    assert layer.forward(np.ones((2, 3), dtype=np.int64)).dtype == np.float32


def test_initializers_and_generator():
    layer = dense(2, 3, kernel_initializer="ones", bias_initializer="ones")
    np.testing.assert_array_equal(layer.kernel, np.ones((2, 3)))
    np.testing.assert_array_equal(layer.bias, np.ones(3))
    custom = dense(2, 3, kernel_initializer=lambda shape, rng: np.full(shape, 0.25))
    np.testing.assert_array_equal(custom.kernel, np.full((2, 3), 0.25))
    np.testing.assert_array_equal(dense(seed=5).kernel, dense(seed=5).kernel)
    assert not np.array_equal(dense(seed=5).kernel, dense(seed=6).kernel)


def test_get_weights_copies_and_set_weights_writes_in_place():
    layer = dense(2, 2)
    kernel_array = layer.params["kernel"]
    weights = layer.get_weights()
    weights[0][...] = 7.0
    assert not np.any(layer.kernel == 7.0)
    layer.set_weights([np.full((2, 2), 3.0), [1.0, 2.0]])
    assert layer.params["kernel"] is kernel_array  # optimizers hold references to these arrays
    np.testing.assert_array_equal(layer.kernel, np.full((2, 2), 3.0))
    np.testing.assert_array_equal(layer.bias, [1.0, 2.0])


def test_activation_layer():
    layer = layers.Activation("relu")
    assert layer.params == {} and layer.count_params() == 0 and layer.multiply_adds() == 0
    assert layer.get_weights() == []
    assert repr(layer) == "Activation('relu')"
    np.testing.assert_array_equal(layer.forward(np.array([[-1.0, 2.0]])), [[0.0, 2.0]])
    np.testing.assert_array_equal(layer.backward(np.array([[5.0, 5.0]])), [[0.0, 5.0]])


# --- float64 gradient checks -------------------------------------------------------

@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_gradients_match_central_differences(activation, use_bias):
    rng = np.random.default_rng(3)
    layer = dense(4, 3, activation, use_bias=use_bias, bias_initializer="random_normal")
    x = rng.standard_normal((5, 4))
    errors = check_layer(layer, x, rng=rng)
    assert set(errors) == ({"input", "kernel", "bias"} if use_bias else {"input", "kernel"})
    assert max(errors.values()) < GRAD_TOL, errors


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_layer_gradient_matches_central_differences(activation):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 4))
    x = np.where(np.abs(x) < 1e-3, 0.5, x)  # keep off ReLU's and the step's kink
    errors = check_layer(layers.Activation(activation), x, rng=rng)
    assert set(errors) == {"input"}
    assert errors["input"] < GRAD_TOL


def test_gradient_check_catches_a_wrong_backward():
    """Power check: a Dense that forgets the activation's derivative fails."""

    class Forgetful(layers.Dense):
        def backward(self, dout):
            self.grads["kernel"] = self._x.T @ dout
            self.grads["bias"] = dout.sum(axis=0)
            return dout @ self.kernel.T

    rng = np.random.default_rng(5)
    layer = Forgetful(3, 2, "tanh", rng=rng)
    errors = check_layer(layer, rng.standard_normal((4, 3)), rng=rng)
    assert min(errors.values()) > 1e-2


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
    st.sampled_from(["linear", "sigmoid", "tanh", "softmax"]), st.booleans(), st.integers(0, 2**32 - 1),
)
def test_dense_gradients_for_any_shape(batch, in_features, units, activation, use_bias, seed):
    rng = np.random.default_rng(seed)
    layer = layers.Dense(in_features, units, activation, rng=rng, use_bias=use_bias, bias_initializer="random_normal")
    errors = check_layer(layer, rng.standard_normal((batch, in_features)), rng=rng)
    assert max(errors.values()) < GRAD_TOL, errors


# --- parity with Keras in float32, weights copied ----------------------------------

@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("activation", KERAS_ACTIVATIONS)
def test_dense_forward_and_gradients_match_keras(activation, use_bias):
    rng = np.random.default_rng(6)
    layer = dense(5, 3, activation, seed=7, use_bias=use_bias, dtype="float32", bias_initializer="random_normal")
    keras_layer = keras.layers.Dense(3, activation=activation, use_bias=use_bias)
    keras_layer.build((None, 5))
    keras_layer.set_weights(layer.get_weights())
    x = rng.standard_normal((8, 5)).astype(np.float32)
    upstream = rng.standard_normal((8, 3)).astype(np.float32)

    x_tf = tf.Variable(x)
    with tf.GradientTape() as tape:
        keras_out = keras_layer(x_tf)
        scalar = tf.reduce_sum(keras_out * upstream)
    keras_grads = tape.gradient(scalar, [x_tf, *keras_layer.trainable_weights])

    out = layer.forward(x)
    np.testing.assert_allclose(out, keras_out.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.backward(upstream), keras_grads[0].numpy(), rtol=1e-5, atol=1e-6)
    for ours, theirs in zip(layer.grads.values(), keras_grads[1:], strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5, atol=1e-6)


# --- bad input ---------------------------------------------------------------------

def test_constructor_arguments_are_validated():
    with pytest.raises(ValueError, match=r"in_features expected a positive integer\. Received: in_features=0"):
        layers.Dense(0, 2)
    with pytest.raises(TypeError, match=r"units expected a positive integer\. Received: 2\.5"):
        layers.Dense(2, 2.5)
    with pytest.raises(TypeError, match=r"in_features expected a positive integer\. Received: True"):
        layers.Dense(True, 2)
    with pytest.raises(ValueError, match=r"dtype expected 'float32' or 'float64'\. Received: dtype='float16'"):
        layers.Dense(2, 2, dtype="float16")
    with pytest.raises(ValueError, match=r"activation expected one of \[.*\]\. Received: activation='mish'"):
        layers.Dense(2, 2, "mish")
    with pytest.raises(TypeError, match=r"rng expected a numpy\.random\.Generator .*Received: int"):
        layers.Dense(2, 2, rng=0)
    with pytest.raises(ValueError, match=r"initializer expected one of \[.*\]\. Received: initializer='identity'"):
        layers.Dense(2, 2, kernel_initializer="identity")


def test_forward_refuses_wrong_input_shapes():
    layer = dense(3, 2)
    with pytest.raises(ValueError, match=r"Dense layer 'dense' expected input of shape \(batch, 3\)\. Received: x\.shape=\(3,\)"):
        layer.forward(np.ones(3))
    with pytest.raises(ValueError, match=r"Dense layer 'dense' expected input of shape \(batch, 3\)\. Received: x\.shape=\(4, 2\)"):
        layer.forward(np.ones((4, 2)))
    with pytest.raises(TypeError, match=r"x expected an array of numbers\. Received: str"):
        layer.forward("x")


def test_backward_refuses_missing_cache_and_wrong_shapes():
    layer = dense(3, 2, name="hidden")
    with pytest.raises(RuntimeError, match=r"hidden\.backward called before forward"):
        layer.backward(np.ones((4, 2)))
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"Dense layer 'hidden' backward expected dout of shape \(4, 2\)\. Received: dout\.shape=\(2, 4\)"):
        layer.backward(np.ones((2, 4)))
    activation = layers.Activation("tanh")
    with pytest.raises(RuntimeError, match=r"activation\.backward called before forward"):
        activation.backward(np.ones(2))
    with pytest.raises(ValueError, match=r"x expected an array with at least 1 dimensions\. Received: x\.shape=\(\)"):
        activation.forward(1.0)


def test_set_weights_refuses_wrong_count_and_shapes():
    layer = dense(3, 2)
    with pytest.raises(ValueError, match=r"dense\.set_weights expected 2 arrays\. Received: 1"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"dense\.set_weights expected kernel of shape \(3, 2\)\. Received: shape=\(2, 3\)"):
        layer.set_weights([np.zeros((2, 3)), np.zeros(2)])
    with pytest.raises(ValueError, match=r"dense\.set_weights expected bias of shape \(2,\)\. Received: shape=\(3,\)"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])
