"""Tests for nnlib.explain: saliency equals central differences and tf.GradientTape on the Keras
twin; integrated gradients equal the tape's at the same path points and are complete to 1 %;
occlusion of a linear model is exact; bad input."""

import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import explain, gradcheck, keras_bridge, layers
from nnlib.model import Sequential

import tensorflow as tf  # noqa: E402

from bad_input import check, table  # tests/bad_input.py


def mlp(seed=0, last="softmax"):
    rng = np.random.default_rng(seed)
    model = Sequential([layers.Dense(5, 8, "tanh", rng=rng), layers.Dense(8, 6, "relu", rng=rng),
                        layers.Dense(6, 3, last, rng=rng)])
    for layer in model.layers:
        layer.params["bias"][...] = 0.3 * rng.standard_normal(layer.params["bias"].shape)
    return model


def cnn(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential([layers.Conv2D(1, 3, 3, padding="same", activation="tanh", rng=rng), layers.Flatten(),
                       layers.Dense(6 * 6 * 3, 4, "softmax", rng=rng)])


def inputs(seed=1, shape=(4, 5)):
    return np.random.default_rng(seed).standard_normal(shape)


def tape_input_gradient(keras_model, x, targets):
    x_tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_tensor)
        out = keras_model(x_tensor, training=False)
        chosen = tf.reduce_sum(out * tf.one_hot(targets, out.shape[-1], dtype=out.dtype))
    return tape.gradient(chosen, x_tensor).numpy()


@pytest.mark.parametrize("logits", [False, True])
def test_saliency_equals_central_differences(logits):
    model, x = mlp(), inputs()
    target = 2
    gradient = explain.saliency(model, x, target, logits=logits, absolute=False)
    for n in range(len(x)):
        row = x[n:n + 1].copy()
        numeric = gradcheck.numerical_gradient(lambda: explain.target_output(model, row, target, logits=logits)[0], row)
        assert gradcheck.relative_error(gradient[n:n + 1], numeric) < 1e-5
    np.testing.assert_array_equal(explain.saliency(model, x, target, logits=logits), np.abs(gradient))


@pytest.mark.parametrize("make, shape", [(mlp, (4, 5)), (cnn, (3, 6, 6, 1))], ids=["mlp", "cnn"])
def test_saliency_equals_the_tape_on_the_keras_twin(make, shape):
    model, x = make(), inputs(shape=shape)
    twin = keras_bridge.to_keras(model, "float64", input_shape=shape[1:] if len(shape) > 2 else None)
    targets = np.argmax(model.predict(x), axis=1)
    np.testing.assert_allclose(explain.saliency(model, x, absolute=False),   # target None: the arg-max
                               tape_input_gradient(twin, x, targets), rtol=1e-9, atol=1e-12)


def test_logits_target_is_the_pre_activation():
    softmax_model, x = mlp(last="softmax"), inputs()
    linear_model = mlp(last="linear")     # same seed, same weights, no softmax
    np.testing.assert_allclose(explain.input_gradient(softmax_model, x, 1, logits=True),
                               explain.input_gradient(linear_model, x, 1), rtol=1e-12)
    np.testing.assert_allclose(explain.target_output(softmax_model, x, 1, logits=True),
                               linear_model.predict(x)[:, 1], rtol=1e-12)


@pytest.mark.parametrize("method", explain.METHODS)
def test_integrated_gradients_equal_the_tape(method):
    model, x = mlp(), inputs()
    baseline = np.random.default_rng(2).standard_normal(5)
    twin = keras_bridge.to_keras(model, "float64")
    targets = np.array([0, 1, 2, 1])
    alphas, weights = explain.path_weights(16, method)
    expected = np.zeros_like(x)
    for alpha, weight in zip(alphas, weights):
        expected += weight * tape_input_gradient(twin, baseline + alpha * (x - baseline), targets)
    expected *= x - baseline
    ours = explain.integrated_gradients(model, x, targets, baseline=baseline, steps=16, method=method)
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("make, shape", [(mlp, (6, 5)), (cnn, (3, 6, 6, 1))], ids=["mlp", "cnn"])
def test_completeness_within_one_percent(make, shape):
    model, x = make(), inputs(shape=shape)
    targets = np.argmax(model.predict(x), axis=1)
    difference = explain.target_output(model, x, targets) - explain.target_output(model, np.zeros_like(x), targets)
    attributions = explain.integrated_gradients(model, x, targets, steps=1024)  # ReLU kinks: O(1/m)
    sums = attributions.reshape(len(x), -1).sum(axis=1)
    np.testing.assert_allclose(sums, difference, rtol=0.01, atol=1e-6)
    # the trapezoid rule converges faster than the right Riemann sum
    coarse = {m: np.abs(explain.integrated_gradients(model, x, targets, steps=8, method=m).reshape(len(x), -1).sum(1)
                        - difference).max() for m in ("right", "trapezoid")}
    assert coarse["trapezoid"] < coarse["right"]


