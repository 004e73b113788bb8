"""Tests for nnlib.layers.normalization (BatchNormalization): hand values, float64 gradient
checks in both modes, Keras parity in float32 with copied [gamma, beta, moving_mean,
moving_variance] (outputs, moving statistics, tape gradients), bad input."""
import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib.gradcheck import check_layer, numerical_gradient, relative_error
from nnlib.layers.normalization import BatchNormalization

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

GRAD_TOL = 1e-5  # see tests/test_dense.py
FLAGS = [(True, True), (True, False), (False, True), (False, False)]
FLAG_IDS = ["center_scale", "center", "scale", "neither"]


def randomised(layer, seed=0):
    """Non-trivial gamma, beta and moving statistics."""
    rng = np.random.default_rng(seed)
    weights = []
    for key, _ in layer._weights().items():
        size = layer.num_features
        if key == "moving_variance":
            weights.append(rng.uniform(0.5, 2.0, size))
        elif key == "gamma":
            weights.append(rng.uniform(0.5, 1.5, size))
        else:
            weights.append(rng.standard_normal(size))
    layer.set_weights(weights)
    return layer


# --- small hand-computed cases -----------------------------------------------------

def test_defaults_and_weights_follow_keras():
    layer = BatchNormalization(3)
    assert list(layer.params) == ["gamma", "beta"]
    assert list(layer.non_trainable) == ["moving_mean", "moving_variance"]
    assert (layer.momentum, layer.epsilon) == (0.99, 1e-3)
    np.testing.assert_array_equal(layer.gamma, np.ones(3))
    np.testing.assert_array_equal(layer.beta, np.zeros(3))
    np.testing.assert_array_equal(layer.moving_mean, np.zeros(3))
    np.testing.assert_array_equal(layer.moving_variance, np.ones(3))
    assert [w.shape for w in layer.get_weights()] == [(3,)] * 4
    assert layer.count_params() == 12  # as Keras: moving statistics counted too
    assert layer.multiply_adds() == 3
    assert repr(layer) == "BatchNormalization(3, momentum=0.99, epsilon=0.001)"


def test_training_forward_by_hand():
    layer = BatchNormalization(1, momentum=0.9, epsilon=0.0 + 1e-12)
    x = np.array([[1.0], [3.0]])  # mean 2, biased variance 1
    np.testing.assert_allclose(layer.forward(x, training=True), [[-1.0], [1.0]], rtol=1e-10)
    np.testing.assert_allclose(layer.moving_mean, [0.9 * 0 + 0.1 * 2])
    np.testing.assert_allclose(layer.moving_variance, [0.9 * 1 + 0.1 * 1])


def test_inference_uses_moving_statistics_and_updates_nothing():
    layer = BatchNormalization(2, epsilon=1e-3)
    layer.set_weights([[2.0, 1.0], [0.5, 0.0], [1.0, -1.0], [4.0, 1.0]])
    x = np.array([[1.0, -1.0], [3.0, 0.0]])
    expected = 2.0 * (x[:, 0] - 1.0) / np.sqrt(4.001) + 0.5
    out = layer.forward(x)  # training=False is the default
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-15)
    np.testing.assert_allclose(out[:, 1], (x[:, 1] + 1) / np.sqrt(1.001), rtol=1e-15)
    np.testing.assert_array_equal(layer.moving_mean, [1.0, -1.0])
    np.testing.assert_array_equal(layer.moving_variance, [4.0, 1.0])


def test_training_output_is_normalised():
    layer = BatchNormalization(4, epsilon=1e-9)
    x = np.random.default_rng(1).normal(5.0, 3.0, size=(64, 4))
    out = layer.forward(x, training=True)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), 1.0, rtol=1e-6)


def test_moving_statistics_converge_to_the_data_statistics():
    layer = BatchNormalization(2, momentum=0.9)
    rng = np.random.default_rng(2)
    for _ in range(200):
        layer.forward(rng.normal([1.0, -2.0], [2.0, 0.5], size=(256, 2)), training=True)
    np.testing.assert_allclose(layer.moving_mean, [1.0, -2.0], atol=0.1)
    np.testing.assert_allclose(layer.moving_variance, [4.0, 0.25], rtol=0.1)


def test_features_last_input_of_any_rank():
    """(batch, height, width, channels): statistics over the first three axes."""
    layer = BatchNormalization(3, epsilon=1e-9)
    x = np.random.default_rng(3).normal(2.0, 4.0, size=(4, 5, 6, 3))
    out = layer.forward(x, training=True)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(layer.moving_mean, 0.01 * x.mean(axis=(0, 1, 2)), rtol=1e-12)


@pytest.mark.parametrize(("center", "scale"), FLAGS, ids=FLAG_IDS)
def test_center_and_scale_flags_drop_parameters(center, scale):
    layer = BatchNormalization(2, center=center, scale=scale)
    expected = [name for name, kept in (("gamma", scale), ("beta", center)) if kept]
    assert list(layer.params) == expected
    assert len(layer.get_weights()) == len(expected) + 2
    layer.forward(np.random.default_rng(4).standard_normal((5, 2)), training=True)
    layer.backward(np.ones((5, 2)))
    assert list(layer.grads) == expected


