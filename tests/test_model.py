"""Tests for nnlib.model (Sequential, History, accuracy): hand values, a float64 gradient check
of a whole network, fit against Keras's fit, bad input."""
import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import gradcheck, keras_bridge, layers, losses, optimizers
from nnlib.model import Callback, History, Sequential, accuracy

import keras  # noqa: E402

# Largest elementwise relative error allowed in float64 gradient checks (nnlib.gradcheck,
# h = 1e-6). Rounding in the differences leaves ~1e-10 absolute noise, which is ~1e-6
# relative on the smallest components; a wrong gradient scores above 1e-2.
GRAD_TOL = 1e-5


def two_two_one(seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    return Sequential([layers.Dense(2, 2, "tanh", rng=rng, dtype=dtype), layers.Dense(2, 1, "sigmoid", rng=rng, dtype=dtype)])


# --- small hand-computed cases -----------------------------------------------------

def test_counts_for_a_two_two_one_network():
    model = two_two_one()
    assert model.count_params() == 9  # (2*2 + 2) + (2*1 + 1)
    assert model.multiply_adds() == [4, 2]
    with_activation = Sequential([layers.Dense(3, 5, rng=np.random.default_rng(0)), layers.Activation("relu"),
                                  layers.Dense(5, 2, use_bias=False, rng=np.random.default_rng(0))])
    assert with_activation.count_params() == 20 + 10
    assert with_activation.multiply_adds() == [15, 0, 10]


def test_summary_and_repr():
    model = two_two_one()
    lines = model.summary().splitlines()
    assert len(lines) == 4
    assert lines[1].startswith("Dense(2, 2, activation='tanh')") and lines[1].split()[-2:] == ["2", "6"]
    assert lines[-1].split() == ["total", "9"]
    assert repr(model) == "Sequential([Dense(2, 2, activation='tanh'), Dense(2, 1, activation='sigmoid')])"


def test_forward_predict_and_layer_outputs_agree():
    model = two_two_one()
    x = np.random.default_rng(1).standard_normal((7, 2))
    hidden, output = model.layer_outputs(x)
    first, second = model.layers
    np.testing.assert_allclose(hidden, np.tanh(x @ first.kernel + first.bias))
    np.testing.assert_allclose(output, 1 / (1 + np.exp(-(hidden @ second.kernel + second.bias))))
    np.testing.assert_array_equal(model.forward(x), output)
    np.testing.assert_array_equal(model.predict(x), output)
    np.testing.assert_array_equal(model(x), output)
    np.testing.assert_allclose(model.predict(x, batch_size=3), output, rtol=1e-15)


def test_weights_in_keras_order():
    model = two_two_one()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(2, 2), (2,), (2, 1), (1,)]
    assert model.parameters()[0] is model.layers[0].params["kernel"]
    new = [np.full(w.shape, float(i)) for i, w in enumerate(weights)]
    model.set_weights(new)
    for ours, expected in zip(model.get_weights(), new):
        np.testing.assert_array_equal(ours, expected)
    model.get_weights()[0][...] = 99.0  # a copy
    assert not np.any(model.layers[0].kernel == 99.0)


