"""The bad-input policy (CONTRIBUTING, "Bad input"), one parametrized table per nnlib module.

Every row calls a public entry point with something it must refuse and names the exception
type and a fragment of the message. Every message must also have nnlib's form, "... expected
... Received: ...", so that a reader sees what was wanted and what came, never NumPy's or
Keras's internals. The policy in short:

- data handed in (x, y, y_true, sample_weight, fitted arrays) must be numeric, non-empty,
  finite and of matching lengths;
- values computed during training (predictions, gradients, weights) may be inf or NaN
  (they are checked for type and shape only; test_model.py covers divergence);
- flags and parameters are validated, never coerced ("no" is not True).
"""
import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import (activations, autodiff, callbacks, clipping, datasets, gradcheck, initializers, keras_bridge, layers,
                   losses, objectives, optimizers, perceptron, plotting, preprocessing, regularizers, schedules, seeding,
                   timing)
from nnlib.model import Sequential, accuracy

import keras  # noqa: E402

from bad_input import check, table  # noqa: E402  (tests/bad_input.py)

NAN, INF = float("nan"), float("inf")
STRINGS = np.array(["a", "b"])
RAGGED = [[1.0], [1.0, 2.0]]
OBJECTS = np.array([1.0, None], dtype=object)


# --- activations ------------------------------------------------------------------------

ACTIVATIONS = [
    ("sigmoid-string", lambda: activations.sigmoid("abc"), TypeError, "z expected an array of numbers. Received: str"),
    ("relu-strings", lambda: activations.relu(STRINGS), TypeError, "z expected an array of numbers. Received: dtype=<U1"),
    ("tanh-ragged", lambda: activations.tanh(RAGGED), TypeError, "z expected an array of numbers. Received: list"),
    ("elu-objects", lambda: activations.elu(OBJECTS), TypeError, "Received: dtype=object"),
    ("selu-complex", lambda: activations.selu(np.array([1j])), TypeError, "z expected an array of real numbers"),
    ("leaky-relu-negative-slope", lambda: activations.leaky_relu(np.ones(2), negative_slope=-1), ValueError,
     "negative_slope expected a finite number >= 0. Received: negative_slope=-1.0"),
    ("leaky-relu-string-slope", lambda: activations.leaky_relu(np.ones(2), negative_slope="a"), TypeError,
     "negative_slope expected a real number. Received: 'a'"),
    ("leaky-relu-nan-slope", lambda: activations.leaky_relu(np.ones(2), negative_slope=NAN), ValueError,
     "negative_slope expected a finite number >= 0. Received: negative_slope=nan"),
    ("elu-negative-alpha", lambda: activations.elu(np.ones(2), alpha=-1), ValueError, "alpha expected a finite number > 0. Received: alpha=-1.0"),
    ("elu-bool-alpha", lambda: activations.elu(np.ones(2), alpha=True), TypeError, "alpha expected a real number. Received: True"),
    ("gelu-string-flag", lambda: activations.gelu(np.ones(2), approximate="yes"), TypeError,
     "approximate expected True or False. Received: 'yes'"),
    ("softmax-empty-axis", lambda: activations.softmax(np.zeros((2, 0))), ValueError,
     "softmax expected at least one value along axis -1. Received: z.shape=(2, 0)"),
    ("softmax-float-axis", lambda: activations.softmax(np.ones((2, 3)), axis=1.5), TypeError, "axis expected an integer. Received: axis=1.5"),
    ("softmax-axis-out-of-range", lambda: activations.softmax(np.ones((2, 3)), axis=2), ValueError,
     "axis expected an integer in [-2, 2) for an array with ndim=2. Received: axis=2"),
    ("softmax-scalar", lambda: activations.softmax(1.0), ValueError, "z expected an array with at least 1 dimensions. Received: z.shape=()"),
    ("get-unknown", lambda: activations.get("mish"), ValueError, "activation expected one of ["),
    ("get-number", lambda: activations.get(3), TypeError, "activation expected one of ["),
    ("leaky-class-negative", lambda: activations.LeakyReLU(-0.1), ValueError, "negative_slope expected a finite number >= 0"),
    ("elu-class-zero", lambda: activations.ELU(0), ValueError, "alpha expected a finite number > 0. Received: alpha=0.0"),
    ("gelu-class-int-flag", lambda: activations.GELU(1), TypeError, "approximate expected True or False. Received: 1"),
    ("backward-shapes", lambda: activations.Tanh().backward(np.ones(3), np.ones(2)), ValueError,
     "tanh.backward expected dout.shape == z.shape. Received: z.shape=(3,), dout.shape=(2,)"),
    ("backward-strings", lambda: activations.ReLU().backward(np.ones(2), STRINGS), TypeError, "dout expected an array of numbers"),
    ("softmax-derivative", lambda: activations.Softmax().derivative(np.ones(3)), TypeError, "softmax has none"),
]


@table(ACTIVATIONS)
def test_activations_refuse_bad_input(call, error, fragment):
    check(call, error, fragment)


# --- losses -----------------------------------------------------------------------------

Y, P = np.array([[1.0], [0.0]]), np.array([[0.7], [0.2]])
LOSSES = [
    ("mse-empty", lambda: losses.mean_squared_error(np.zeros((0, 1)), np.zeros((0, 1))), ValueError,
     "y_pred expected a non-empty array. Received: y_pred.shape=(0, 1)"),
    ("mse-no-outputs", lambda: losses.mean_squared_error(np.zeros((3, 0)), np.zeros((3, 0))), ValueError,
     "y_pred expected a non-empty array. Received: y_pred.shape=(3, 0)"),
    ("bce-nan-label", lambda: losses.binary_crossentropy([[NAN], [0.0]], P), ValueError,
     "y_true expected finite values. Received: y_true with 1 NaN or inf value"),
    ("cce-inf-label", lambda: losses.categorical_crossentropy([[INF, 0.0]], [[0.5, 0.5]]), ValueError, "y_true expected finite values"),
    ("sparse-nan-label", lambda: losses.sparse_categorical_crossentropy([NAN, 1.0], np.full((2, 2), 0.5)), ValueError,
     "y_true expected finite values"),
    ("sparse-empty", lambda: losses.sparse_categorical_crossentropy(np.zeros(0), np.zeros((0, 3))), ValueError,
     "y_pred expected a non-empty array. Received: y_pred.shape=(0, 3)"),
    ("mae-strings", lambda: losses.mean_absolute_error(STRINGS, np.ones(2)), TypeError, "y_true expected an array of numbers. Received: dtype=<U1"),
    ("hinge-objects", lambda: losses.hinge(np.ones(2), OBJECTS), TypeError, "y_pred expected an array of numbers. Received: dtype=object"),
    ("kld-ragged", lambda: losses.kl_divergence(RAGGED, np.ones(2)), TypeError, "y_true expected an array of numbers. Received: list"),
    ("mse-lengths", lambda: losses.mean_squared_error(np.zeros((3, 1)), np.zeros((2, 1))), ValueError,
     "mean_squared_error expected y_true and y_pred of the same shape. Received: y_true.shape=(3, 1), y_pred.shape=(2, 1)"),
    ("sparse-lengths", lambda: losses.sparse_categorical_crossentropy([0, 1, 1], np.full((2, 2), 0.5)), ValueError,
     "expected one label per row of y_pred"),
    ("sample-weight-nan", lambda: losses.binary_crossentropy(Y, P, sample_weight=[1.0, NAN]), ValueError,
     "sample_weight expected finite values. Received: sample_weight with 1 NaN or inf value"),
    ("sample-weight-negative", lambda: losses.BinaryCrossentropy()(Y, P, sample_weight=[1.0, -1.0]), ValueError,
     "binary_crossentropy expected sample weights >= 0. Received: min(sample_weight)=-1.0"),
    ("sample-weight-length", lambda: losses.MeanSquaredError()(Y, P, sample_weight=[1.0, 2.0, 3.0]), ValueError,
     "mean_squared_error expected sample_weight of shape (2,) (one weight per sample) or a scalar. Received: sample_weight.shape=(3,)"),
    ("sample-weight-one-sample", lambda: losses.mean_squared_error(np.ones(3), np.ones(3), sample_weight=np.ones(3)), ValueError,
     "expected a scalar sample_weight: a 1-D y_pred is one sample"),
    ("sample-weight-strings", lambda: losses.hinge_gradient(Y, P, sample_weight=STRINGS), TypeError, "sample_weight expected an array of numbers"),
    ("smoothing-too-large", lambda: losses.BinaryCrossentropy(label_smoothing=1.5), ValueError,
     "label_smoothing expected a number in [0, 1]. Received: label_smoothing=1.5"),
    ("smoothing-string", lambda: losses.categorical_crossentropy([[1.0, 0.0]], [[0.5, 0.5]], label_smoothing="0.1"), TypeError,
     "label_smoothing expected a real number. Received: label_smoothing='0.1'"),
    ("smoothing-nan", lambda: losses.CategoricalCrossentropy(label_smoothing=NAN), ValueError,
     "label_smoothing expected a finite number. Received: label_smoothing=nan"),
    ("from-logits-string", lambda: losses.binary_crossentropy(Y, P, from_logits="yes"), TypeError,
     "from_logits expected a bool. Received: 'yes'"),
    ("reduction-unknown", lambda: losses.Hinge(reduction="mean_of_means"), ValueError, "reduction expected one of"),
    ("huber-delta", lambda: losses.huber(Y, P, delta=0), ValueError, "delta expected a finite number > 0. Received: delta=0.0"),
    ("get-none", lambda: losses.get(None), TypeError, "loss expected one of ["),
    ("sparse-non-integer", lambda: losses.sparse_categorical_crossentropy([0.5, 1.0], np.full((2, 2), 0.5)), ValueError,
     "expected integer class labels in y_true. Received: non-integer values"),
]


