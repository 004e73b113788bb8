"""Tests for nnlib.layers.Residual: y = x + f(x) by hand, float64 gradient checks, parity with
nnlib's tape and with Keras (a functional graph with keras.layers.Add, forward and GradientTape
gradients), counts by the hand formula, the block inside Sequential (fit, optimizers,
regularizers, weights, summary, gradient norms), bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import autodiff, keras_bridge, layers, optimizers
from nnlib.gradcheck import check_layer
from nnlib.model import Sequential

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

GRAD_TOL = 1e-5  # as in test_dense.py: float64 central differences, h = 1e-6


def block(width=4, seed=0, hidden="tanh", dtype="float64", **kwargs):
    rng = np.random.default_rng(seed)
    inner = [layers.Dense(width, width, hidden, rng=rng, dtype=dtype, **kwargs), layers.Dense(width, width, rng=rng, dtype=dtype, **kwargs)]
    for layer in inner:  # non-zero biases, so that they matter
        layer.params["bias"][...] = rng.standard_normal(width)
    return layers.Residual(inner)


def residual_model(seed=0, dtype="float64", output="softmax"):
    rng = np.random.default_rng(seed)
    return Sequential([
        layers.Dense(3, 5, "relu", rng=rng, dtype=dtype),
        block(5, seed + 1, dtype=dtype),
        layers.Residual([layers.Dense(5, 5, "relu", rng=rng, dtype=dtype), layers.BatchNormalization(5, dtype=dtype),
                         layers.Residual([layers.Activation("tanh")])]),
        layers.Dense(5, 2, output, rng=rng, dtype=dtype),
    ])


# --- by hand ----------------------------------------------------------------------------

def test_forward_and_backward_by_hand():
    """f = a linear Dense(2, 2) with W = [[1, 2], [3, 4]], b = 0: y = x + xW, dx = G + G W^T."""
    inner = layers.Dense(2, 2, kernel_initializer="zeros")
    inner.set_weights([np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros(2)])
    residual = layers.Residual([inner])
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(residual.forward(x), [[2.0, 2.0], [3.0, 5.0]])
    dx = residual.backward(np.array([[1.0, 0.0], [0.0, 0.0]]))
    np.testing.assert_array_equal(dx, [[2.0, 3.0], [0.0, 0.0]])
    np.testing.assert_array_equal(residual.grads["0/kernel"], [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(residual.grads["0/bias"], [1.0, 0.0])


def test_params_are_views_of_the_inner_layers():
    residual = block(3)
    assert list(residual.params) == ["0/kernel", "0/bias", "1/kernel", "1/bias"]
    assert residual.params["1/kernel"] is residual.layers[1].params["kernel"]
    residual.forward(np.ones((2, 3)))
    residual.backward(np.ones((2, 3)))
    assert residual.grads["0/bias"] is residual.layers[0].grads["bias"]
    assert residual.in_features == residual.units == 3 and residual.dtype == np.float64
    assert repr(residual) == "Residual([Dense(3, 3, activation='tanh'), Dense(3, 3, activation='linear')])"
    with pytest.raises(AttributeError, match="view"):
        residual.params = {"kernel": np.ones(2)}


def test_zero_branch_is_the_identity():
    inner = layers.Dense(3, 3, kernel_initializer="zeros")
    residual = layers.Residual([inner])
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_array_equal(residual.forward(x), x)
    np.testing.assert_array_equal(residual.backward(x), x)


def test_float32_block_computes_in_float32():
    residual = block(3, dtype="float32")
    out = residual.forward(np.ones((2, 3), dtype=np.float32))
    assert out.dtype == np.float32 and residual.dtype == np.float32
    assert residual.backward(np.ones((2, 3), dtype=np.float32)).dtype == np.float32


def test_get_weights_copies_and_set_weights_writes_in_place_or_not_at_all():
    residual = block(3)
    weights = residual.get_weights()
    assert [w.shape for w in weights] == [(3, 3), (3,), (3, 3), (3,)]
    weights[0][...] = 7.0
    assert not np.any(residual.layers[0].kernel == 7.0)
    kernel = residual.layers[0].params["kernel"]
    residual.set_weights([np.full((3, 3), 2.0), np.zeros(3), np.eye(3), np.ones(3)])
    assert residual.layers[0].params["kernel"] is kernel and np.all(kernel == 2.0)
    before = residual.get_weights()
    with pytest.raises(ValueError, match=r"expected kernel of shape \(3, 3\)"):
        residual.set_weights([np.zeros((3, 3)), np.zeros(3), np.zeros((2, 3)), np.zeros(3)])
    for old, new in zip(before, residual.get_weights(), strict=True):  # the first layer was put back
        np.testing.assert_array_equal(old, new)


# --- gradients: central differences and nnlib's tape --------------------------------------

@pytest.mark.parametrize("hidden", ["tanh", "relu", "sigmoid", "linear"])
def test_gradients_match_central_differences(hidden):
    residual = block(4, hidden=hidden)
    x = np.random.default_rng(1).standard_normal((6, 4))
    errors = check_layer(residual, x, rng=np.random.default_rng(2))
    assert set(errors) == {"input", "0/kernel", "0/bias", "1/kernel", "1/bias"}
    assert max(errors.values()) < GRAD_TOL, errors


def test_nested_blocks_with_batch_normalization_match_central_differences():
    rng = np.random.default_rng(3)
    inner = layers.Residual([layers.Dense(3, 3, "tanh", rng=rng), layers.BatchNormalization(3)])
    outer = layers.Residual([inner, layers.Dense(3, 3, "tanh", rng=rng), layers.Residual([layers.Activation("sigmoid")])])
    errors = check_layer(outer, rng.standard_normal((5, 3)), rng=rng)
    assert "0/1/gamma" in errors and max(errors.values()) < GRAD_TOL, errors


@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 5), width=st.integers(1, 5), depth=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_gradients_for_any_shape(batch, width, depth, seed):
    rng = np.random.default_rng(seed)
    residual = layers.Residual([layers.Dense(width, width, "tanh", rng=rng) for _ in range(depth)])
    errors = check_layer(residual, rng.standard_normal((batch, width)), rng=rng)
    assert max(errors.values()) < GRAD_TOL, errors


def test_gradients_equal_nnlib_tape():
    residual = block(4)
    (w1, b1), (w2, b2) = [layer.get_weights() for layer in residual.layers]
    rng = np.random.default_rng(4)
    x, upstream = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))

    def loss(x, w1, b1, w2, b2):
        y = x + ((x @ w1 + b1).tanh() @ w2 + b2)
        return (y * upstream).sum()

    tape = autodiff.grad(loss, x, w1, b1, w2, b2)
    residual.forward(x)
    dx = residual.backward(upstream)
    ours = [dx, *(residual.grads[key] for key in residual.params)]
    for mine, theirs in zip(ours, tape, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)


# --- Keras -----------------------------------------------------------------------------------

def keras_block(residual, dtype):
    width = residual.in_features
    inputs = keras.Input(shape=(width,), dtype=dtype)
    hidden = inputs
    for layer in residual.layers:
        hidden = keras.layers.Dense(width, activation=layer.activation.name, dtype=dtype)(hidden)
    model = keras.Model(inputs, keras.layers.Add(dtype=dtype)([inputs, hidden]))
    model.set_weights(residual.get_weights())
    return model


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_forward_and_gradients_match_keras_add(dtype, rtol):
    residual = block(4, dtype=dtype)
    theirs = keras_block(residual, dtype)
    rng = np.random.default_rng(5)
    x, upstream = rng.standard_normal((6, 4)).astype(dtype), rng.standard_normal((6, 4)).astype(dtype)
    x_tf = tf.Variable(x)
    with tf.GradientTape() as tape:
        scalar = tf.reduce_sum(theirs(x_tf) * upstream)
    keras_grads = tape.gradient(scalar, [x_tf, *theirs.trainable_weights])
    np.testing.assert_allclose(residual.forward(x), theirs(x).numpy(), rtol=rtol, atol=rtol)
    dx = residual.backward(upstream)
    for mine, reference in zip([dx, *(residual.grads[key] for key in residual.params)], keras_grads, strict=True):
        np.testing.assert_allclose(mine, reference.numpy(), rtol=rtol, atol=rtol)


# --- counts -------------------------------------------------------------------------------

@pytest.mark.parametrize("width, depth", [(1, 1), (4, 2), (16, 3)])
def test_counts_equal_the_hand_formula_and_keras(width, depth):
    """A block of `depth` Dense(w, w): depth (w^2 + w) parameters, depth w^2 multiply-adds."""
    rng = np.random.default_rng(0)
    residual = layers.Residual([layers.Dense(width, width, "relu", rng=rng) for _ in range(depth)])
    assert residual.count_params() == depth * (width**2 + width)
    assert residual.multiply_adds() == depth * width**2
    model = Sequential([layers.Dense(3, width, rng=rng), residual, layers.Dense(width, 2, rng=rng)])
    assert model.multiply_adds() == [3 * width, depth * width**2, 2 * width]
    converted = keras_bridge.to_keras(model)
    assert converted.count_params() == model.count_params() == 3 * width + width + depth * (width**2 + width) + 2 * width + 2


def test_batch_normalization_inside_counts_its_moving_statistics_as_keras_does():
    residual = layers.Residual([layers.Dense(4, 4), layers.BatchNormalization(4)])
    assert residual.count_params() == 20 + 16
    assert residual.multiply_adds() == 16 + 4  # the folded a x + b of batch normalisation: one per feature


# --- inside Sequential --------------------------------------------------------------------

def test_sequential_walks_the_block_like_a_layer():
    model = residual_model()
    assert len(model.parameters()) == 2 + 4 + 4 + 2
    x, y = np.random.default_rng(6).standard_normal((12, 3)), np.arange(12) % 2
    model.compile("sparse_categorical_crossentropy", optimizers.Adam(0.01), metrics=["accuracy"])
    loss, grads = model.compute_gradients(x, y)
    assert [g.shape for g in grads] == [p.shape for p in model.parameters()]
    norms = model.gradient_norms()  # the Dense layers inside blocks count one by one
    assert len(norms) == 5 and np.all(norms > 0)
    np.testing.assert_allclose(norms[1], np.linalg.norm(model.layers[1].layers[0].grads["kernel"]))
    summary = model.summary()
    assert "Residual([Dense(5, 5" in summary and summary.splitlines()[-1].split()[-1] == str(model.count_params())
    history = model.fit(x, y, epochs=30, batch_size=4, rng=np.random.default_rng(7))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y)["loss"] == pytest.approx(history.history["loss"][-1])
    weights = model.get_weights()
    fresh = residual_model(seed=9)
    fresh.set_weights(weights)
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))


def test_sequential_gradients_match_central_differences_of_the_loss():
    model = residual_model(output="linear")
    model.compile("mse", "sgd")
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    model.layers[2].layers[1].momentum = 1.0  # keep the moving statistics still while differencing
    _, grads = model.compute_gradients(x, y)
    from nnlib.gradcheck import numerical_gradient, relative_error

    def loss():
        return model.loss(y, model.forward(x, training=True))

    for param, grad in zip(model.parameters(), grads, strict=True):
        assert relative_error(grad, numerical_gradient(loss, param, 1e-6)) < GRAD_TOL


def test_regularizers_inside_blocks_reach_the_loss_and_the_gradients():
    rng = np.random.default_rng(10)
    inner = layers.Dense(3, 3, "tanh", rng=rng, kernel_regularizer=nnlib.regularizers.L2(0.1))
    model = Sequential([layers.Residual([inner]), layers.Dense(3, 1, rng=rng)])
    model.compile("mse", "sgd")
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 1))
    plain_loss = model.loss(y, model.forward(x))
    assert model.regularization_loss() == pytest.approx(0.1 * np.sum(inner.kernel**2))
    assert model.evaluate(x, y)["loss"] == pytest.approx(plain_loss + model.regularization_loss())
    model.compute_gradients(x, y)
    with_penalty = inner.grads["kernel"].copy()
    model.forward(x, training=True)
    model.backward(model.loss.gradient(y, model.forward(x, training=True)))
    np.testing.assert_allclose(with_penalty - inner.grads["kernel"], 0.2 * inner.kernel, atol=1e-12)


# --- through keras_bridge -----------------------------------------------------------------

def test_to_keras_builds_the_functional_graph_and_round_trips():
    model = residual_model()
    converted = keras_bridge.to_keras(model, dtype="float64")
    assert not isinstance(converted, keras.Sequential)
    assert sum(isinstance(layer, keras.layers.Add) for layer in converted.layers) == 3
    x = np.random.default_rng(11).standard_normal((8, 3))
    np.testing.assert_allclose(converted.predict(x, verbose=0), model.predict(x), rtol=1e-7, atol=1e-9)
    back = keras_bridge.from_keras(converted)
    assert repr(back) == repr(model)
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    for ours, theirs in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_one_sgd_step_matches_keras_fit():
    model = residual_model(dtype="float32", output="softmax")
    converted = keras_bridge.to_keras(model)
    rng = np.random.default_rng(12)
    x, y = rng.standard_normal((16, 3)).astype(np.float32), np.arange(16) % 2
    model.compile("sparse_categorical_crossentropy", optimizers.SGD(0.1))
    converted.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.1))
    model.train_step(x, y)
    converted.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), converted.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(x), converted.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_from_keras_reads_a_hand_built_residual_graph_with_the_add_either_way_round():
    inputs = keras.Input(shape=(3,))
    hidden = keras.layers.Dense(3, activation="relu")(inputs)
    branch = keras.layers.Dense(3, activation="tanh")(hidden)
    outputs = keras.layers.Dense(1)(keras.layers.Add()([branch, hidden]))
    theirs = keras.Model(inputs, outputs)
    ours = keras_bridge.from_keras(theirs)
    assert isinstance(ours.layers[1], layers.Residual) and len(ours.layers) == 3
    x = np.random.default_rng(13).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_from_keras_refuses_graphs_that_are_not_residual_chains():
    inputs = keras.Input(shape=(3,))
    left, right = keras.layers.Dense(3)(inputs), keras.layers.Dense(3)(inputs)
    with pytest.raises(ValueError, match=r"expected Add layers of the form Add\(\)\(\[x, f\(x\)\]\).*Received: layer"):
        keras_bridge.from_keras(keras.Model(inputs, keras.layers.Add()([left, right])))
    with pytest.raises(ValueError, match=r"expected a chain of one-input layers.*Received: layer"):
        keras_bridge.from_keras(keras.Model(inputs, keras.layers.Concatenate()([left, right])))


# --- bad input ------------------------------------------------------------------------------

def test_constructor_refuses_bad_layer_lists():
    dense = layers.Dense(3, 3)
    with pytest.raises(TypeError, match="Residual expected a list of nnlib layers. Received: Dense"):
        layers.Residual(dense)
    with pytest.raises(ValueError, match="Residual expected at least one layer. Received: an empty list"):
        layers.Residual([])
    with pytest.raises(TypeError, match="Residual expected nnlib layers. Received: str at position 1"):
        layers.Residual([dense, "relu"])
    with pytest.raises(ValueError, match=r"Residual expected each layer once .* Received: Dense\(3, 3.* at position 1 again"):
        layers.Residual([dense, dense])
    with pytest.raises(ValueError, match=r"give back the input's width .* Received: input width 3, output width 2"):
        layers.Residual([layers.Dense(3, 2)])
    with pytest.raises(ValueError, match=r"input width to equal the previous layer's output width. Received: Dense\(3, 2"):
        layers.Residual([layers.Dense(3, 2), layers.Dense(3, 3)])
    with pytest.raises(ValueError, match="Sequential expected each layer's in_features"):
        Sequential([layers.Dense(2, 3), layers.Residual([layers.Dense(4, 4)])])


def test_forward_and_backward_refuse_wrong_shapes():
    residual = block(3)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        residual.backward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 3\). Received: x.shape=\(2, 4\)"):
        residual.forward(np.ones((2, 4)))
    with pytest.raises(TypeError, match="x expected an array of numbers"):
        residual.forward("abc")
    residual.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"backward expected dout of shape \(2, 3\). Received: dout.shape=\(2, 4\)"):
        residual.backward(np.ones((2, 4)))


def test_forward_refuses_a_stack_that_changes_the_shape():
    class Halve(layers.Layer):  # a layer that declares no width
        def forward(self, x, training=False):
            return x[:, ::2]

    with pytest.raises(ValueError, match=r"give back the input's shape \(2, 4\). Received: output shape \(2, 2\)"):
        layers.Residual([Halve()]).forward(np.ones((2, 4)))