def test_one_training_step_of_linear_regression_by_hand():
    """MSE on a linear layer: w <- w - lr * 2/N X^T (Xw + b - y), b <- b - lr * 2/N sum(Xw + b - y)."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((10, 3)), rng.standard_normal((10, 1))
    model = Sequential([layers.Dense(3, 1, rng=rng)])
    model.compile(loss="mse", optimizer=optimizers.SGD(learning_rate=0.1))
    kernel, bias = model.get_weights()
    residual = x @ kernel + bias - y
    loss = model.train_step(x, y)
    assert loss == pytest.approx(np.mean(residual**2), rel=1e-12)
    np.testing.assert_allclose(model.layers[0].kernel, kernel - 0.1 * 2 / 10 * x.T @ residual, rtol=1e-12)
    np.testing.assert_allclose(model.layers[0].bias, bias - 0.1 * 2 / 10 * residual.sum(axis=0), rtol=1e-12)


def test_accuracy_by_hand():
    assert accuracy([1, 0, 1, 0], [0.9, 0.4, 0.6, 0.7]) == 0.75
    assert accuracy(np.array([[1.0], [0.0]]), np.array([[0.51], [0.49]])) == 1.0
    # logits: the threshold moves to 0 for a from-logits cross-entropy
    assert accuracy([1, 0], [0.2, -0.2], losses.BinaryCrossentropy(from_logits=True)) == 1.0
    assert accuracy([1, 0], [0.2, -0.2], losses.BinaryCrossentropy()) == 0.5
    scores = np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1], [0.2, 0.2, 0.6]])
    assert accuracy(np.eye(3)[[1, 0, 1]], scores) == pytest.approx(2 / 3)
    assert accuracy(np.array([1, 0, 1]), scores) == pytest.approx(2 / 3)
    assert accuracy(np.array([[1], [0], [2]]), scores) == 1.0  # integer labels of shape (batch, 1)


def test_evaluate_reports_loss_and_accuracy():
    model = two_two_one()
    model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
    x = np.random.default_rng(3).standard_normal((8, 2))
    y = (x[:, 0] > 0).astype(float)
    logs = model.evaluate(x, y)
    assert set(logs) == {"loss", "accuracy"}
    # a sigmoid output with binary cross-entropy: the loss is computed from the logits, as in Keras
    probabilities = model.predict(x)
    logits = model.layers[-1].cached_pre_activation()
    assert logs["loss"] == losses.binary_crossentropy(y, logits, from_logits=True)
    assert logs["loss"] == pytest.approx(losses.binary_crossentropy(y, probabilities), rel=1e-12)  # nothing clipped here
    assert logs["accuracy"] == accuracy(y, probabilities)


def test_compile_accepts_a_single_metric_name_and_defaults():
    model = two_two_one()
    model.compile(metrics="accuracy")
    assert model.metrics == ("accuracy",)
    assert isinstance(model.loss, losses.MeanSquaredError)
    assert isinstance(model.optimizer, optimizers.SGD) and model.optimizer.learning_rate == 0.01


# --- float64 gradient check of a whole network -------------------------------------

NETWORKS = {
    "tanh-sigmoid-bce": (lambda rng: [layers.Dense(3, 4, "tanh", rng=rng), layers.Dense(4, 1, "sigmoid", rng=rng)],
                         losses.BinaryCrossentropy(), "binary"),
    "sigmoid-softmax-cce": (lambda rng: [layers.Dense(3, 5, "sigmoid", rng=rng), layers.Dense(5, 4, rng=rng), layers.Activation("softmax")],
                            losses.CategoricalCrossentropy(), "one_hot"),
    "nobias-linear-mse": (lambda rng: [layers.Dense(3, 4, "tanh", rng=rng, use_bias=False), layers.Dense(4, 2, rng=rng)],
                          losses.MeanSquaredError(), "real"),
    "logits-sparse": (lambda rng: [layers.Dense(3, 4, "relu", rng=rng), layers.Activation("tanh"), layers.Dense(4, 3, rng=rng)],
                      losses.SparseCategoricalCrossentropy(from_logits=True), "sparse"),
}


@pytest.mark.parametrize("network", NETWORKS)
def test_sequential_backward_matches_central_differences(network):
    build, loss, kind = NETWORKS[network]
    rng = np.random.default_rng(4)
    model = Sequential(build(rng))
    for layer in model.layers:  # non-zero biases, so that every gradient is exercised
        if "bias" in layer.params:
            layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    x = rng.standard_normal((6, 3))
    width = model.layers[-1].units if hasattr(model.layers[-1], "units") else model.layers[-2].units
    y = {"binary": lambda: rng.integers(0, 2, (6, 1)).astype(float),
         "one_hot": lambda: np.eye(width)[rng.integers(0, width, 6)],
         "real": lambda: rng.standard_normal((6, width)),
         "sparse": lambda: rng.integers(0, width, 6)}[kind]()

    def objective():
        return loss(y, model.forward(x))

    prediction = model.forward(x)
    input_gradient = model.backward(loss.gradient(y, prediction))
    analytic = [g.copy() for g in model.gradients()]
    assert gradcheck.relative_error(input_gradient, gradcheck.numerical_gradient(objective, x)) < GRAD_TOL
    for parameter, gradient in zip(model.parameters(), analytic, strict=True):
        assert gradcheck.relative_error(gradient, gradcheck.numerical_gradient(objective, parameter)) < GRAD_TOL


# --- fit ---------------------------------------------------------------------------

def test_fit_records_one_value_per_epoch_measured_after_the_epoch():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((20, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(float)
    model = two_two_one()
    model.compile(loss="binary_crossentropy", optimizer=optimizers.SGD(0.1), metrics=("accuracy",))
    history = model.fit(x, y, epochs=4, batch_size=8, rng=rng, validation_data=(x[:5], y[:5]))
    assert isinstance(history, History)
    assert history.epoch == [0, 1, 2, 3]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 4 for values in history.history.values())
    assert history.history["loss"][-1] == model.evaluate(x, y)["loss"]
    assert history.history["val_accuracy"][-1] == model.evaluate(x[:5], y[:5])["accuracy"]
    assert repr(history) == "History(epochs=4, keys=['loss', 'accuracy', 'val_loss', 'val_accuracy'])"


def test_fit_is_reproducible_with_a_generator_and_order_matters():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((30, 2)), rng.integers(0, 2, 30).astype(float)

    def train(seed, shuffle):
        model = two_two_one()
        model.compile(loss="binary_crossentropy", optimizer=optimizers.SGD(0.5))
        model.fit(x, y, epochs=3, batch_size=4, shuffle=shuffle, rng=np.random.default_rng(seed))
        return np.concatenate([w.ravel() for w in model.get_weights()])

    np.testing.assert_array_equal(train(1, True), train(1, True))
    assert not np.allclose(train(1, True), train(2, True))
    np.testing.assert_array_equal(train(1, False), train(2, False))  # no shuffle: the generator is unused


def test_callback_can_stop_training():
    class StopAfterTwo(Callback):
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, model, epoch, logs):
            self.seen.append((epoch, sorted(logs)))
            if epoch == 1:
                model.stop_training = True

    model = two_two_one()
    model.compile(loss="mse")
    callback = StopAfterTwo()
    history = model.fit(np.zeros((4, 2)), np.zeros(4), epochs=10, callbacks=[callback], shuffle=False)
    assert history.epoch == [0, 1]
    assert callback.seen == [(0, ["loss"]), (1, ["loss"])]


def test_fit_learns_xor():
    """The classic 2-2-1 success story: full-batch SGD with momentum separates XOR."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0], dtype=float)
    model = Sequential([layers.Dense(2, 4, "tanh", rng=np.random.default_rng(0)), layers.Dense(4, 1, "sigmoid", rng=np.random.default_rng(1))])
    model.compile(loss="binary_crossentropy", optimizer=optimizers.SGD(0.5, momentum=0.9), metrics=["accuracy"])
    history = model.fit(x, y, epochs=300, batch_size=4, shuffle=False)
    assert history.history["accuracy"][-1] == 1.0
    assert history.history["loss"][-1] < 0.1 < history.history["loss"][0]