@table(LOSSES)
def test_losses_refuse_bad_input(call, error, fragment):
    check(call, error, fragment)


def test_losses_accept_diverged_predictions():
    """y_pred is a computed value: NaN/inf give a NaN/inf loss, as in Keras, not an error."""
    assert np.isnan(losses.mean_squared_error(np.zeros((2, 1)), np.array([[NAN], [0.0]])))
    assert np.isinf(losses.mean_squared_error(np.zeros((2, 1)), np.array([[INF], [0.0]])))
    assert np.isnan(losses.binary_crossentropy([[1.0]], [[NAN]], from_logits=True))


# --- metrics and the model ----------------------------------------------------------------

def small_model(loss="mse", **compile_options):
    model = Sequential([layers.Dense(2, 1, rng=np.random.default_rng(0))])
    model.compile(loss=loss, optimizer=optimizers.SGD(0.1), **compile_options)
    return model


X, T = np.ones((4, 2)), np.zeros((4, 1))
MODEL = [
    ("fit-nan-x", lambda: small_model().fit(np.where(X > 0, NAN, X), T), ValueError, "x expected finite values. Received: x with 8 NaN or inf values"),
    ("fit-inf-y", lambda: small_model().fit(X, np.full((4, 1), INF)), ValueError, "y expected finite values. Received: y with 4 NaN or inf values"),
    ("fit-empty", lambda: small_model().fit(np.zeros((0, 2)), np.zeros((0, 1))), ValueError, "x expected a non-empty array. Received: x.shape=(0, 2)"),
    ("fit-strings", lambda: small_model().fit(X, np.array(["a"] * 4)), TypeError, "y expected an array of numbers. Received: dtype=<U1"),
    ("fit-objects", lambda: small_model().fit(np.array([[1.0, None]] * 4, dtype=object), T), TypeError, "x expected an array of numbers. Received: dtype=object"),
    ("fit-lengths", lambda: small_model().fit(X, T[:3]), ValueError, "fit expected as many targets as inputs. Received: x has 4 rows, y has 3"),
    ("fit-sample-weight-length", lambda: small_model().fit(X, T, sample_weight=np.ones(3)), ValueError,
     "fit expected one sample weight per input. Received: x has 4 rows, sample_weight has 3"),
    ("fit-sample-weight-negative", lambda: small_model().fit(X, T, sample_weight=-np.ones(4)), ValueError,
     "fit expected sample weights >= 0. Received: min(sample_weight)=-1.0"),
    ("fit-sample-weight-nan", lambda: small_model().fit(X, T, sample_weight=np.full(4, NAN)), ValueError, "sample_weight expected finite values"),
    ("fit-shuffle-string", lambda: small_model().fit(X, T, shuffle="no"), TypeError, "shuffle expected True or False. Received: 'no'"),
    ("fit-epochs-zero", lambda: small_model().fit(X, T, epochs=0), ValueError, "epochs expected a positive integer. Received: epochs=0"),
    ("fit-batch-size-float", lambda: small_model().fit(X, T, batch_size=2.0), TypeError, "batch_size expected a positive integer. Received: 2.0"),
    ("fit-rng-int", lambda: small_model().fit(X, T, rng=1), TypeError, "rng expected a numpy.random.Generator"),
    ("fit-validation-single", lambda: small_model().fit(X, T, validation_data=X), TypeError,
     "validation_data expected a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val). Received: ndarray"),
    ("fit-validation-nan", lambda: small_model().fit(X, T, validation_data=(X, np.full((4, 1), NAN))), ValueError, "y expected finite values"),
    ("fit-validation-lengths", lambda: small_model().fit(X, T, validation_data=(X, T[:2])), ValueError,
     "validation_data expected as many targets as inputs. Received: x has 4 rows, y has 2"),
    ("fit-callback-function", lambda: small_model().fit(X, T, callbacks=[print]), TypeError,
     "callbacks expected nnlib callbacks (subclasses of nnlib.callbacks.Callback). Received: builtin_function_or_method at position 0"),
    ("fit-callbacks-not-a-list", lambda: small_model().fit(X, T, callbacks="early"), TypeError, "callbacks expected a list of nnlib callbacks. Received: str"),
    ("evaluate-nan", lambda: small_model().evaluate(X, np.full((4, 1), NAN)), ValueError, "y expected finite values"),
    ("evaluate-empty", lambda: small_model().evaluate(np.zeros((0, 2)), np.zeros((0, 1))), ValueError, "x expected a non-empty array"),
    ("evaluate-lengths", lambda: small_model().evaluate(X, T[:1]), ValueError, "evaluate expected as many targets as inputs"),
    ("predict-nan", lambda: small_model().predict(np.full((2, 2), NAN)), ValueError, "x expected finite values"),
    ("predict-empty", lambda: small_model().predict(np.zeros((0, 2))), ValueError, "x expected a non-empty array. Received: x.shape=(0, 2)"),
    ("predict-strings", lambda: small_model().predict(STRINGS), TypeError, "x expected an array of numbers"),
    ("predict-batch-size", lambda: small_model().predict(X, batch_size=-1), ValueError, "batch_size expected a positive integer. Received: batch_size=-1"),
    ("predict-shape", lambda: small_model().predict(np.ones((3, 3))), ValueError, "expected input of shape (batch, 2). Received: x.shape=(3, 3)"),
    ("train-step-nan", lambda: small_model().train_step(X, np.full((4, 1), NAN)), ValueError, "y expected finite values"),
    ("train-step-lengths", lambda: small_model().train_step(X, T[:2]), ValueError, "train_step expected as many targets as inputs"),
    ("compute-gradients-empty", lambda: small_model().compute_gradients(np.zeros((0, 2)), np.zeros((0, 1))), ValueError, "x expected a non-empty array"),
    ("compute-gradients-lengths", lambda: small_model().compute_gradients(np.zeros((4, 3)), np.zeros(3)), ValueError,
     "compute_gradients expected as many targets as inputs. Received: x has 4 rows, y has 3"),
    ("set-weights-strings", lambda: small_model().set_weights([STRINGS, np.zeros(1)]), TypeError,
     "dense.set_weights kernel expected an array of numbers. Received: dtype=<U1"),
    ("set-weights-count", lambda: small_model().set_weights([np.zeros((2, 1))]), ValueError, "set_weights expected 2 arrays. Received: 1"),
    ("sequential-empty", lambda: Sequential([]), ValueError, "Sequential expected at least one layer. Received: an empty list"),
    ("sequential-not-layers", lambda: Sequential([layers.Dense(2, 2), "relu"]), TypeError, "Sequential expected nnlib layers. Received: str at position 1"),
    ("compile-metric", lambda: small_model(metrics=["auc"]), ValueError, "metrics expected only 'accuracy'. Received: 'auc'"),
    ("compile-metrics-number", lambda: small_model(metrics=3), TypeError, "metrics expected a list of metric names. Received: int"),
    ("compile-optimizer", lambda: small_model().compile(optimizer="adadelta"), ValueError, "optimizer expected an nnlib Optimizer or one of"),
    ("gradient-norms-key", lambda: small_model().gradient_norms("gamma"), ValueError, "gradient_norms expected layers with a parameter 'gamma'"),
    ("accuracy-nan-labels", lambda: accuracy([NAN, 1.0], [0.2, 0.9]), ValueError, "y_true expected finite values"),
    ("accuracy-empty", lambda: accuracy([], []), ValueError, "accuracy expected at least one prediction. Received: y_pred.shape=(0,)"),
    ("accuracy-lengths", lambda: accuracy([1.0, 0.0, 1.0], [0.2, 0.9]), ValueError,
     "accuracy expected one label per prediction. Received: y_true.shape=(3,), y_pred.shape=(2,)"),
    ("accuracy-strings", lambda: accuracy(["a", "b"], [0.2, 0.9]), TypeError, "y_true expected an array of numbers"),
    ("accuracy-weights", lambda: accuracy([1.0, 0.0], [0.2, 0.9], sample_weight=[1.0]), ValueError,
     "accuracy expected one sample weight per prediction. Received: sample_weight.shape=(1,), y_pred.shape=(2,)"),
]


@table(MODEL)
def test_model_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)


# --- layers ------------------------------------------------------------------------------