def test_get_weights_copies_and_set_weights_writes_in_place():
    layer = BatchNormalization(2)
    gamma, moving_mean = layer.params["gamma"], layer.moving_mean
    weights = layer.get_weights()
    weights[0][...] = 7.0
    assert not np.any(layer.gamma == 7.0)
    layer.set_weights([[3.0, 3.0], [1.0, 2.0], [0.5, 0.5], [2.0, 2.0]])
    assert layer.params["gamma"] is gamma and layer.moving_mean is moving_mean
    np.testing.assert_array_equal(layer.moving_variance, [2.0, 2.0])


def test_float32_layer_computes_in_float32():
    layer = BatchNormalization(3, dtype="float32")
    assert all(w.dtype == np.float32 for w in layer.get_weights())
    assert layer.forward(np.ones((2, 3)), training=True).dtype == np.float32
    assert layer.moving_mean.dtype == np.float32
    assert layer.backward(np.ones((2, 3))).dtype == np.float32


# --- float64 gradient checks -------------------------------------------------------

@pytest.mark.parametrize(("center", "scale"), FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("shape", [(6, 4), (1, 3), (3, 2, 4)], ids=["batch", "batch_of_one", "rank3"])
def test_training_gradients_match_central_differences(shape, center, scale):
    rng = np.random.default_rng(5)
    layer = randomised(BatchNormalization(shape[-1], center=center, scale=scale))
    errors = check_layer(layer, rng.normal(1.0, 2.0, size=shape), rng=rng)
    assert set(errors) == {"input", *layer.params}
    if shape[0] == 1 and len(shape) == 2:  # one row: x_hat = 0, the input gradient is 0
        errors.pop("input")  # (checked exactly in the next test)
    assert max(errors.values(), default=0.0) < GRAD_TOL, errors


def test_batch_of_one_has_zero_input_gradient():
    layer = randomised(BatchNormalization(3))
    layer.forward(np.ones((1, 3)), training=True)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), 0.0)


def test_inference_gradients_match_central_differences():
    rng = np.random.default_rng(6)
    layer = randomised(BatchNormalization(4))
    x = rng.standard_normal((5, 4))
    upstream = rng.standard_normal((5, 4))
    layer.forward(x)
    analytic = layer.backward(upstream)
    gamma_grad, beta_grad = layer.grads["gamma"].copy(), layer.grads["beta"].copy()

    def loss():
        return np.sum(layer.forward(x) * upstream)

    assert relative_error(analytic, numerical_gradient(loss, x)) < GRAD_TOL
    assert relative_error(gamma_grad, numerical_gradient(loss, layer.params["gamma"])) < GRAD_TOL
    assert relative_error(beta_grad, numerical_gradient(loss, layer.params["beta"])) < GRAD_TOL


def test_gradient_check_catches_a_backward_that_ignores_the_batch_statistics():
    """Power check: the inference-mode formula used in training fails."""

    class Naive(BatchNormalization):
        def backward(self, dout):
            x_hat, inverse_std, _ = self._cache
            self.grads["gamma"] = np.sum(dout * x_hat, axis=0)
            self.grads["beta"] = np.sum(dout, axis=0)
            return dout * self.gamma * inverse_std

    rng = np.random.default_rng(7)
    errors = check_layer(randomised(Naive(3)), rng.standard_normal((4, 3)), rng=rng)
    assert errors["input"] > 1e-2


# --- parity with Keras in float32, weights copied ----------------------------------

def keras_pair(num_features=5, seed=8, **kwargs):
    layer = randomised(BatchNormalization(num_features, dtype="float32", **kwargs), seed=seed)
    keras_layer = keras.layers.BatchNormalization(**kwargs)
    keras_layer.build((None, num_features))
    keras_layer.set_weights(layer.get_weights())
    return layer, keras_layer