# --- fit against Keras's fit, float32 ----------------------------------------------

FIT_CASES = {
    "bce-sgd": ("sigmoid", "binary_crossentropy", keras.losses.BinaryCrossentropy(), dict(learning_rate=0.5), 1),
    "bce-logits-momentum": ("linear", losses.BinaryCrossentropy(from_logits=True),
                            keras.losses.BinaryCrossentropy(from_logits=True), dict(learning_rate=0.2, momentum=0.9), 1),
    "mse-nesterov": ("linear", "mse", keras.losses.MeanSquaredError(), dict(learning_rate=0.05, momentum=0.8, nesterov=True), 2),
    "sparse-cce-momentum": ("softmax", "sparse_categorical_crossentropy", keras.losses.SparseCategoricalCrossentropy(),
                            dict(learning_rate=0.3, momentum=0.5), 3),
}


def fit_data(units, rng):
    x = rng.standard_normal((32, 3)).astype(np.float32)
    if units == 3:
        return x, np.argmax(x, axis=1)
    if units == 2:
        return x, np.stack([x[:, 0] * x[:, 1], np.sin(x[:, 2])], axis=1).astype(np.float32)
    return x, (x[:, 0] * x[:, 1] > 0).astype(np.float32)


@pytest.mark.parametrize("case", FIT_CASES)
def test_full_batch_fit_matches_keras(case):
    output_activation, loss, keras_loss, sgd, units = FIT_CASES[case]
    rng = np.random.default_rng(7)
    x, y = fit_data(units, rng)
    model = Sequential([layers.Dense(3, 5, "tanh", rng=rng, dtype="float32", bias_initializer="random_normal"),
                        layers.Dense(5, units, output_activation, rng=rng, dtype="float32")])
    keras_model = keras_bridge.to_keras(model)
    model.compile(loss=loss, optimizer=optimizers.SGD(**sgd))
    keras_model.compile(loss=keras_loss, optimizer=keras.optimizers.SGD(**sgd))
    epochs = 6
    ours = model.fit(x, y, epochs=epochs, batch_size=len(x), shuffle=False).history["loss"]
    theirs = keras_model.fit(x, y, epochs=epochs, batch_size=len(x), shuffle=False, verbose=0).history["loss"]
    # Keras logs the loss met during each epoch's step, nnlib the loss after it: shift by one
    np.testing.assert_allclose(ours[:-1], theirs[1:], rtol=1e-5)
    assert ours[-1] == pytest.approx(keras_model.evaluate(x, y, verbose=0), rel=1e-5)
    assert ours[-1] < ours[0]
    for mine, keras_weight in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-5, atol=1e-6)


def test_fit_with_batch_norm_penalties_and_a_schedule_matches_keras():
    """Training-mode batch statistics, moving averages, L2 in the loss and the gradient, and a
    decaying learning rate, over mini-batches: the weights follow Keras's step for step."""
    from nnlib import regularizers, schedules

    rng = np.random.default_rng(9)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(np.float32)
    model = Sequential([layers.Dense(3, 6, "tanh", rng=rng, dtype="float32", kernel_regularizer=regularizers.L2(0.01)),
                        layers.BatchNormalization(6, dtype="float32"),
                        layers.Dense(6, 1, "sigmoid", rng=rng, dtype="float32", kernel_regularizer=regularizers.L1(0.001))])
    keras_model = keras_bridge.to_keras(model)
    schedule = dict(initial_learning_rate=0.05, decay_steps=4, decay_rate=0.5)
    model.compile(loss="binary_crossentropy", optimizer=optimizers.Adam(schedules.ExponentialDecay(**schedule)))
    keras_model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(**schedule)))
    ours = model.fit(x, y, epochs=3, batch_size=8, shuffle=False).history["loss"]
    keras_model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    for mine, keras_weight in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-4, atol=1e-5)
    # evaluate includes the penalties, as Keras's does
    assert ours[-1] == pytest.approx(keras_model.evaluate(x, y, verbose=0, batch_size=32), rel=1e-4)