LAYERS = [
    ("dense-units-zero", lambda: layers.Dense(2, 0), ValueError, "units expected a positive integer. Received: units=0"),
    ("dense-in-features-float", lambda: layers.Dense(2.0, 1), TypeError, "in_features expected a positive integer. Received: 2.0"),
    ("dense-use-bias-string", lambda: layers.Dense(2, 1, use_bias="no"), TypeError, "use_bias expected True or False. Received: 'no'"),
    ("dense-use-bias-int", lambda: layers.Dense(2, 1, use_bias=0), TypeError, "use_bias expected True or False. Received: 0"),
    ("dense-dtype-unknown", lambda: layers.Dense(2, 1, dtype="abc"), ValueError, "dtype expected 'float32' or 'float64'. Received: dtype='abc'"),
    ("dense-dtype-int", lambda: layers.Dense(2, 1, dtype="int32"), ValueError, "dtype expected 'float32' or 'float64'. Received: dtype='int32'"),
    ("dense-activation-number", lambda: layers.Dense(2, 1, activation=3), TypeError, "activation expected one of ["),
    ("dense-initializer-unknown", lambda: layers.Dense(2, 1, kernel_initializer="uniformish"), ValueError, "initializer expected one of ["),
    ("dense-regularizer-unknown", lambda: layers.Dense(2, 1, kernel_regularizer="l3"), ValueError, "regularizer expected None, an nnlib Regularizer"),
    ("dense-name-number", lambda: layers.Dense(2, 1, name=3), TypeError, "name expected a string or None. Received: name=3"),
    ("dense-forward-strings", lambda: layers.Dense(2, 1).forward(STRINGS), TypeError, "x expected an array of numbers"),
    ("dense-forward-shape", lambda: layers.Dense(2, 1).forward(np.ones((3, 4))), ValueError,
     "Dense layer 'dense' expected input of shape (batch, 2). Received: x.shape=(3, 4)"),
    ("dense-set-weights-strings", lambda: layers.Dense(2, 1).set_weights([np.array([["a"], ["b"]]), np.zeros(1)]), TypeError,
     "dense.set_weights kernel expected an array of numbers. Received: dtype=<U1"),
    ("dense-set-weights-array", lambda: layers.Dense(2, 1).set_weights(np.zeros((2, 1))), TypeError,
     "dense.set_weights expected a list of arrays. Received: ndarray"),
    ("dense-set-weights-shape", lambda: layers.Dense(2, 1).set_weights([np.zeros((1, 2)), np.zeros(1)]), ValueError,
     "dense.set_weights expected kernel of shape (2, 1). Received: shape=(1, 2)"),
    ("dense-backward-before-forward", lambda: layers.Dense(2, 1).backward(np.ones((1, 1))), RuntimeError, ""),
    ("activation-unknown", lambda: layers.Activation("mish"), ValueError, "activation expected one of ["),
    ("dropout-rate-one", lambda: layers.Dropout(1.0), ValueError, "rate expected a number in [0, 1) (the fraction of units dropped). Received: rate=1.0"),
    ("dropout-rate-string", lambda: layers.Dropout("0.5"), TypeError, "rate expected a number in [0, 1). Received: '0.5'"),
    ("dropout-rng", lambda: layers.Dropout(0.5, rng=3), TypeError, "rng expected a numpy.random.Generator"),
    ("batch-norm-empty-batch", lambda: layers.BatchNormalization(3).forward(np.zeros((0, 3)), training=True), ValueError,
     "BatchNormalization layer 'batchnormalization' expected at least one example in training mode. Received: x.shape=(0, 3)"),
    ("batch-norm-shape", lambda: layers.BatchNormalization(3).forward(np.zeros((2, 4))), ValueError,
     "expected input of shape (batch, ..., 3). Received: x.shape=(2, 4)"),
    ("batch-norm-center-int", lambda: layers.BatchNormalization(3, center=1), TypeError, "center expected True or False. Received: 1"),
    ("batch-norm-momentum", lambda: layers.BatchNormalization(3, momentum=1.5), ValueError, "momentum expected a number in [0, 1]. Received: momentum=1.5"),
    ("batch-norm-dtype", lambda: layers.BatchNormalization(3, dtype="float16"), ValueError, "dtype expected 'float32' or 'float64'. Received: dtype='float16'"),
    ("batch-norm-set-weights-strings", lambda: layers.BatchNormalization(2).set_weights([STRINGS] * 4), TypeError,
     "batchnormalization.set_weights gamma expected an array of numbers"),
    ("batch-norm-negative-variance", lambda: layers.BatchNormalization(2).set_weights([np.ones(2), np.zeros(2), np.zeros(2), -np.ones(2)]),
     ValueError, "set_weights expected moving_variance >= 0. Received: min=-1.0"),
]


@table(LAYERS)
def test_layers_refuse_bad_input(call, error, fragment):
    if error is RuntimeError:  # misuse, not bad input: a plain message
        with pytest.raises(RuntimeError, match=r"backward called before forward"):
            call()
        return
    check(call, error, fragment)


# --- callbacks ---------------------------------------------------------------------------

CALLBACKS = [
    ("restore-string", lambda: callbacks.EarlyStopping(restore_best_weights="no"), TypeError,
     "restore_best_weights expected True or False. Received: 'no'"),
    ("baseline-string", lambda: callbacks.EarlyStopping(baseline="0.5"), TypeError, "baseline expected a real number. Received: baseline='0.5'"),
    ("baseline-text", lambda: callbacks.EarlyStopping(baseline="abc"), TypeError, "baseline expected a real number. Received: baseline='abc'"),
    ("baseline-nan", lambda: callbacks.EarlyStopping(baseline=NAN), ValueError, "baseline expected a finite number. Received: baseline=nan"),
    ("patience-negative", lambda: callbacks.EarlyStopping(patience=-1), ValueError, "patience expected a non-negative integer. Received: patience=-1"),
    ("min-delta-negative", lambda: callbacks.EarlyStopping(min_delta=-0.1), ValueError, "min_delta expected a finite number >= 0"),
    ("mode-unknown", lambda: callbacks.EarlyStopping(mode="up"), ValueError, "mode expected one of ['auto', 'max', 'min']. Received: mode='up'"),
    ("monitor-number", lambda: callbacks.EarlyStopping(monitor=3), TypeError, "monitor expected the name of a logged quantity. Received: 3"),
    ("terminate-flag", lambda: callbacks.TerminateOnNaN(raise_error="no"), TypeError, "raise_error expected True or False. Received: 'no'"),
    ("range-test-nan", lambda: callbacks.lr_range_test(small_model(), X, np.full((4, 1), NAN)), ValueError, "y expected finite values"),
    ("range-test-lengths", lambda: callbacks.lr_range_test(small_model(), X, T[:2]), ValueError,
     "lr_range_test expected as many targets as inputs. Received: x has 4 rows, y has 2"),
    ("range-test-rates", lambda: callbacks.lr_range_test(small_model(), X, T, min_lr=1.0, max_lr=0.1), ValueError,
     "lr_range_test expected min_lr < max_lr. Received: min_lr=1.0, max_lr=0.1"),
    ("range-test-model", lambda: callbacks.lr_range_test("model", X, T), TypeError, "lr_range_test expected an nnlib Sequential. Received: str"),
]


@table(CALLBACKS)
def test_callbacks_refuse_bad_input(call, error, fragment):
    check(call, error, fragment)


# --- optimizers, schedules, clipping, regularizers, initializers ------------------------

