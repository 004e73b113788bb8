"""Tests for nnlib's focal loss and Sequential.fit(class_weight=...) (issue 13): values and
gradients equal to keras.losses.BinaryFocalCrossentropy and the tape, a float64 gradient
check, training equal to Keras's, and bad input."""
import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import gradcheck, keras_bridge, layers, losses, optimizers
from nnlib.model import Sequential

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from bad_input import check  # noqa: E402  (tests/bad_input.py)

OPTIONS = {
    "default": {},
    "gamma-0": {"gamma": 0.0},
    "gamma-half": {"gamma": 0.5},
    "balanced": {"apply_class_balancing": True, "alpha": 0.7},
    "smoothed": {"label_smoothing": 0.2, "gamma": 3.0},
}


def data(seed=0, n=12, width=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, (n, width)).astype(np.float64)
    z = 2.0 * rng.standard_normal((n, width))
    return y, z


def keras_value_and_gradient(y, y_pred, from_logits, sample_weight=None, **options):
    loss = keras.losses.BinaryFocalCrossentropy(from_logits=from_logits, dtype="float64", **options)
    y_pred = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = loss(tf.constant(y), y_pred, sample_weight=sample_weight)
    return float(value), tape.gradient(value, y_pred).numpy()


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("name", list(OPTIONS))
def test_focal_loss_and_gradient_equal_keras(name, from_logits):
    y, z = data()
    y_pred = z if from_logits else 1.0 / (1.0 + np.exp(-z))
    weights = np.random.default_rng(2).uniform(0, 2, len(y))
    for sample_weight in (None, weights):
        expected_value, expected_gradient = keras_value_and_gradient(y, y_pred, from_logits, sample_weight, **OPTIONS[name])
        loss = losses.BinaryFocalCrossentropy(from_logits=from_logits, **OPTIONS[name])
        assert loss(y, y_pred, sample_weight=sample_weight) == pytest.approx(expected_value, rel=1e-10)
        np.testing.assert_allclose(loss.gradient(y, y_pred, sample_weight=sample_weight), expected_gradient, rtol=1e-9, atol=1e-12)
        functional = losses.binary_focal_crossentropy(y, y_pred, from_logits=from_logits, sample_weight=sample_weight, **OPTIONS[name])
        assert functional == pytest.approx(expected_value, rel=1e-10)


@pytest.mark.parametrize("from_logits", [True, False])
def test_focal_gradient_passes_a_float64_gradient_check(from_logits):
    y, z = data(seed=3, n=6, width=2)
    y_pred = z if from_logits else 1.0 / (1.0 + np.exp(-z))
    options = {"gamma": 2.5, "apply_class_balancing": True, "alpha": 0.3, "label_smoothing": 0.1, "from_logits": from_logits}
    error = gradcheck.check_function(lambda p: losses.binary_focal_crossentropy(y, p, **options),
                                     lambda p: losses.binary_focal_crossentropy_gradient(y, p, **options), y_pred)
    assert error < 1e-7, error


def test_gamma_zero_is_the_binary_crossentropy():
    y, z = data(seed=4)
    assert losses.binary_focal_crossentropy(y, z, gamma=0.0, from_logits=True) == pytest.approx(
        losses.binary_crossentropy(y, z, from_logits=True), rel=1e-12)


def test_focal_factor_down_weights_easy_examples():
    y = np.array([[1.0], [1.0]])
    p = np.array([[0.9], [0.6]])   # an easy and a hard positive
    focal = losses.BinaryFocalCrossentropy(reduction="none")(y, p)
    bce = losses.BinaryCrossentropy(reduction="none")(y, p)
    np.testing.assert_allclose(focal / bce, [0.1 ** 2, 0.4 ** 2], rtol=1e-12)


def _pair(seed=0, loss=None):
    rng = np.random.default_rng(seed)
    model = Sequential([layers.Dense(4, 6, "tanh", rng=rng, dtype="float32"), layers.Dense(6, 1, "sigmoid", rng=rng, dtype="float32")])
    twin = keras_bridge.to_keras(model)
    model.compile(loss=loss, optimizer=optimizers.SGD(learning_rate=0.5))
    twin.compile(loss=keras.losses.get(loss) if isinstance(loss, str) else
                 keras.losses.BinaryFocalCrossentropy(gamma=2.0, apply_class_balancing=True, alpha=0.6),
                 optimizer=keras.optimizers.SGD(0.5))
    return model, twin


def _imbalanced(seed=5, n=48):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 1.0).astype(np.float32)[:, None]
    return x, y


def test_sequential_trained_with_the_focal_loss_equals_keras():
    x, y = _imbalanced()
    model, twin = _pair(loss=losses.BinaryFocalCrossentropy(gamma=2.0, apply_class_balancing=True, alpha=0.6))
    model.fit(x, y, epochs=4, batch_size=16, shuffle=False)
    twin.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def test_fit_with_class_weight_equals_keras():
    x, y = _imbalanced(seed=6)
    class_weight = {0: 1.0, 1: 5.0}
    model, twin = _pair(seed=1, loss="binary_crossentropy")
    model.fit(x, y, epochs=4, batch_size=16, shuffle=False, class_weight=class_weight)
    twin.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0, class_weight=class_weight)
    for ours, theirs in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    same, _ = _pair(seed=1, loss="binary_crossentropy")
    same.fit(x, y, epochs=4, batch_size=16, shuffle=False, sample_weight=losses.class_weight_to_sample_weight(y, class_weight))
    for ours, theirs in zip(model.get_weights(), same.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def _compiled():
    model = Sequential([layers.Dense(2, 1, "sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    return model


Y, P = np.array([[0.0], [1.0]]), np.array([[0.3], [0.8]])


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: losses.BinaryFocalCrossentropy(gamma=-1.0), ValueError, "gamma expected"),
    (lambda: losses.BinaryFocalCrossentropy(alpha=1.5), ValueError, "alpha expected"),
    (lambda: losses.BinaryFocalCrossentropy(apply_class_balancing="yes"), TypeError, "apply_class_balancing expected"),
    (lambda: losses.binary_focal_crossentropy(Y, P, from_logits=1), TypeError, "from_logits expected a bool. Received: 1"),
    (lambda: losses.binary_focal_crossentropy(Y, P, label_smoothing=2.0), ValueError, "label_smoothing expected"),
    (lambda: losses.binary_focal_crossentropy(Y, P[:1]), ValueError, "Received"),
    (lambda: losses.binary_focal_crossentropy_gradient([[np.nan], [1.0]], P), ValueError, "finite"),
    (lambda: _compiled().fit(np.ones((2, 2)), Y, class_weight={0: 1.0}, sample_weight=np.ones(2)), ValueError,
     "fit expected class_weight or sample_weight, not both (as in Keras). Received: both"),
    (lambda: _compiled().fit(np.ones((2, 2)), Y, class_weight=[1.0, 2.0]), TypeError, "class_weight expected a dict"),
])
def test_bad_input(call, error, fragment):
    check(call, error, fragment)