def test_mini_batch_fit_without_shuffle_matches_keras():
    """Batches of 8 taken in order, the last one short (30 = 3 * 8 + 6)."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((30, 3)).astype(np.float32)
    y = (x.sum(axis=1) > 0).astype(np.float32)
    model = Sequential([layers.Dense(3, 4, "relu", rng=rng, dtype="float32", bias_initializer="random_normal"),
                        layers.Dense(4, 1, "sigmoid", rng=rng, dtype="float32")])
    keras_model = keras_bridge.to_keras(model)
    model.compile(loss="binary_crossentropy", optimizer=optimizers.SGD(0.3, momentum=0.9))
    keras_model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.3, momentum=0.9))
    model.fit(x, y, epochs=3, batch_size=8, shuffle=False)
    keras_model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    for mine, keras_weight in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-5, atol=1e-6)


# --- bad input ---------------------------------------------------------------------

def test_sequential_refuses_bad_layer_lists():
    with pytest.raises(ValueError, match=r"Sequential expected at least one layer\. Received: an empty list"):
        Sequential([])
    with pytest.raises(TypeError, match=r"Sequential expected nnlib layers\. Received: str at position 1"):
        Sequential([layers.Dense(2, 2), "relu"])
    with pytest.raises(ValueError, match=r"expected each layer's in_features to equal the previous layer's units\. "
                                         r"Received: Dense\(2, 3, activation='linear'\) followed by Dense\(2, 1, activation='linear'\)"):
        Sequential([layers.Dense(2, 3), layers.Dense(2, 1)])


def test_compile_refuses_unknown_loss_optimizer_and_metrics():
    model = two_two_one()
    with pytest.raises(ValueError, match=r"metrics expected only 'accuracy'\. Received: 'auc'"):
        model.compile(metrics=["accuracy", "auc"])
    with pytest.raises(ValueError, match=r"loss expected one of \[.*\]\. Received: loss='log_cosh'"):
        model.compile(loss="log_cosh")
    with pytest.raises(ValueError, match=r"optimizer expected .*\. Received: 'adadelta'"):
        model.compile(optimizer="adadelta")


def test_fit_and_evaluate_refuse_bad_arguments():
    model = two_two_one()
    x, y = np.zeros((4, 2)), np.zeros(4)
    with pytest.raises(RuntimeError, match=r"call compile\(loss=\.\.\., optimizer=\.\.\.\) before fit or evaluate"):
        model.fit(x, y)
    with pytest.raises(RuntimeError, match=r"before fit or evaluate"):
        model.evaluate(x, y)
    model.compile(loss="mse")
    with pytest.raises(ValueError, match=r"fit expected as many targets as inputs\. Received: x has 4 rows, y has 3"):
        model.fit(x, y[:3])
    with pytest.raises(ValueError, match=r"epochs expected a positive integer\. Received: epochs=0"):
        model.fit(x, y, epochs=0)
    with pytest.raises(TypeError, match=r"batch_size expected a positive integer\. Received: 2\.0"):
        model.fit(x, y, batch_size=2.0)
    with pytest.raises(TypeError, match=r"rng expected a numpy\.random\.Generator .*Received: int"):
        model.fit(x, y, rng=1)
    with pytest.raises(TypeError, match=r"x expected an array of numbers\. Received: str"):
        model.fit("x", y)
    with pytest.raises(ValueError, match=r"batch_size expected a positive integer\. Received: batch_size=-1"):
        model.predict(x, batch_size=-1)


def test_set_weights_refuses_wrong_count_and_backward_refuses_wrong_shape():
    model = two_two_one()
    with pytest.raises(ValueError, match=r"set_weights expected 4 arrays\. Received: 3"):
        model.set_weights(model.get_weights()[:3])
    with pytest.raises(ValueError, match=r"dense\.set_weights expected kernel of shape \(2, 1\)\. Received: shape=\(1, 2\)"):
        model.set_weights([np.zeros((2, 2)), np.zeros(2), np.zeros((1, 2)), np.zeros(1)])
    model.forward(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"Dense layer 'dense' backward expected dout of shape \(3, 1\)\. Received: dout\.shape=\(3, 2\)"):
        model.backward(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"Dense layer 'dense' expected input of shape \(batch, 2\)\. Received: x\.shape=\(3, 3\)"):
        model.predict(np.zeros((3, 3)))


# --- per-layer gradients (chapters 06, 11, 12) ----------------------------------------

def deep_sigmoid_model(rng, depth=5):
    sizes = [3] + [6] * (depth - 1) + [1]
    model = Sequential([layers.Dense(a, b, "sigmoid", rng=rng) for a, b in zip(sizes, sizes[1:])])
    model.compile(loss="binary_crossentropy")
    return model


def test_compute_gradients_changes_nothing_and_matches_central_differences():
    rng = np.random.default_rng(11)
    model = deep_sigmoid_model(rng)
    x, y = rng.standard_normal((10, 3)), (rng.random(10) > 0.5).astype(float)
    before = model.get_weights()
    loss, grads = model.compute_gradients(x, y)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert loss == pytest.approx(model.evaluate(x, y)["loss"], rel=1e-12)
    for param, grad in zip(model.parameters(), grads):
        numerical = gradcheck.numerical_gradient(lambda: model.loss(y, model.forward(x)), param)
        assert gradcheck.relative_error(grad, numerical) < 1e-5  # small components: rounding noise ~1e-6
    assert [g.shape for g in grads] == [p.shape for p in model.parameters()]


def test_gradient_norms_are_the_norms_of_each_layer_gradient():
    rng = np.random.default_rng(12)
    model = deep_sigmoid_model(rng, depth=4)
    model.compute_gradients(rng.standard_normal((8, 3)), np.ones(8))
    norms = model.gradient_norms()
    assert norms.shape == (4,)
    np.testing.assert_allclose(norms, [np.linalg.norm(layer.grads["kernel"]) for layer in model.layers])
    np.testing.assert_allclose(model.gradient_norms("bias"), [np.linalg.norm(layer.grads["bias"]) for layer in model.layers])


def test_gradient_norms_match_the_tape():
    rng = np.random.default_rng(13)
    model = deep_sigmoid_model(rng, depth=6)
    x, y = rng.standard_normal((16, 3)), (rng.random(16) > 0.5).astype(float)
    loss, grads = model.compute_gradients(x, y)
    keras_loss, keras_grads = keras_bridge.tape_gradients(keras_bridge.to_keras(model, dtype="float64"), "binary_crossentropy", x, y[:, None])
    assert loss == pytest.approx(keras_loss, rel=1e-12)
    for grad, keras_grad in zip(grads, keras_grads):
        np.testing.assert_allclose(grad, keras_grad, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(model.gradient_norms(), [np.linalg.norm(g) for g in keras_grads[::2]], rtol=1e-9)


def test_compute_gradients_and_gradient_norms_refuse_misuse():
    rng = np.random.default_rng(14)
    model = deep_sigmoid_model(rng, depth=2)
    with pytest.raises(RuntimeError, match=r"gradient_norms called before backward"):
        model.gradient_norms()
    with pytest.raises(ValueError, match=r"gradient_norms expected layers with a parameter 'gamma'\. Received: Sequential"):
        model.gradient_norms("gamma")
    with pytest.raises(ValueError, match=r"compute_gradients expected as many targets as inputs\. Received: x has 4 rows, y has 3"):
        model.compute_gradients(np.zeros((4, 3)), np.zeros(3))
    uncompiled = Sequential([layers.Dense(2, 1)])
    with pytest.raises(RuntimeError, match=r"call compile"):
        uncompiled.compute_gradients(np.zeros((1, 2)), np.zeros(1))


def test_penalties_join_the_loss_and_the_gradients():
    """compute_gradients differentiates loss + penalties; backward alone stays the plain derivative."""
    from nnlib import regularizers

    rng = np.random.default_rng(15)
    model = Sequential([layers.Dense(3, 4, "tanh", rng=rng, kernel_regularizer=regularizers.L1L2(l1=0.01, l2=0.02)),
                        layers.Dense(4, 1, rng=rng, kernel_regularizer="l2", bias_regularizer=regularizers.L2(0.5))])
    model.compile(loss="mse")
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 1))
    loss, grads = model.compute_gradients(x, y)
    expected_penalty = (0.01 * np.abs(model.layers[0].kernel).sum() + 0.02 * (model.layers[0].kernel ** 2).sum()
                        + 0.01 * (model.layers[1].kernel ** 2).sum() + 0.5 * (model.layers[1].bias ** 2).sum())
    assert model.regularization_loss() == pytest.approx(expected_penalty, rel=1e-12)
    assert loss == pytest.approx(losses.mean_squared_error(y, model.predict(x)) + expected_penalty, rel=1e-12)
    assert model.evaluate(x, y)["loss"] == pytest.approx(loss, rel=1e-12)
    for param, grad in zip(model.parameters(), grads):
        numerical = gradcheck.numerical_gradient(lambda: model.loss(y, model.forward(x)) + model.regularization_loss(), param)
        assert gradcheck.relative_error(grad, numerical) < 1e-5
    with pytest.raises(ValueError, match=r"regularizer"):
        layers.Dense(2, 2, kernel_regularizer="l3")


# --- cross-entropy from the logits of a sigmoid or softmax output (issue 11, item 1) ---

def saturated_binary_model(output="dense"):
    """The issue's repro: one sigmoid unit with kernel 30, confidently wrong on both points."""
    if output == "dense":
        model = Sequential([layers.Dense(1, 1, "sigmoid", dtype="float32")])
    else:
        model = Sequential([layers.Dense(1, 1, dtype="float32"), layers.Activation("sigmoid")])
    model.set_weights([np.array([[30.0]]), np.array([0.0])])
    return model