OPTIMIZERS = [
    ("learning-rate-zero", lambda: optimizers.SGD(0), ValueError, "learning_rate expected a finite number > 0. Received: learning_rate=0.0"),
    ("learning-rate-string", lambda: optimizers.Adam("0.1"), TypeError, "learning_rate expected a real number. Received: '0.1'"),
    ("momentum-one", lambda: optimizers.SGD(momentum=1.0), ValueError, "momentum expected a number in [0, 1). Received: momentum=1.0"),
    ("nesterov-string", lambda: optimizers.SGD(nesterov="yes"), TypeError, "nesterov expected True or False. Received: 'yes'"),
    ("amsgrad-int", lambda: optimizers.Adam(amsgrad=1), TypeError, "amsgrad expected True or False. Received: 1"),
    ("beta-nan", lambda: optimizers.Adam(beta_1=NAN), ValueError, "beta_1 expected a finite number >= 0. Received: beta_1=nan"),
    ("two-clips", lambda: optimizers.SGD(clipnorm=1.0, clipvalue=1.0), ValueError, "Optimizer expected at most one of clipnorm, clipvalue and global_clipnorm"),
    ("adamw-none", lambda: optimizers.AdamW(weight_decay=None), TypeError, "weight_decay expected a real number (AdamW always decays the weights). Received: None"),
    ("step-counts", lambda: optimizers.SGD().step([np.ones(2)], []), ValueError, "step expected one gradient per parameter. Received: 1 parameters, 0 gradients"),
    ("step-not-arrays", lambda: optimizers.SGD().step([[1.0, 2.0]], [np.ones(2)]), TypeError,
     "step expected numpy arrays as parameters (updated in place). Received: list"),
    ("step-int-params", lambda: optimizers.SGD().step([np.ones(2, dtype=int)], [np.ones(2)]), TypeError,
     "step expected floating-point parameters. Received: parameter 0 of dtype=int64"),
    ("step-string-gradient", lambda: optimizers.SGD().step([np.ones(2)], [STRINGS]), TypeError, "grads[0] expected an array of numbers"),
    ("step-gradient-shape", lambda: optimizers.SGD().step([np.ones(2)], [np.ones(3)]), ValueError,
     "step expected gradient 0 of shape (2,). Received: shape=(3,)"),
    ("get-number", lambda: optimizers.get(3), TypeError, "optimizer expected an nnlib Optimizer or one of"),
]
SCHEDULES = [
    ("decay-steps-zero", lambda: schedules.ExponentialDecay(0.1, 0, 0.5), ValueError, "decay_steps expected an integer > 0. Received: decay_steps=0"),
    ("staircase-string", lambda: schedules.ExponentialDecay(0.1, 10, 0.5, staircase="no"), TypeError, "staircase expected True or False. Received: 'no'"),
    ("boundaries-decreasing", lambda: schedules.PiecewiseConstantDecay([10, 5], [0.1, 0.01, 0.001]), ValueError,
     "boundaries expected strictly increasing numbers. Received: boundaries=[10.0, 5.0]"),
    ("values-count", lambda: schedules.PiecewiseConstantDecay([10], [0.1]), ValueError, "values expected one more element than boundaries"),
    ("boundaries-string", lambda: schedules.PiecewiseConstantDecay("10", [0.1, 0.01]), TypeError, "boundaries expected a list of numbers. Received: '10'"),
    ("cosine-warmup-steps", lambda: schedules.CosineDecay(0.1, 10, warmup_steps=-1), ValueError,
     "warmup_steps expected an integer >= 0. Received: warmup_steps=-1"),
    ("step-negative", lambda: schedules.ExponentialDecay(0.1, 10, 0.5)(-1), ValueError, "step expected a finite number >= 0. Received: step=-1.0"),
    ("step-string", lambda: schedules.ExponentialDecay(0.1, 10, 0.5)("3"), TypeError, "step expected a non-negative number"),
]
CLIPPING = [
    ("not-a-list", lambda: clipping.clip_by_value(np.ones(3), 1.0), TypeError, "grads expected a list of arrays. Received: ndarray"),
    ("strings", lambda: clipping.clip_by_norm([STRINGS], 1.0), TypeError, "grads[0] expected an array of numbers"),
    ("clip-zero", lambda: clipping.clip_by_global_norm([np.ones(2)], 0.0), ValueError, "clip_norm expected a finite number > 0. Received: clip_norm=0.0"),
    ("clip-string", lambda: clipping.clip_by_value([np.ones(2)], "1"), TypeError, "clip_value expected a real number. Received: '1'"),
    ("global-norm-objects", lambda: clipping.global_norm([OBJECTS]), TypeError, "grads[0] expected an array of numbers. Received: dtype=object"),
]
REGULARIZERS = [
    ("l1-negative", lambda: regularizers.L1(-0.1), ValueError, "l1 expected a finite number >= 0. Received: l1=-0.1"),
    ("l2-string", lambda: regularizers.L2("0.1"), TypeError, "l2 expected a non-negative real number. Received: '0.1'"),
    ("l1l2-nan", lambda: regularizers.L1L2(l2=NAN), ValueError, "l2 expected a finite number >= 0. Received: l2=nan"),
    ("penalty-strings", lambda: regularizers.L2()(STRINGS), TypeError, "weights expected an array of numbers"),
    ("soft-threshold-negative", lambda: regularizers.soft_threshold(np.ones(2), -1.0), ValueError, "threshold expected a finite number >= 0"),
    ("proximal-rate", lambda: regularizers.L1().proximal(np.ones(2), 0.0), ValueError, "learning_rate expected a finite number > 0"),
    ("get-function", lambda: regularizers.get(abs), TypeError, "regularizer expected None, an nnlib Regularizer or one of"),
]
INITIALIZERS = [
    ("shape-zero", lambda: initializers.glorot_uniform((0, 3)), ValueError, "shape expected a tuple of positive integers. Received: shape=(0, 3)"),
    ("shape-float", lambda: initializers.he_normal((2.5, 3)), TypeError, "shape expected a tuple of positive integers. Received: (2.5, 3)"),
    ("shape-string", lambda: initializers.zeros("ab"), TypeError, "shape expected a tuple of positive integers"),
    ("rng-int", lambda: initializers.random_normal((2, 2), 3), TypeError, "rng expected a numpy.random.Generator"),
    ("stddev-negative", lambda: initializers.random_normal((2, 2), stddev=-1.0), ValueError, "stddev expected a finite number > 0"),
    ("constant-string", lambda: initializers.constant("a"), TypeError, "constant expected a finite real value. Received: 'a'"),
    ("constant-nan", lambda: initializers.constant(NAN), TypeError, "constant expected a finite real value. Received: nan"),
    ("get-unknown", lambda: initializers.get("uniformish"), ValueError, "initializer expected one of ["),
]


@table(OPTIMIZERS)
def test_optimizers_refuse_bad_input(call, error, fragment):
    check(call, error, fragment)


@table(SCHEDULES)
def test_schedules_refuse_bad_input(call, error, fragment):
    check(call, error, fragment)


@table(CLIPPING)
def test_clipping_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)


@table(REGULARIZERS)
def test_regularizers_refuse_bad_input(call, error, fragment):
    check(call, error, fragment)


@table(INITIALIZERS)
def test_initializers_refuse_bad_input(call, error, fragment):
    check(call, error, fragment)


# --- preprocessing and the perceptron -------------------------------------------------------

def fitted():
    return preprocessing.Standardizer().fit(np.array([[1.0, 2.0], [3.0, 5.0]]))


PREPROCESSING = [
    ("fit-empty", lambda: preprocessing.Standardizer().fit(np.zeros((0, 2))), ValueError,
     "Standardizer.fit expected at least one value per statistic. Received: x.shape=(0, 2)"),
    ("fit-nan", lambda: preprocessing.Standardizer().fit(np.array([[1.0, NAN]])), ValueError, "x expected finite values. Received: x with 1 NaN or inf value"),
    ("fit-strings", lambda: preprocessing.Standardizer().fit(STRINGS), TypeError, "x expected an array of numbers"),
    ("transform-nan", lambda: fitted().transform(np.array([[NAN, 1.0]])), ValueError, "x expected finite values. Received: x with 1 NaN or inf value"),
    ("transform-inf", lambda: fitted().transform(np.array([[INF, 1.0]])), ValueError, "x expected finite values"),
    ("transform-empty", lambda: fitted().transform(np.zeros((0, 2))), ValueError, "x expected a non-empty array. Received: x.shape=(0, 2)"),
    ("transform-shape", lambda: fitted().transform(np.ones((2, 3))), ValueError,
     "Standardizer.transform expected an array of shape (..., 2), like the fitted data. Received: x.shape=(2, 3)"),
    ("inverse-nan", lambda: fitted().inverse_transform(np.array([[NAN, 1.0]])), ValueError, "z expected finite values"),
    ("axis-float", lambda: preprocessing.Standardizer(axis=1.5), TypeError, "axis expected an int, a tuple of ints or None. Received: 1.5"),
    ("axis-out-of-range", lambda: preprocessing.Standardizer(axis=3).fit(np.ones((2, 2))), ValueError,
     "Standardizer.fit expected axis values in [-ndim, ndim) = [-2, 2). Received: axis=(3,) for an array with ndim=2"),
    ("epsilon-zero", lambda: preprocessing.Standardizer(epsilon=0.0), ValueError, "epsilon expected a finite number > 0. Received: epsilon=0.0"),
]
PERCEPTRON = [
    ("fit-nan", lambda: perceptron.Perceptron().fit(np.array([[NAN, 0.0], [1.0, 1.0]]), [0, 1]), ValueError, "X expected finite values"),
    ("fit-empty", lambda: perceptron.Perceptron().fit(np.zeros((0, 2)), np.zeros(0)), ValueError, "X expected a non-empty array. Received: X.shape=(0, 2)"),
    ("fit-labels", lambda: perceptron.Perceptron().fit(np.ones((2, 2)), [0, 2]), ValueError, "y expected labels in {0, 1} or {-1, 1}. Received: [0, 2]"),
    ("fit-nan-labels", lambda: perceptron.Perceptron().fit(np.ones((2, 2)), [0, NAN]), ValueError, "y expected finite values"),
    ("fit-string-labels", lambda: perceptron.Perceptron().fit(np.ones((2, 2)), ["a", "b"]), TypeError, "y expected an array of numbers"),
    ("fit-lengths", lambda: perceptron.Perceptron().fit(np.ones((3, 2)), [0, 1]), ValueError,
     "fit expected one label per row of X. Received: X.shape=(3, 2), 2 labels"),
    ("shuffle-string", lambda: perceptron.Perceptron(shuffle="no"), TypeError, "shuffle expected True or False. Received: 'no'"),
    ("learning-rate", lambda: perceptron.Perceptron(learning_rate=0), ValueError, "learning_rate expected a finite number > 0"),
    ("rng-int", lambda: perceptron.Perceptron(shuffle=True, rng=3), TypeError, "rng expected a numpy.random.Generator"),
    ("decision-nan", lambda: perceptron.Perceptron().fit(np.eye(2), [0, 1]).decision_function(np.array([[NAN, 0.0]])), ValueError,
     "X expected finite values"),
    ("decision-columns", lambda: perceptron.Perceptron().fit(np.eye(2), [0, 1]).predict(np.ones((1, 3))), ValueError,
     "expected X with 2 columns. Received: X.shape=(1, 3)"),
    ("novikoff-not-separating", lambda: perceptron.novikoff_bound(np.eye(2), [0, 1], np.array([1.0, -1.0]), 0.0), ValueError,
     "novikoff_bound expected a hyperplane that separates the data. Received: margin="),
    ("novikoff-nan", lambda: perceptron.novikoff_bound(np.array([[NAN, 0.0]]), [1], np.ones(2), 0.0), ValueError, "X expected finite values"),
]