@pytest.mark.parametrize(("center", "scale"), FLAGS, ids=FLAG_IDS)
def test_weights_copy_both_ways_in_keras_order(center, scale):
    layer, keras_layer = keras_pair(center=center, scale=scale)
    assert [w.name for w in keras_layer.weights][-2:] == ["moving_mean", "moving_variance"]
    for ours, theirs in zip(layer.get_weights(), keras_layer.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    fresh = BatchNormalization(5, center=center, scale=scale)
    fresh.set_weights(keras_layer.get_weights())
    for ours, theirs in zip(fresh.get_weights(), keras_layer.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=0)
    assert len(keras_layer.trainable_weights) == len(layer.params)
    assert keras_layer.count_params() == layer.count_params()


@pytest.mark.parametrize(("momentum", "epsilon"), [(0.99, 1e-3), (0.9, 1e-5), (0.5, 0.1)])
def test_outputs_and_moving_statistics_match_keras(momentum, epsilon):
    layer, keras_layer = keras_pair(momentum=momentum, epsilon=epsilon)
    rng = np.random.default_rng(9)
    for _ in range(4):
        x = rng.normal(2.0, 3.0, size=(16, 5)).astype(np.float32)
        np.testing.assert_allclose(
            layer.forward(x, training=True), keras_layer(x, training=True).numpy(), rtol=1e-5, atol=1e-5
        )
        np.testing.assert_allclose(layer.moving_mean, keras_layer.moving_mean.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.moving_variance, keras_layer.moving_variance.numpy(), rtol=1e-5, atol=1e-6)
    x = rng.normal(2.0, 3.0, size=(7, 5)).astype(np.float32)
    np.testing.assert_allclose(layer.forward(x), keras_layer(x, training=False).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize(("center", "scale"), FLAGS, ids=FLAG_IDS)
def test_gradients_match_keras_tape(center, scale, training):
    layer, keras_layer = keras_pair(center=center, scale=scale)
    rng = np.random.default_rng(10)
    x = rng.normal(1.0, 2.0, size=(12, 5)).astype(np.float32)
    upstream = rng.standard_normal((12, 5)).astype(np.float32)

    x_tf = tf.Variable(x)
    with tf.GradientTape() as tape:
        keras_out = keras_layer(x_tf, training=training)
        scalar = tf.reduce_sum(keras_out * upstream)
    keras_grads = tape.gradient(scalar, [x_tf, *keras_layer.trainable_weights])

    np.testing.assert_allclose(layer.forward(x, training=training), keras_out.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.backward(upstream), keras_grads[0].numpy(), rtol=1e-4, atol=1e-5)
    for ours, theirs in zip(layer.grads.values(), keras_grads[1:], strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-4, atol=1e-5)


# --- bad input ---------------------------------------------------------------------

def test_constructor_arguments_are_validated():
    with pytest.raises(ValueError, match=r"num_features expected a positive integer\. Received: num_features=0"):
        BatchNormalization(0)
    with pytest.raises(ValueError, match=r"momentum expected a number in \[0, 1\]\. Received: momentum=1\.5"):
        BatchNormalization(2, momentum=1.5)
    with pytest.raises(ValueError, match=r"momentum expected a finite number >= 0\. Received: momentum=-0\.1"):
        BatchNormalization(2, momentum=-0.1)
    with pytest.raises(TypeError, match=r"momentum expected a number in \[0, 1\]\. Received: '0\.9'"):
        BatchNormalization(2, momentum="0.9")
    with pytest.raises(ValueError, match=r"epsilon expected a finite number > 0\. Received: epsilon=0\.0"):
        BatchNormalization(2, epsilon=0.0)
    with pytest.raises(TypeError, match=r"center expected True or False\. Received: 1"):
        BatchNormalization(2, center=1)
    with pytest.raises(ValueError, match=r"dtype expected 'float32' or 'float64'\. Received: dtype='float16'"):
        BatchNormalization(2, dtype="float16")
    with pytest.raises(TypeError, match=r"num_features expected a positive integer\. Received: 2\.0"):
        BatchNormalization(2.0)


def test_forward_refuses_wrong_input_shapes():
    layer = BatchNormalization(3)
    with pytest.raises(ValueError, match=r"BatchNormalization layer 'batchnormalization' expected input of shape \(batch, \.\.\., 3\)\. Received: x\.shape=\(3,\)"):
        layer.forward(np.ones(3))
    with pytest.raises(ValueError, match=r"Received: x\.shape=\(4, 2\)"):
        layer.forward(np.ones((4, 2)), training=True)
    with pytest.raises(TypeError, match=r"x expected an array of numbers\. Received: str"):
        layer.forward("x")


def test_backward_refuses_missing_cache_and_wrong_shapes():
    layer = BatchNormalization(3, name="bn")
    with pytest.raises(RuntimeError, match=r"bn\.backward called before forward"):
        layer.backward(np.ones((4, 3)))
    layer.forward(np.ones((4, 3)), training=True)
    with pytest.raises(ValueError, match=r"BatchNormalization layer 'bn' backward expected dout of shape \(4, 3\)\. Received: dout\.shape=\(3, 4\)"):
        layer.backward(np.ones((3, 4)))


def test_set_weights_refuses_wrong_count_shapes_and_negative_variance():
    layer = BatchNormalization(2, name="bn")
    with pytest.raises(ValueError, match=r"bn\.set_weights expected 4 arrays \['gamma', 'beta', 'moving_mean', 'moving_variance'\]\. Received: 2"):
        layer.set_weights([np.ones(2), np.zeros(2)])  # the trainable ones only
    with pytest.raises(ValueError, match=r"bn\.set_weights expected moving_mean of shape \(2,\)\. Received: shape=\(3,\)"):
        layer.set_weights([np.ones(2), np.zeros(2), np.zeros(3), np.ones(2)])
    with pytest.raises(ValueError, match=r"bn\.set_weights expected moving_variance >= 0\. Received: min=-1\.0"):
        layer.set_weights([np.full(2, 5.0), np.zeros(2), np.zeros(2), [-1.0, 1.0]])
    np.testing.assert_array_equal(layer.gamma, np.ones(2))  # nothing written on failure