@pytest.mark.parametrize("output", ["dense", "activation-layer"])
def test_saturated_sigmoid_with_binary_crossentropy_is_computed_from_the_logits_like_keras(output):
    x, y = np.array([[1.0], [-1.0]], dtype=np.float32), np.array([[0.0], [1.0]], dtype=np.float32)
    model = saturated_binary_model(output)
    model.compile(loss="binary_crossentropy", optimizer=optimizers.SGD(0.1))
    keras_model = keras_bridge.to_keras(model)
    keras_model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.1))
    # Keras: 30.0 (the full |z|); the clipped form on the probabilities caps it at 16.03
    assert model.evaluate(x, y)["loss"] == pytest.approx(keras_model.evaluate(x, y, verbose=0), rel=1e-6)
    assert model.evaluate(x, y)["loss"] == pytest.approx(30.0, rel=1e-6)
    assert model.loss(y, model.predict(x)) == pytest.approx(16.03, abs=0.01)  # probabilities from elsewhere: clipped
    loss, grads = model.compute_gradients(x, y)
    keras_loss, keras_grads = keras_bridge.tape_gradients(keras_model, "binary_crossentropy", x, y)
    assert loss == pytest.approx(keras_loss, rel=1e-6)
    np.testing.assert_allclose(grads[0], [[1.0]], rtol=1e-6)  # the clipped form gave 0
    for grad, keras_grad in zip(grads, keras_grads, strict=True):
        np.testing.assert_allclose(grad, keras_grad, rtol=1e-6, atol=1e-7)