@table(PREPROCESSING)
def test_preprocessing_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)


@table(PERCEPTRON)
def test_perceptron_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)


# --- keras_bridge ---------------------------------------------------------------------------

KERAS_BRIDGE = [
    ("to-keras-step", lambda: keras_bridge.to_keras(Sequential([layers.Dense(2, 1), layers.Activation("step")])), ValueError,
     "to_keras expected activations Keras has (["),
    ("to-keras-dense-step", lambda: keras_bridge.to_keras(Sequential([layers.Dense(2, 1, "step")])), ValueError,
     "Received: Activation('step') in Dense(2, 1, activation='step')"),
    ("to-keras-not-a-model", lambda: keras_bridge.to_keras(layers.Dense(2, 2)), TypeError, "to_keras expected an nnlib Sequential. Received: Dense"),
    ("to-keras-dtype", lambda: keras_bridge.to_keras(small_model(), dtype="float16"), ValueError,
     "to_keras expected dtype 'float32' or 'float64'. Received: dtype='float16'"),
    ("from-keras-not-a-model", lambda: keras_bridge.from_keras(small_model()), TypeError, "from_keras expected a Keras model. Received: Sequential"),
    ("from-keras-unknown-activation", lambda: keras_bridge.from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="mish")])),
     ValueError, "from_keras expected activations nnlib has (["),
    ("from-keras-activity", lambda: keras_bridge.from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activity_regularizer="l1")])),
     ValueError, "from_keras expected layers without activity_regularizer (nnlib has none)"),
    ("copy-weights-types", lambda: keras_bridge.copy_weights(small_model(), "model"), TypeError,
     "copy_weights expected nnlib Sequential or Keras models. Received: target of type str"),
    ("copy-weights-count", lambda: keras_bridge.copy_weights(small_model(), Sequential([layers.Dense(2, 2), layers.Dense(2, 1)])), ValueError,
     "copy_weights expected the same number of layers with weights. Received: 1 in source, 2 in target"),
    ("tape-loss", lambda: keras_bridge.tape_gradients(keras_bridge.to_keras(small_model()), 3, X, T), TypeError,
     "tape_gradients expected a Keras loss or its name. Received: 3"),
    ("tape-flag", lambda: keras_bridge.tape_gradients(keras_bridge.to_keras(small_model()), "mse", X, T, include_penalties="yes"), TypeError,
     "tape_gradients expected include_penalties to be True or False. Received: 'yes'"),
    ("tape-nan-inputs", lambda: keras_bridge.tape_gradients(keras_bridge.to_keras(small_model()), "mse", np.full((4, 2), NAN), T), ValueError,
     "x expected finite values"),
    ("tape-lengths", lambda: keras_bridge.tape_gradients(keras_bridge.to_keras(small_model()), "mse", X, T[:3]), ValueError,
     "tape_gradients expected as many targets as inputs. Received: x has 4 rows, y has 3"),
    ("seed-backend-string", lambda: keras_bridge.seed_backend("a"), TypeError, "seed expected a non-negative integer. Received: 'a'"),
    ("layer-outputs-not-a-model", lambda: keras_bridge.layer_outputs_model(small_model()), TypeError,
     "layer_outputs_model expected a Keras model. Received: Sequential"),
    ("restart-not-a-model", lambda: keras_bridge.restart_training(small_model(), []), TypeError,
     "restart_training expected a Keras model. Received: Sequential"),
    ("restart-uncompiled", lambda: keras_bridge.restart_training(keras_bridge.to_keras(small_model()), []), ValueError,
     "restart_training expected a compiled model (it resets the optimizer). Received: a model without an optimizer"),
]


@table(KERAS_BRIDGE)
def test_keras_bridge_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)


# --- the remaining modules: objectives, gradcheck, autodiff, datasets, seeding, timing, plotting ---

OBJECTIVES = [
    ("curvatures-negative", lambda: objectives.Quadratic((1.0, -1.0)), ValueError, "curvatures expected two positive numbers. Received: curvatures=[1.0, -1.0]"),
    ("matrix-not-symmetric", lambda: objectives.Quadratic(matrix=[[1.0, 2.0], [0.0, 1.0]]), ValueError, "matrix expected a symmetric (2, 2) array"),
    ("rosenbrock-b", lambda: objectives.Rosenbrock(b=0), ValueError, "b expected a finite number > 0. Received: b=0.0"),
    ("gradient-shape", lambda: objectives.Rosenbrock().gradient(np.ones(3)), ValueError, "w expected a point of shape (2,). Received: w.shape=(3,)"),
    ("value-shape", lambda: objectives.Rosenbrock().value(np.ones((4, 3))), ValueError, "value expected points of shape (..., 2). Received: w.shape=(4, 3)"),
    ("run-not-optimizer", lambda: objectives.run_optimizer("sgd", objectives.Rosenbrock(), np.zeros(2), 3), TypeError,
     "run_optimizer expected an nnlib optimizer. Received: str"),
    ("run-steps", lambda: objectives.run_optimizer(optimizers.SGD(), objectives.Rosenbrock(), np.zeros(2), -1), ValueError,
     "steps expected a non-negative integer. Received: steps=-1"),
    ("run-start-nan", lambda: objectives.run_optimizer(optimizers.SGD(), objectives.Rosenbrock(), np.array([NAN, 0.0]), 3), ValueError,
     "start expected finite values"),
]
GRADCHECK = [
    ("numerical-not-callable", lambda: gradcheck.numerical_gradient(3, np.ones(2)), TypeError, "numerical_gradient expected a callable f. Received: int"),
    ("numerical-float32", lambda: gradcheck.numerical_gradient(lambda: 0.0, np.ones(2, np.float32)), TypeError,
     "numerical_gradient expected a float64 numpy array x. Received: ndarray float32"),
    ("relative-error-shapes", lambda: gradcheck.relative_error(np.ones(2), np.ones(3)), ValueError,
     "relative_error expected arrays of one shape. Received: (2,) and (3,)"),
    ("check-layer-float32", lambda: gradcheck.check_layer(layers.Dense(2, 1, dtype="float32"), np.ones((1, 2))), TypeError,
     "check_layer expected float64 inputs and parameters"),
    ("check-layer-not-a-layer", lambda: gradcheck.check_layer(lambda x: x, np.ones((1, 2))), TypeError,
     "check_layer expected an nnlib layer. Received: function"),
    ("check-function-not-callable", lambda: gradcheck.check_function(np.sum, 3, np.ones(2)), TypeError,
     "check_function expected a callable grad. Received: int"),
    ("eps-zero", lambda: gradcheck.check_function(np.sum, np.ones_like, np.ones(2), eps=0.0), ValueError, "eps expected a finite number > 0"),
]
AUTODIFF = [
    ("node-string", lambda: autodiff.Node("a"), TypeError, "Node value expected an array of numbers. Received: str"),
    ("grad-not-callable", lambda: autodiff.grad(3, np.ones(2)), TypeError, "grad expected a callable f. Received: int"),
    ("grad-not-a-node", lambda: autodiff.grad(lambda a: 3.0, np.ones(2)), TypeError, "grad expected f to return a Node. Received: float"),
    ("backward-no-seed", lambda: autodiff.Node(np.ones(2)).exp().backward(), ValueError,
     "backward() without a seed expected a scalar output. Received: output shape=(2,)"),
    ("backward-seed-shape", lambda: autodiff.Node(np.ones(2)).exp().backward(np.ones(3)), ValueError,
     "backward expected seed.shape == output shape (2,). Received: seed.shape=(3,)"),
    ("add-shapes", lambda: autodiff.Node(np.ones(2)) + np.ones(3), ValueError, "+ expected shapes that broadcast. Received: shapes (2,) and (3,)"),
    ("mul-shapes", lambda: np.ones((2, 3)) * autodiff.Node(np.ones(2)), ValueError, "* expected shapes that broadcast. Received: shapes (2,) and (2, 3)"),
    ("matmul-shapes", lambda: autodiff.Node(np.ones((2, 3))) @ np.ones(2), ValueError, "@ expected matching inner dimensions"),
    ("power-string", lambda: autodiff.Node(np.ones(2)) ** "2", TypeError, "** expected a real number as exponent. Received: str"),
    ("topological-order", lambda: autodiff.topological_order(3), TypeError, "topological_order expected a Node. Received: int"),
    ("jvp-not-a-leaf", lambda: autodiff.jvp(autodiff.Node(1.0) * 2.0, {autodiff.Node(1.0): 1.0}), ValueError,
     "jvp expected tangents for leaves of the output's graph. Received: Node("),
]
DATASETS = [
    ("gate-unknown", lambda: datasets.logic_gate("implies"), ValueError, "name expected one of ['and', 'nand', 'nor', 'or', 'xnor', 'xor']. Received: name='implies'"),
    ("separable-one-sample", lambda: datasets.linearly_separable(1, 0.1), ValueError,
     "n_samples expected at least 2 (one point per class). Received: n_samples=1"),
    ("separable-margin", lambda: datasets.linearly_separable(10, 0.6), ValueError, "margin expected a number in (0, 0.5) for points in [-1, 1]^d. Received: margin=0.6"),
    ("circles-noise", lambda: datasets.circles(10, noise=-0.1), ValueError, "noise expected a finite number >= 0. Received: noise=-0.1"),
    ("circles-factor", lambda: datasets.circles(10, factor=1.5), ValueError, "factor expected a number in (0, 1). Received: factor=1.5"),
    ("moons-samples", lambda: datasets.moons(0), ValueError, "n_samples expected a positive integer. Received: n_samples=0"),
]
SEEDING = [
    ("seed-negative", lambda: seeding.seed_everything(-1, backend=False), ValueError, "seed expected a non-negative integer. Received: seed=-1"),
    ("seed-string", lambda: seeding.seed_everything("0", backend=False), TypeError, "seed expected a non-negative integer. Received: '0'"),
    ("seed-too-large", lambda: seeding.seed_everything(2**32, backend=False), ValueError, "seed expected an integer in [0, 2**32 - 1] (NumPy's range). Received: seed=4294967296"),
    ("backend-string", lambda: seeding.seed_everything(0, backend="no"), TypeError, "backend expected True or False. Received: 'no'"),
]
TIMING = [
    ("not-a-list", lambda: timing.fastest_cpu_seconds(3), TypeError, "fastest_cpu_seconds expected a non-empty list of callables. Received: int"),
    ("no-functions", lambda: timing.fastest_cpu_seconds([]), TypeError, "fastest_cpu_seconds expected a non-empty list of callables. Received: []"),
    ("rounds-zero", lambda: timing.fastest_cpu_seconds([lambda: None], rounds=0), ValueError, "rounds expected a positive integer. Received: rounds=0"),
    ("calls-count", lambda: timing.fastest_cpu_seconds([lambda: None], calls=[1, 2]), ValueError,
     "fastest_cpu_seconds expected one count per function. Received: 2 counts, 1 functions"),
    ("blas-threads", lambda: timing.fastest_cpu_seconds([lambda: None], blas_threads=0), ValueError, "blas_threads expected a positive integer. Received: blas_threads=0"),
]
PLOTTING = [
    ("boundary-not-callable", lambda: plotting.decision_boundary(3, np.ones((2, 2)), [0, 1]), TypeError,
     "decision_boundary expected a callable predict_fn. Received: int"),
    ("boundary-shape", lambda: plotting.decision_boundary(np.sum, np.ones((2, 3)), [0, 1]), ValueError,
     "decision_boundary expected X of shape (n, 2). Received: X.shape=(2, 3)"),
    ("boundary-nan", lambda: plotting.decision_boundary(np.sum, np.array([[NAN, 0.0], [1.0, 1.0]]), [0, 1]), ValueError, "X expected finite values"),
    ("boundary-empty", lambda: plotting.decision_boundary(np.sum, np.zeros((0, 2)), []), ValueError, "X expected a non-empty array"),
    ("boundary-labels", lambda: plotting.decision_boundary(np.sum, np.ones((2, 2)), [0, 1, 1]), ValueError,
     "decision_boundary expected one label per point. Received: 2 points, 3 labels"),
    ("curves-not-history", lambda: plotting.training_curves([1, 2]), TypeError, "training_curves expected a History or a dict of lists. Received: list"),
    ("curves-metric", lambda: plotting.training_curves({"loss": [1.0]}, metrics=("accuracy",)), ValueError,
     "training_curves expected metrics among ['loss']. Received: ['accuracy']"),
    ("diagram-not-a-list", lambda: plotting.network_diagram(3), TypeError, "network_diagram expected a list of layer sizes. Received: int"),
    ("diagram-one-layer", lambda: plotting.network_diagram([3]), ValueError, "network_diagram expected at least two layer sizes. Received: [3]"),
    ("diagram-size", lambda: plotting.network_diagram([3, 0]), ValueError, "layer size expected a positive integer. Received: layer size=0"),
    ("paths-empty", lambda: plotting.optimizer_paths(objectives.Rosenbrock(), {}), TypeError,
     "optimizer_paths expected a non-empty dict of name -> (T, 2) array. Received: dict"),
    ("paths-shape", lambda: plotting.optimizer_paths(objectives.Rosenbrock(), {"sgd": np.ones((3, 3))}), ValueError,
     "optimizer_paths expected paths of shape (T, 2). Received: paths['sgd'].shape=(3, 3)"),
    ("norms-not-dict", lambda: plotting.layer_gradient_norms([1.0]), TypeError,
     "layer_gradient_norms expected a non-empty dict of name -> sequence. Received: list"),
    ("log-scale-string", lambda: plotting.training_curves({"loss": [1.0]}, log_scale="yes"), TypeError, "log_scale expected True or False. Received: 'yes'"),
]