def test_occlusion_of_a_linear_model_is_exact():
    rng = np.random.default_rng(3)
    model = Sequential([layers.Dense(5, 2, rng=rng)])
    model.layers[0].params["bias"][...] = [0.5, -1.0]
    x, baseline = inputs(), rng.standard_normal(5)
    kernel = model.layers[0].params["kernel"]
    np.testing.assert_allclose(explain.occlusion(model, x, 1, baseline=baseline), kernel[:, 1] * (x - baseline), rtol=1e-12)
    # windows of 2 (strides 2, the last one flush with the end at features 3-4): each element gets its window's drop,
    # feature 3 the mean of the windows (2, 3) and (3, 4)
    drops = kernel[:, 0] * x
    window = explain.occlusion(model, x, 0, window=2)
    np.testing.assert_allclose(window[:, 0], drops[:, 0] + drops[:, 1], rtol=1e-12)
    np.testing.assert_allclose(window[:, 3], (drops[:, 2:4].sum(1) + drops[:, 3:5].sum(1)) / 2, rtol=1e-12)


def test_occlusion_patches_on_images():
    model, x = cnn(), inputs(shape=(2, 6, 6, 1))
    maps = explain.occlusion(model, x, window=(2, 2, 1), strides=(1, 1, 1))
    assert maps.shape == x.shape and np.all(np.isfinite(maps))
    single = explain.occlusion(model, x, window=(6, 6, 1))   # one window: the whole image
    drop = explain.target_output(model, x) - explain.target_output(model, np.zeros_like(x), np.argmax(model.predict(x), 1))
    np.testing.assert_allclose(single[:, 0, 0, 0], drop, rtol=1e-12)


BAD = [
    ("model-not-sequential", lambda: explain.saliency("model", inputs()), TypeError, "expected an nnlib Sequential model"),
    ("x-strings", lambda: explain.saliency(mlp(), np.array([["a"] * 5])), TypeError, "x expected an array of numbers"),
    ("x-nan", lambda: explain.integrated_gradients(mlp(), np.full((1, 5), np.nan)), ValueError, "x expected finite values"),
    ("x-no-batch-axis", lambda: explain.saliency(mlp(), np.ones(5)), ValueError, "x expected an array with at least 2"),
    ("target-out-of-range", lambda: explain.saliency(mlp(), inputs(), 3), ValueError, "target expected output indices in [0, 3)"),
    ("target-float", lambda: explain.saliency(mlp(), inputs(), 1.0), TypeError, "target expected an integer output index"),
    ("target-bool", lambda: explain.saliency(mlp(), inputs(), True), TypeError, "target expected an integer output index"),
    ("target-length", lambda: explain.saliency(mlp(), inputs(), np.array([0, 1])), ValueError, "one output index per input"),
    ("steps-zero", lambda: explain.integrated_gradients(mlp(), inputs(), steps=0), ValueError, "steps expected a positive integer"),
    ("method-unknown", lambda: explain.integrated_gradients(mlp(), inputs(), method="simpson"), ValueError, "method expected one of"),
    ("baseline-shape", lambda: explain.integrated_gradients(mlp(), inputs(), baseline=np.zeros(3)), ValueError,
     "baseline expected a number or an array of shape (5,)"),
    ("baseline-nan", lambda: explain.occlusion(mlp(), inputs(), baseline=np.nan), ValueError, "baseline expected finite values"),
    ("window-too-large", lambda: explain.occlusion(mlp(), inputs(), window=6), ValueError, "window expected sizes at most"),
    ("window-axes", lambda: explain.occlusion(mlp(), inputs(), window=(1, 1)), ValueError, "window expected 1 sizes"),
    ("strides-zero", lambda: explain.occlusion(mlp(), inputs(), strides=0), ValueError, "strides expected a positive integer"),
    ("logits-flag", lambda: explain.saliency(mlp(), inputs(), logits="yes"), TypeError, "logits expected True or False"),
    ("absolute-flag", lambda: explain.saliency(mlp(), inputs(), absolute=1), TypeError, "absolute expected True or False"),
    ("logits-without-activation", lambda: explain.saliency(Sequential([layers.Dense(5, 2), layers.Flatten()]), inputs(),
                                                           logits=True), ValueError,
     "expected a last layer with an activation (Dense) for logits=True"),
]


@table(BAD)
def test_explain_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)