SATURATED_CASES = {
    "softmax-dense-cce": ("dense", losses.CategoricalCrossentropy(), keras.losses.CategoricalCrossentropy(), "one_hot"),
    "softmax-layer-cce": ("layer", "categorical_crossentropy", "categorical_crossentropy", "one_hot"),
    "softmax-dense-sparse": ("dense", "sparse_categorical_crossentropy", "sparse_categorical_crossentropy", "sparse"),
    "softmax-layer-sparse-sum": ("layer", losses.SparseCategoricalCrossentropy(reduction="sum"),
                                 keras.losses.SparseCategoricalCrossentropy(reduction="sum"), "sparse"),
    "sigmoid-dense-bce-smoothing": ("sigmoid", losses.BinaryCrossentropy(label_smoothing=0.1),
                                    keras.losses.BinaryCrossentropy(label_smoothing=0.1), "binary"),
}


def saturated_classifier(output, rng):
    """A model whose logits reach +-60: far beyond the probability clip (|z| > 16)."""
    units = 1 if output == "sigmoid" else 3
    hidden = layers.Dense(4, 6, "tanh", rng=rng, dtype="float32")
    if output == "layer":
        last = [layers.Dense(6, units, rng=rng, dtype="float32"), layers.Activation("softmax")]
    else:
        last = [layers.Dense(6, units, "sigmoid" if output == "sigmoid" else "softmax", rng=rng, dtype="float32")]
    model = Sequential([hidden, *last])
    kernel = model.layers[1].params["kernel"]
    kernel *= np.float32(60.0 / np.abs(kernel).sum(axis=0).max())
    return model, units


@pytest.mark.parametrize("case", SATURATED_CASES)
def test_saturated_outputs_evaluate_differentiate_and_train_like_keras(case):
    output, loss, keras_loss, kind = SATURATED_CASES[case]
    rng = np.random.default_rng(21)
    model, units = saturated_classifier(output, rng)
    x = rng.standard_normal((24, 4)).astype(np.float32)
    labels = rng.integers(0, units if units > 1 else 2, 24)
    y = {"one_hot": lambda: np.eye(3, dtype=np.float32)[labels], "sparse": lambda: labels,
         "binary": lambda: labels[:, None].astype(np.float32)}[kind]()
    learning_rate = 0.05 / 8 if "sum" in case else 0.05  # a summed loss: per-sample steps
    model.compile(loss=loss, optimizer=optimizers.SGD(learning_rate))
    keras_model = keras_bridge.to_keras(model)
    keras_model.compile(loss=keras_loss, optimizer=keras.optimizers.SGD(learning_rate))
    model.predict(x)
    assert np.abs(model.layers[-1].cached_pre_activation()).max() > 20  # far beyond the clip
    assert model.evaluate(x, y)["loss"] == pytest.approx(keras_model.evaluate(x, y, verbose=0, batch_size=24), rel=1e-5)
    loss_value, grads = model.compute_gradients(x, y)
    keras_value, keras_grads = keras_bridge.tape_gradients(keras_model, keras_model.loss, x, y)
    assert loss_value == pytest.approx(keras_value, rel=1e-5)
    for grad, keras_grad in zip(grads, keras_grads, strict=True):
        np.testing.assert_allclose(grad, keras_grad, rtol=1e-4, atol=1e-5)
    model.fit(x, y, epochs=3, batch_size=8, shuffle=False)
    keras_model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    for mine, keras_weight in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-4, atol=1e-5)