@table(OBJECTIVES)
def test_objectives_refuse_bad_input(call, error, fragment):
    check(call, error, fragment)


@table(GRADCHECK)
def test_gradcheck_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)


@table(AUTODIFF)
def test_autodiff_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)


@table(DATASETS)
def test_datasets_refuse_bad_input(call, error, fragment):
    check(call, error, fragment)


@table(SEEDING)
def test_seeding_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)


@table(TIMING)
def test_timing_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)


@table(PLOTTING)
def test_plotting_refuses_bad_input(call, error, fragment):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        check(call, error, fragment)
    finally:
        plt.close("all")


# --- convolution and pooling layers (issue 12) ---------------------------------------------------

def forwarded(layer, shape):
    layer.forward(np.zeros(shape))
    return layer


IMAGES = np.zeros((2, 5, 5, 2))
CONV_POOLING = [
    ("conv-filters-zero", lambda: layers.Conv2D(2, 0, 3), ValueError, "filters expected a positive integer. Received: filters=0"),
    ("conv-in-channels-float", lambda: layers.Conv2D(2.0, 3, 3), TypeError, "in_channels expected a positive integer. Received: 2.0"),
    ("conv-kernel-one-number", lambda: layers.Conv2D(2, 3, (3,)), ValueError,
     "kernel_size expected a positive integer or a pair of them. Received: kernel_size=(3,)"),
    ("conv-kernel-zero", lambda: layers.Conv2D(2, 3, (3, 0)), ValueError, "kernel_size expected a positive integer or a pair of them. Received: kernel_size=(3, 0)"),
    ("conv-kernel-float", lambda: layers.Conv2D(2, 3, 2.5), TypeError, "kernel_size expected a positive integer or a pair of them. Received: kernel_size=2.5"),
    ("conv-strides-bool", lambda: layers.Conv2D(2, 3, 3, strides=True), TypeError, "strides expected a positive integer or a pair of them. Received: strides=True"),
    ("conv-strides-zero", lambda: layers.Conv2D(2, 3, 3, strides=(1, 0)), ValueError, "strides expected a positive integer or a pair of them"),
    ("conv-padding-unknown", lambda: layers.Conv2D(2, 3, 3, padding="full"), ValueError, "padding expected one of ['same', 'valid']. Received: padding='full'"),
    ("conv-padding-number", lambda: layers.Conv2D(2, 3, 3, padding=1), TypeError, "padding expected one of ['same', 'valid']. Received: 1"),
    ("conv-use-bias-int", lambda: layers.Conv2D(2, 3, 3, use_bias=1), TypeError, "use_bias expected True or False. Received: 1"),
    ("conv-dtype", lambda: layers.Conv2D(2, 3, 3, dtype="float16"), ValueError, "dtype expected 'float32' or 'float64'. Received: dtype='float16'"),
    ("conv-activation", lambda: layers.Conv2D(2, 3, 3, activation="mish"), ValueError, "activation expected one of ["),
    ("conv-rng-int", lambda: layers.Conv2D(2, 3, 3, rng=3), TypeError, "rng expected a numpy.random.Generator"),
    ("conv-regularizer", lambda: layers.Conv2D(2, 3, 3, kernel_regularizer="l3"), ValueError, "regularizer expected None, an nnlib Regularizer"),
    ("conv-forward-rank", lambda: layers.Conv2D(2, 3, 3).forward(np.zeros((2, 5, 5))), ValueError,
     "Conv2D layer 'conv2d' expected input of shape (batch, height, width, 2). Received: x.shape=(2, 5, 5)"),
    ("conv-forward-channels", lambda: layers.Conv2D(2, 3, 3).forward(np.zeros((2, 5, 5, 3))), ValueError,
     "expected input of shape (batch, height, width, 2). Received: x.shape=(2, 5, 5, 3)"),
    ("conv-forward-strings", lambda: layers.Conv2D(2, 3, 3).forward(STRINGS), TypeError, "x expected an array of numbers. Received: dtype=<U1"),
    ("conv-forward-too-small", lambda: layers.Conv2D(2, 3, 3).forward(np.zeros((2, 2, 5, 2))), ValueError,
     "expected an input at least as large as the kernel (3, 3) with padding='valid'. Received: input_shape=(2, 5, 2)"),
    ("conv-backward-shape", lambda: forwarded(layers.Conv2D(2, 3, 3), IMAGES.shape).backward(np.zeros((2, 3, 3, 2))), ValueError,
     "Conv2D layer 'conv2d' backward expected dout of shape (2, 3, 3, 3). Received: dout.shape=(2, 3, 3, 2)"),
    ("conv-backward-before-forward", lambda: layers.Conv2D(2, 3, 3).backward(np.zeros((2, 3, 3, 3))), RuntimeError, ""),
    ("conv-set-weights-shape", lambda: layers.Conv2D(2, 3, 3).set_weights([np.zeros((3, 3, 3, 2)), np.zeros(3)]), ValueError,
     "conv2d.set_weights expected kernel of shape (3, 3, 2, 3). Received: shape=(3, 3, 3, 2)"),
    ("conv-set-weights-count", lambda: layers.Conv2D(2, 3, 3, use_bias=False).set_weights([np.zeros((3, 3, 2, 3)), np.zeros(3)]), ValueError,
     "conv2d.set_weights expected 1 arrays. Received: 2"),
    ("conv-multiply-adds-shape", lambda: layers.Conv2D(2, 3, 3).multiply_adds((5, 5)), ValueError,
     "Conv2D layer 'conv2d' multiply_adds expected input_shape=(height, width, 2). Received: input_shape=(5, 5)"),
    ("conv-output-shape-channels", lambda: layers.Conv2D(2, 3, 3).output_shape((5, 5, 1)), ValueError,
     "output_shape expected input_shape=(height, width, 2). Received: input_shape=(5, 5, 1)"),
    ("max-pool-size-zero", lambda: layers.MaxPooling2D(0), ValueError, "pool_size expected a positive integer or a pair of them. Received: pool_size=0"),
    ("max-pool-size-triple", lambda: layers.MaxPooling2D((2, 2, 2)), ValueError, "pool_size expected a positive integer or a pair of them"),
    ("avg-pool-strides-string", lambda: layers.AveragePooling2D(2, strides="2"), TypeError,
     "strides expected a positive integer or a pair of them. Received: strides='2'"),
    ("avg-pool-padding", lambda: layers.AveragePooling2D(2, padding="causal"), ValueError, "padding expected one of ['same', 'valid']. Received: padding='causal'"),
    ("max-pool-forward-rank", lambda: layers.MaxPooling2D().forward(np.zeros((2, 4))), ValueError,
     "MaxPooling2D layer 'maxpooling2d' expected input of shape (batch, height, width, channels). Received: x.shape=(2, 4)"),
    ("avg-pool-forward-too-small", lambda: layers.AveragePooling2D(3).forward(np.zeros((1, 2, 4, 1))), ValueError,
     "expected an input at least as large as the pool (3, 3) with padding='valid'. Received: input_shape=(2, 4, 1)"),
    ("max-pool-forward-objects", lambda: layers.MaxPooling2D().forward(OBJECTS), TypeError, "x expected an array of numbers. Received: dtype=object"),
    ("max-pool-backward-shape", lambda: forwarded(layers.MaxPooling2D(), IMAGES.shape).backward(np.zeros((2, 2, 2, 3))), ValueError,
     "MaxPooling2D layer 'maxpooling2d' backward expected dout of shape (2, 2, 2, 2). Received: dout.shape=(2, 2, 2, 3)"),
    ("max-pool-backward-before-forward", lambda: layers.MaxPooling2D().backward(np.zeros((1, 1, 1, 1))), RuntimeError, ""),
    ("avg-pool-set-weights", lambda: layers.AveragePooling2D().set_weights([np.zeros(1)]), ValueError,
     "averagepooling2d.set_weights expected 0 arrays. Received: 1"),
    ("avg-pool-multiply-adds", lambda: layers.AveragePooling2D().multiply_adds(), ValueError,
     "multiply_adds expected input_shape=(height, width, channels) or a forward pass first. Received: input_shape=None"),
    ("global-keepdims-int", lambda: layers.GlobalAveragePooling2D(keepdims=1), TypeError, "keepdims expected True or False. Received: 1"),
    ("global-forward-rank", lambda: layers.GlobalAveragePooling2D().forward(np.zeros((2, 3, 4))), ValueError,
     "GlobalAveragePooling2D layer 'globalaveragepooling2d' expected input of shape (batch, height, width, channels). Received: x.shape=(2, 3, 4)"),
    ("global-backward-shape", lambda: forwarded(layers.GlobalAveragePooling2D(), IMAGES.shape).backward(np.zeros((2, 1, 1, 2))), ValueError,
     "backward expected dout of shape (2, 2). Received: dout.shape=(2, 1, 1, 2)"),
    ("flatten-forward-strings", lambda: layers.Flatten().forward(STRINGS), TypeError, "x expected an array of numbers. Received: dtype=<U1"),
    ("flatten-backward-shape", lambda: forwarded(layers.Flatten(), IMAGES.shape).backward(np.zeros((2, 49))), ValueError,
     "Flatten layer 'flatten' backward expected dout of shape (2, 50). Received: dout.shape=(2, 49)"),
    ("flatten-name-number", lambda: layers.Flatten(name=3), TypeError, "name expected a string or None. Received: name=3"),
    ("to-keras-input-shape", lambda: keras_bridge.to_keras(Sequential([layers.Conv2D(1, 2, 3), layers.Flatten()]), input_shape=(8, 8, 0)), ValueError,
     "to_keras expected input_shape a tuple of positive integers (no batch axis). Received: input_shape=(8, 8, 0)"),
]


