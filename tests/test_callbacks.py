"""Tests for nnlib.callbacks: EarlyStopping against Keras's on recorded curves, inside fit,
restoring the best weights; the learning-rate range test; bad input."""
import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import callbacks, layers, optimizers
from nnlib.model import Sequential

import keras  # noqa: E402


class Recorder:
    """A stand-in model for driving callbacks by hand: weights are the epoch number."""

    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(1)]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.asarray(w).copy() for w in weights]


def drive(callback, curve, monitor="val_loss"):
    """Feed a recorded curve epoch by epoch; return the epoch after which training stopped."""
    model = Recorder()
    callback.set_model(model) if hasattr(callback, "set_model") else None
    callback.on_train_begin() if isinstance(callback, keras.callbacks.Callback) else callback.on_train_begin(model)
    last = len(curve) - 1
    for epoch, value in enumerate(curve):
        model.weights = [np.array([float(epoch)])]
        if isinstance(callback, keras.callbacks.Callback):
            callback.on_epoch_end(epoch, {monitor: value})
        else:
            callback.on_epoch_end(model, epoch, {monitor: value})
        if model.stop_training:
            last = epoch
            break
    callback.on_train_end() if isinstance(callback, keras.callbacks.Callback) else callback.on_train_end(model)
    return last, float(model.weights[0][0])


CURVES = {
    "dip then rise": [1.0, 0.8, 0.7, 0.72, 0.75, 0.71, 0.9, 1.0, 1.1],
    "plateau within min_delta": [1.0, 0.9, 0.899, 0.8985, 0.898, 0.897, 0.8965, 0.896],
    "never improves": [0.5, 0.6, 0.7, 0.8, 0.9],
    "noisy": list(np.random.default_rng(0).uniform(0.5, 1.0, 30)),
}
SETTINGS = [dict(patience=0), dict(patience=2), dict(patience=3, min_delta=0.002), dict(patience=1, baseline=0.75),
            dict(patience=2, start_from_epoch=2)]


@pytest.mark.parametrize("settings", SETTINGS, ids=[str(s) for s in SETTINGS])
@pytest.mark.parametrize("curve", CURVES)
def test_early_stopping_stops_and_restores_like_keras(curve, settings):
    ours = drive(callbacks.EarlyStopping(restore_best_weights=True, **settings), CURVES[curve])
    theirs = drive(keras.callbacks.EarlyStopping(restore_best_weights=True, **settings), CURVES[curve])
    assert ours == theirs


def test_early_stopping_in_max_mode_on_accuracy_like_keras():
    curve = [0.5, 0.6, 0.65, 0.64, 0.66, 0.66, 0.6, 0.55]
    ours = callbacks.EarlyStopping(monitor="val_accuracy", patience=2, restore_best_weights=True)
    assert ours.mode == "max"
    assert drive(ours, curve, "val_accuracy") == drive(
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=2, restore_best_weights=True), curve, "val_accuracy")


def test_early_stopping_inside_fit_restores_the_best_epoch_weights():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 5))
    y = x @ rng.standard_normal(5) + 0.5 * rng.standard_normal(40)
    x_val, y_val = x[:10] + 0.3 * rng.standard_normal((10, 5)), y[:10]
    model = Sequential([layers.Dense(5, 32, "tanh", rng=rng), layers.Dense(32, 1, rng=rng)])
    model.compile(loss="mse", optimizer=optimizers.SGD(0.05))
    snapshots = []

    class Snapshot(callbacks.Callback):
        def on_epoch_end(self, model, epoch, logs):
            snapshots.append(model.get_weights())

    stopper = callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    history = model.fit(x[10:], y[10:], epochs=200, batch_size=10, validation_data=(x_val, y_val), rng=rng,
                        callbacks=[Snapshot(), stopper])
    val_loss = history.history["val_loss"]
    assert len(val_loss) < 200 and stopper.stopped_epoch == len(val_loss) - 1
    assert stopper.best_epoch == int(np.argmin(val_loss))
    for restored, best in zip(model.get_weights(), snapshots[stopper.best_epoch], strict=True):
        np.testing.assert_array_equal(restored, best)
    assert model.evaluate(x_val, y_val)["loss"] == pytest.approx(min(val_loss), rel=1e-12)


def test_lr_range_test_grows_the_rate_stops_on_blow_up_and_leaves_the_model_alone():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((256, 4))
    y = (x[:, 0] > 0).astype(float)
    model = Sequential([layers.Dense(4, 16, "relu", rng=rng), layers.Dense(16, 1, "sigmoid", rng=rng)])
    model.compile(loss="binary_crossentropy", optimizer=optimizers.SGD(0.01))
    before = model.get_weights()
    rates, losses = callbacks.lr_range_test(model, x, y, min_lr=1e-4, max_lr=100.0, steps=80, batch_size=32, rng=rng)
    assert rates[0] == pytest.approx(1e-4) and np.all(np.diff(np.log(rates)) > 0)
    np.testing.assert_allclose(np.diff(np.log(rates)), np.log(1e6) / 79)
    assert len(rates) < 80  # the loss blew up before the largest rate
    assert np.min(losses) < losses[0] - 0.1  # somewhere in between it learned
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    assert model.optimizer.learning_rate == 0.01 and model.optimizer.iterations == 0


def test_callbacks_refuse_bad_arguments():
    with pytest.raises(ValueError, match=r"patience expected a non-negative integer\. Received: patience=-1"):
        callbacks.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match=r"mode expected one of \['auto', 'max', 'min'\]\. Received: mode='up'"):
        callbacks.EarlyStopping(mode="up")
    with pytest.raises(KeyError, match=r"EarlyStopping expected 'val_loss' in the logs\. Received: \['loss'\]"):
        callbacks.EarlyStopping().on_epoch_end(Recorder(), 0, {"loss": 1.0})
    model = Sequential([layers.Dense(2, 1)])
    model.compile(loss="mse", optimizer=optimizers.SGD())
    with pytest.raises(ValueError, match=r"lr_range_test expected min_lr < max_lr\. Received: min_lr=1\.0, max_lr=0\.1"):
        callbacks.lr_range_test(model, np.zeros((4, 2)), np.zeros(4), min_lr=1.0, max_lr=0.1)