def test_logits_path_equals_a_linear_output_with_from_logits_bit_for_bit():
    """sigmoid + BCE in Sequential is exactly linear + BCE(from_logits=True): same loss, same steps."""
    rng = np.random.default_rng(22)
    x, y = rng.standard_normal((16, 3)), (rng.random(16) > 0.5).astype(float)
    weights = Sequential([layers.Dense(3, 4, "tanh", rng=rng), layers.Dense(4, 1, rng=rng)]).get_weights()
    weights[2] *= 40.0  # saturate
    runs = {}
    for activation, loss in (("sigmoid", losses.BinaryCrossentropy()), ("linear", losses.BinaryCrossentropy(from_logits=True))):
        model = Sequential([layers.Dense(3, 4, "tanh"), layers.Dense(4, 1, activation)])
        model.set_weights(weights)
        model.compile(loss=loss, optimizer=optimizers.SGD(0.1))
        runs[activation] = (model.fit(x, y, epochs=5, batch_size=4, shuffle=False).history["loss"], model.get_weights())
    assert runs["sigmoid"][0] == runs["linear"][0]
    for a, b in zip(runs["sigmoid"][1], runs["linear"][1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_mixed_pairs_keep_the_probabilities_where_keras_reuses_the_other_logits():
    """softmax + BCE: nnlib scores the probabilities (clipped form); Keras takes the cached softmax
    logits as if they were sigmoid logits. Documented in Sequential's notes."""
    rng = np.random.default_rng(23)
    model = Sequential([layers.Dense(3, 2, "softmax", rng=rng, dtype="float32")])
    model.compile(loss="binary_crossentropy")
    x = rng.standard_normal((6, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 6)]
    assert model.evaluate(x, y)["loss"] == losses.binary_crossentropy(y, model.predict(x))
    keras_model = keras_bridge.to_keras(model)
    keras_value = float(keras.losses.BinaryCrossentropy()(y, keras_model(x)))
    logits = model.layers[0].cached_pre_activation()
    assert keras_value == pytest.approx(losses.binary_crossentropy(y, logits, from_logits=True), rel=1e-5)
    assert keras_value != pytest.approx(model.evaluate(x, y)["loss"], rel=1e-2)


# --- sample_weight in fit and evaluate (item 7) ---------------------------------------

def test_fit_and_evaluate_with_sample_weight_match_keras():
    rng = np.random.default_rng(24)
    x = rng.standard_normal((30, 3)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32)
    weights = rng.uniform(0.0, 3.0, 30).astype(np.float32)
    model = Sequential([layers.Dense(3, 4, "tanh", rng=rng, dtype="float32"), layers.Dense(4, 1, "sigmoid", rng=rng, dtype="float32")])
    keras_model = keras_bridge.to_keras(model)
    model.compile(loss="binary_crossentropy", optimizer=optimizers.SGD(0.3, momentum=0.5), metrics=("accuracy",))
    keras_model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.3, momentum=0.5), weighted_metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=8, shuffle=False, sample_weight=weights)
    keras_model.fit(x, y, epochs=3, batch_size=8, shuffle=False, sample_weight=weights, verbose=0)
    for mine, keras_weight in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-5, atol=1e-6)
    ours = model.evaluate(x, y, sample_weight=weights)
    keras_loss, keras_accuracy = keras_model.evaluate(x, y, sample_weight=weights, batch_size=30, verbose=0)
    assert ours["loss"] == pytest.approx(keras_loss, rel=1e-5)
    assert ours["accuracy"] == pytest.approx(keras_accuracy, rel=1e-6)
    # weights of one change nothing; a zero weight removes a sample from the gradient
    assert model.evaluate(x, y, sample_weight=np.ones(30))["loss"] == model.evaluate(x, y)["loss"]
    _, grads = model.compute_gradients(x, y, sample_weight=np.r_[np.ones(10), np.zeros(20)])
    _, first_ten = model.compute_gradients(x[:10], y[:10])
    for grad, expected in zip(grads, first_ten, strict=True):
        np.testing.assert_allclose(grad, expected * 10 / 30, rtol=1e-5, atol=1e-7)  # sum over 30, as Keras