@table(CONV_POOLING)
def test_conv_and_pooling_layers_refuse_bad_input(call, error, fragment):
    if error is RuntimeError:  # misuse, not bad input: a plain message
        with pytest.raises(RuntimeError, match=r"backward called before forward"):
            call()
        return
    check(call, error, fragment)

# --- residual blocks (nnlib.layers.Residual and its keras_bridge graphs) -----------------------

def _add_of_two_branches():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Add()([keras.layers.Dense(3)(inputs), keras.layers.Dense(3)(inputs)]))


RESIDUAL = [
    ("residual-single-layer", lambda: layers.Residual(layers.Dense(2, 2)), TypeError, "Residual expected a list of nnlib layers. Received: Dense"),
    ("residual-empty", lambda: layers.Residual([]), ValueError, "Residual expected at least one layer. Received: an empty list"),
    ("residual-not-a-layer", lambda: layers.Residual([layers.Dense(2, 2), "relu"]), TypeError,
     "Residual expected nnlib layers. Received: str at position 1"),
    ("residual-width", lambda: layers.Residual([layers.Dense(3, 2)]), ValueError,
     "Residual expected its layers to give back the input's width (y = x + f(x)). Received: input width 3, output width 2"),
    ("residual-chain", lambda: layers.Residual([layers.Dense(3, 2), layers.Dense(3, 3)]), ValueError,
     "Residual expected each layer's input width to equal the previous layer's output width. Received: Dense(3, 2"),
    ("residual-name-number", lambda: layers.Residual([layers.Dense(2, 2)], name=3), TypeError, "name expected a string or None. Received: name=3"),
    ("residual-forward-shape", lambda: layers.Residual([layers.Dense(2, 2)]).forward(np.ones((3, 4))), ValueError,
     "Dense layer 'dense' expected input of shape (batch, 2). Received: x.shape=(3, 4)"),
    ("residual-forward-strings", lambda: layers.Residual([layers.Dense(2, 2)]).forward(STRINGS), TypeError, "x expected an array of numbers"),
    ("residual-set-weights-count", lambda: layers.Residual([layers.Dense(2, 2)]).set_weights([np.zeros((2, 2))]), ValueError,
     "residual.set_weights expected 2 arrays. Received: 1"),
    ("residual-set-weights-array", lambda: layers.Residual([layers.Dense(2, 2)]).set_weights(np.zeros((2, 2))), TypeError,
     "residual.set_weights expected a list of arrays. Received: ndarray"),
    ("residual-set-weights-shape", lambda: layers.Residual([layers.Dense(2, 2)]).set_weights([np.zeros((1, 2)), np.zeros(2)]), ValueError,
     "dense.set_weights expected kernel of shape (2, 2). Received: shape=(1, 2)"),
    ("to-keras-residual-step", lambda: keras_bridge.to_keras(Sequential([layers.Residual([layers.Dense(2, 2, "step")])])), ValueError,
     "Received: Activation('step') in Dense(2, 2, activation='step')"),
    ("from-keras-add-of-branches", lambda: keras_bridge.from_keras(_add_of_two_branches()), ValueError,
     "from_keras expected Add layers of the form Add()([x, f(x)]) (a residual block). Received: layer"),
]


@table(RESIDUAL)
def test_residual_blocks_refuse_bad_input(call, error, fragment):
    check(call, error, fragment)


def test_residual_backward_before_forward_is_misuse():
    with pytest.raises(RuntimeError, match=r"backward called before forward"):
        layers.Residual([layers.Dense(2, 2)]).backward(np.ones((1, 2)))

# --- som --------------------------------------------------------------------------------------

from nnlib import som  # noqa: E402


def small_som(**options):
    return som.SelfOrganizingMap(2, 2, 3, rng=np.random.default_rng(1), **options)