def test_validation_data_with_sample_weights():
    rng = np.random.default_rng(25)
    x, y = rng.standard_normal((12, 2)), rng.standard_normal((12, 1))
    model = Sequential([layers.Dense(2, 1, rng=rng)])
    model.compile(loss="mse", optimizer=optimizers.SGD(0.1))
    weights = np.r_[np.ones(4), np.zeros(8)]
    history = model.fit(x, y, epochs=2, validation_data=(x, y, weights))
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x[:4], y[:4])["loss"] * 4 / 12, rel=1e-12)


# --- divergence: History and TerminateOnNaN (bad-input policy) ------------------------

def diverging_regression(rng, dtype="float32"):
    x = (10 * rng.standard_normal((40, 3))).astype(dtype)
    y = (100 * rng.standard_normal((40, 1))).astype(dtype)
    model = Sequential([layers.Dense(3, 1, rng=rng, dtype=dtype)])
    return model, x, y


def test_history_records_a_non_finite_loss_like_keras():
    rng = np.random.default_rng(26)
    model, x, y = diverging_regression(rng)
    keras_model = keras_bridge.to_keras(model)
    model.compile(loss="mse", optimizer=optimizers.SGD(0.5))
    keras_model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.5))
    with np.errstate(over="ignore", invalid="ignore"):
        ours = model.fit(x, y, epochs=30, batch_size=40, shuffle=False).history["loss"]
    theirs = keras_model.fit(x, y, epochs=30, batch_size=40, shuffle=False, verbose=0).history["loss"]
    assert len(ours) == len(theirs) == 30
    assert not np.isfinite(ours[-1]) and not np.isfinite(theirs[-1])
    # the same epochs are non-finite (nnlib logs after the step, Keras during it: shift by one)
    np.testing.assert_array_equal(np.isfinite(ours[:-1]), np.isfinite(theirs[1:]))


def test_terminate_on_nan_stops_at_the_same_batch_as_keras(capsys):
    from nnlib.callbacks import TerminateOnNaN

    rng = np.random.default_rng(27)
    model, x, y = diverging_regression(rng)
    keras_model = keras_bridge.to_keras(model)
    model.compile(loss="mse", optimizer=optimizers.SGD(0.5))
    keras_model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.5))

    class Ends(Callback):
        def on_train_begin(self, model):
            self.ended = False

        def on_train_end(self, model):
            self.ended = True

    ends = Ends()
    with np.errstate(over="ignore", invalid="ignore"):
        history = model.fit(x, y, epochs=20, batch_size=8, shuffle=False, callbacks=[TerminateOnNaN(), ends])
    ours = capsys.readouterr().out
    keras_history = keras_model.fit(x, y, epochs=20, batch_size=8, shuffle=False, verbose=0,
                                    callbacks=[keras.callbacks.TerminateOnNaN()])
    theirs = capsys.readouterr().out
    assert ours.startswith("Batch ") and ours.endswith(": Invalid loss, terminating training\n")
    assert ours == theirs
    assert len(history.epoch) == len(keras_history.epoch) < 20
    assert not np.isfinite(history.history["loss"][-1]) and not np.isfinite(keras_history.history["loss"][-1])
    assert ends.ended  # a graceful stop: every on_train_end runs
    with pytest.raises(RuntimeError, match=r"NaN or Inf loss encountered at batch \d+\. Loss value: (nan|inf)\. Terminating training immediately\."):
        with np.errstate(over="ignore", invalid="ignore"):
            model.fit(x, y, epochs=5, batch_size=8, shuffle=False, callbacks=[TerminateOnNaN(raise_error=True)])


def test_batch_callbacks_see_the_running_mean_of_the_batch_losses():
    rng = np.random.default_rng(28)
    x, y = rng.standard_normal((10, 2)), rng.standard_normal((10, 1))
    model = Sequential([layers.Dense(2, 1, rng=rng)])
    model.compile(loss="mse", optimizer=optimizers.SGD(0.0001))

    class Recorder(Callback):
        def __init__(self):
            self.seen = []

        def on_train_batch_end(self, model, batch, logs):
            self.seen.append((batch, logs["loss"]))

    recorder = Recorder()
    start = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=4, shuffle=False, callbacks=[recorder])
    assert [batch for batch, _ in recorder.seen] == [0, 1, 2]
    probe = Sequential([layers.Dense(2, 1)])
    probe.set_weights(start)
    probe.compile(loss="mse", optimizer=optimizers.SGD(0.0001))
    batch_losses = [probe.train_step(x[i:i + 4], y[i:i + 4]) for i in (0, 4, 8)]
    sizes = np.array([4, 4, 2])
    expected = np.cumsum(np.array(batch_losses) * sizes) / np.cumsum(sizes)
    np.testing.assert_allclose([loss for _, loss in recorder.seen], expected, rtol=1e-12)


def test_summary_gives_conv_channels_and_flat_for_flatten():
    model = Sequential([layers.Conv2D(1, 4, 3), layers.MaxPooling2D(), layers.Flatten(), layers.Dense(16, 10)])
    widths = [line.split()[-2] for line in model.summary().splitlines()[1:-1]]
    assert widths == ["4", "same", "flat", "10"]