SOM = [
    ("rows-zero", lambda: som.SelfOrganizingMap(0, 2, 3), ValueError, "rows expected a positive integer. Received: rows=0"),
    ("cols-float", lambda: som.SelfOrganizingMap(2, 2.5, 3), TypeError, "cols expected a positive integer. Received: 2.5"),
    ("input-dim-bool", lambda: som.SelfOrganizingMap(2, 2, True), TypeError, "input_dim expected a positive integer. Received: True"),
    ("learning-rate-zero", lambda: small_som(learning_rate=0), ValueError, "learning_rate expected a finite number > 0. Received: learning_rate=0.0"),
    ("learning-rate-above-one", lambda: small_som(learning_rate=1.5), ValueError, "learning_rate expected a number in (0, 1]. Received: learning_rate=1.5"),
    ("learning-rate-string", lambda: small_som(learning_rate="0.1"), TypeError, "learning_rate expected a real number. Received: '0.1'"),
    ("final-rate-above-initial", lambda: small_som(learning_rate=0.1, final_learning_rate=0.2), ValueError,
     "final_learning_rate expected a number <= learning_rate (the rate decays). Received: learning_rate=0.1, final_learning_rate=0.2"),
    ("radius-negative", lambda: small_som(radius=-1), ValueError, "radius expected a finite number > 0. Received: radius=-1.0"),
    ("radius-nan", lambda: small_som(radius=NAN), ValueError, "radius expected a finite number > 0. Received: radius=nan"),
    ("final-radius-above-initial", lambda: small_som(radius=1.0, final_radius=2.0), ValueError,
     "final_radius expected a number <= radius (the radius decays). Received: radius=1.0, final_radius=2.0"),
    ("schedule-unknown", lambda: small_som(schedule="cosine"), ValueError, "schedule expected one of ['exponential', 'linear']. Received: schedule='cosine'"),
    ("rng-int", lambda: som.SelfOrganizingMap(2, 2, 3, rng=3), TypeError, "rng expected a numpy.random.Generator"),
    ("dtype-int", lambda: small_som(dtype="int32"), ValueError, "dtype expected 'float32' or 'float64'. Received: dtype='int32'"),
    ("fit-columns", lambda: small_som().fit(np.ones((4, 2))), ValueError, "fit expected x of shape (n, 3). Received: x.shape=(4, 2)"),
    ("fit-nan", lambda: small_som().fit(np.array([[NAN, 0.0, 0.0]])), ValueError, "x expected finite values. Received: x with 1 NaN or inf value"),
    ("fit-empty", lambda: small_som().fit(np.zeros((0, 3))), ValueError, "x expected a non-empty array. Received: x.shape=(0, 3)"),
    ("fit-strings", lambda: small_som().fit(STRINGS), TypeError, "x expected an array of numbers. Received: dtype=<U1"),
    ("fit-ragged", lambda: small_som().fit(RAGGED), TypeError, "x expected an array of numbers. Received: list"),
    ("fit-1d", lambda: small_som().fit(np.ones(3)), ValueError, "x expected a 2-D array. Received: x.shape=(3,)"),
    ("fit-epochs-zero", lambda: small_som().fit(np.ones((2, 3)), epochs=0), ValueError, "epochs expected a positive integer. Received: epochs=0"),
    ("fit-shuffle-int", lambda: small_som().fit(np.ones((2, 3)), shuffle=1), TypeError, "shuffle expected True or False. Received: 1"),
    ("fit-record-string", lambda: small_som().fit(np.ones((2, 3)), record="no"), TypeError, "record expected True or False. Received: 'no'"),
    ("bmu-inf", lambda: small_som().bmu(np.array([[INF, 0.0, 0.0]])), ValueError, "x expected finite values"),
    ("winner-columns", lambda: small_som().winner(np.ones((1, 4))), ValueError, "winner expected x of shape (n, 3). Received: x.shape=(1, 4)"),
    ("distances-objects", lambda: small_som().distances(OBJECTS), TypeError, "x expected an array of numbers. Received: dtype=object"),
    ("quantization-columns", lambda: small_som().quantization_error(np.ones((2, 1))), ValueError,
     "quantization_error expected x of shape (n, 3). Received: x.shape=(2, 1)"),
    ("topographic-nan", lambda: small_som().topographic_error(np.array([[0.0, NAN, 0.0]])), ValueError, "x expected finite values"),
    ("topographic-one-unit", lambda: som.SelfOrganizingMap(1, 1, 3).topographic_error(np.ones((2, 3))), ValueError,
     "topographic_error expected a map with at least 2 units. Received: rows=1, cols=1"),
    ("update-length", lambda: small_som().update(np.ones(2), 0.1, 1.0), ValueError, "update expected x_sample of shape (3,). Received: x_sample.shape=(2,)"),
    ("update-nan", lambda: small_som().update(np.array([NAN, 0.0, 0.0]), 0.1, 1.0), ValueError, "x_sample expected finite values"),
    ("update-rate-above-one", lambda: small_som().update(np.ones(3), 2.0, 1.0), ValueError, "learning_rate expected a number in (0, 1]. Received: learning_rate=2.0"),
    ("update-radius-zero", lambda: small_som().update(np.ones(3), 0.1, 0.0), ValueError, "radius expected a finite number > 0. Received: radius=0.0"),
    ("set-weights-shape", lambda: small_som().set_weights([np.ones((4, 2))]), ValueError,
     "set_weights expected prototypes of shape (4, 3). Received: prototypes.shape=(4, 2)"),
    ("set-weights-not-list", lambda: small_som().set_weights(np.ones((4, 3))), ValueError,
     "set_weights expected a list with one array [prototypes]. Received: ndarray of length 4"),
    ("set-weights-nan", lambda: small_som().set_weights([np.full((4, 3), NAN)]), ValueError, "prototypes expected finite values"),
    ("initialize-nan", lambda: small_som().initialize_from(np.array([[NAN, 0.0, 0.0]])), ValueError, "x expected finite values"),
    ("neighbourhood-winner-range", lambda: small_som().neighbourhood(4, 1.0), ValueError,
     "winner expected a unit index in [0, 4). Received: winner=4"),
    ("neighbourhood-winner-float", lambda: small_som().neighbourhood(1.0, 1.0), TypeError,
     "winner expected an integer unit index. Received: winner=1.0"),
    ("neighbourhood-grid-shape", lambda: som.gaussian_neighbourhood(np.zeros((4, 3)), 0, 1.0), ValueError,
     "grid expected an array of shape (units, 2). Received: grid.shape=(4, 3)"),
    ("som-update-lengths", lambda: som.som_update(np.zeros((4, 3)), som.grid_coordinates(2, 2), np.ones(2), 0.1, 1.0), ValueError,
     "som_update expected x of length d for prototypes of shape (units, d). Received: x.shape=(2,), prototypes.shape=(4, 3)"),
    ("decay-step-range", lambda: som.decay(1.0, 0.1, 5, 5), ValueError, "step expected an integer in [0, 5). Received: step=5"),
    ("decay-step-float", lambda: som.decay(1.0, 0.1, 0.5, 5), TypeError, "step expected an integer. Received: step=0.5"),
    ("decay-schedule", lambda: som.decay(1.0, 0.1, 0, 5, "step"), ValueError, "schedule expected one of ['exponential', 'linear']. Received: schedule='step'"),
    ("decay-total-zero", lambda: som.decay(1.0, 0.1, 0, 0), ValueError, "total_steps expected a positive integer. Received: total_steps=0"),
    ("decay-initial-zero", lambda: som.decay(0.0, 0.1, 0, 5), ValueError, "initial expected a finite number > 0. Received: initial=0.0"),
    ("grid-rows-zero", lambda: som.grid_coordinates(0, 3), ValueError, "rows expected a positive integer. Received: rows=0"),
]


@table(SOM)
def test_som_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)


RECURRENT = [
    ("lstm-units", lambda: layers.LSTM(3, 0), ValueError, "units expected a positive integer. Received: units=0"),
    ("gru-return-sequences", lambda: layers.GRU(3, 2, return_sequences="yes"), TypeError, "return_sequences expected"),
    ("rnn-softmax", lambda: layers.SimpleRNN(3, 2, "softmax"), ValueError, "activation expected an elementwise activation"),
    ("lstm-unit-forget-bias", lambda: layers.LSTM(3, 2, unit_forget_bias=1), TypeError, "unit_forget_bias expected"),
    ("lstm-2d-input", lambda: layers.LSTM(3, 2).forward(np.zeros((4, 3))), ValueError,
     "expected input of shape (batch, time >= 1, 3). Received: x.shape=(4, 3)"),
    ("gru-bias-shape", lambda: layers.GRU(3, 2).set_weights([np.zeros((3, 6)), np.zeros((2, 6)), np.zeros(6)]), ValueError,
     "expected bias of shape (2, 6). Received: shape=(6,)"),
    ("orthogonal-rank", lambda: initializers.orthogonal((4,)), ValueError, "orthogonal expected a shape with at least 2 axes"),
    ("from-keras-lstm-dropout", lambda: keras_bridge.from_keras(keras.Sequential([keras.Input((None, 2)), keras.layers.LSTM(2, dropout=0.5)])),
     ValueError, "from_keras expected recurrent layers without dropout"),
    ("from-keras-gru-reset-before", lambda: keras_bridge.from_keras(keras.Sequential([keras.Input((None, 2)), keras.layers.GRU(2, reset_after=False)])),
     ValueError, "from_keras expected GRU with reset_after=True"),
]


@table(RECURRENT)
def test_recurrent_refuses_bad_input(call, error, fragment):
    check(call, error, fragment)
