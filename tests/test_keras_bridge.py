"""Tests for nnlib.keras_bridge: Sequential models built and copied in both directions compute
the same outputs as Keras in float32, layer by layer; bad input."""
import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import keras_bridge, layers
from nnlib.layers.base import Layer
from nnlib.model import Sequential

import keras  # noqa: E402

ARCHITECTURES = {
    "tanh-sigmoid": lambda rng: [layers.Dense(4, 3, "tanh", rng=rng), layers.Dense(3, 1, "sigmoid", rng=rng)],
    "relu-softmax": lambda rng: [layers.Dense(4, 6, "relu", rng=rng), layers.Dense(6, 3, "softmax", rng=rng)],
    "activation-layers": lambda rng: [layers.Dense(4, 5, rng=rng, use_bias=False), layers.Activation("tanh"),
                                      layers.Dense(5, 2, rng=rng), layers.Activation("softmax")],
    "linear": lambda rng: [layers.Dense(4, 2, "linear", rng=rng, dtype="float32")],
    "modern": lambda rng: [layers.Dense(4, 5, "gelu", rng=rng), layers.Dense(5, 5, "silu", rng=rng),
                           layers.Dense(5, 5, "elu", rng=rng), layers.Dense(5, 4, "leaky_relu", rng=rng),
                           layers.Dense(4, 2, "softplus", rng=rng)],
}


def nnlib_model(name, seed=0):
    rng = np.random.default_rng(seed)
    model = Sequential(ARCHITECTURES[name](rng))
    for layer in model.layers:  # non-zero biases, so that copying them matters
        if "bias" in layer.params:
            layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    return model


def keras_model(seed=0):
    init = keras.initializers.RandomNormal(stddev=0.5, seed=seed)
    return keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Dense(5, activation="relu", kernel_initializer=init, bias_initializer=init),
        keras.layers.Activation("tanh"),
        keras.layers.Dense(3, activation="softmax", use_bias=False, kernel_initializer=init),
        keras.layers.Dense(2, kernel_initializer=init, bias_initializer=init),
    ])


def inputs(seed=1, n=16):
    return np.random.default_rng(seed).standard_normal((n, 4)).astype(np.float32)


# --- nnlib -> Keras ----------------------------------------------------------------

@pytest.mark.parametrize("name", ARCHITECTURES)
def test_to_keras_computes_the_same_function(name):
    model = nnlib_model(name)
    converted = keras_bridge.to_keras(model)
    assert len(converted.layers) == len(model.layers)
    for ours, theirs in zip(model.layers, converted.layers, strict=True):
        assert theirs.activation.__name__ == ours.activation.name
        if isinstance(ours, layers.Dense):
            assert isinstance(theirs, keras.layers.Dense) and theirs.units == ours.units and theirs.use_bias == ours.use_bias
        else:
            assert isinstance(theirs, keras.layers.Activation)
    for ours, theirs in zip(model.get_weights(), converted.get_weights(), strict=True):
        np.testing.assert_array_equal(ours.astype(np.float32), theirs)
    x = inputs()
    np.testing.assert_allclose(model.predict(x), converted.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["tanh-sigmoid", "activation-layers"])
def test_layer_outputs_match_layer_by_layer(name):
    model = nnlib_model(name)
    converted = keras_bridge.to_keras(model)
    x = inputs()
    keras_outputs = keras_bridge.layer_outputs_model(converted).predict(x, verbose=0)
    ours = model.layer_outputs(x)
    assert len(keras_outputs) == len(ours) == len(model.layers)
    for mine, theirs in zip(ours, keras_outputs, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


# --- Keras -> nnlib ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_from_keras_computes_the_same_function(dtype):
    source = keras_model()
    model = keras_bridge.from_keras(source, dtype=dtype)
    assert [repr(layer) for layer in model.layers] == [
        "Dense(4, 5, activation='relu')", "Activation('tanh')", "Dense(5, 3, activation='softmax')", "Dense(3, 2, activation='linear')"]
    assert model.layers[2].use_bias is False
    assert all(w.dtype == np.dtype(dtype) for w in model.get_weights())
    for ours, theirs in zip(model.get_weights(), source.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    x = inputs()
    np.testing.assert_allclose(model.predict(x), source.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_from_keras_accepts_a_functional_model():
    inp = keras.Input(shape=(4,))
    out = keras.layers.Dense(2, activation="sigmoid")(keras.layers.Dense(3, activation="tanh")(inp))
    source = keras.Model(inp, out)
    model = keras_bridge.from_keras(source)
    x = inputs()
    np.testing.assert_allclose(model.predict(x), source.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_round_trip_keeps_the_weights():
    model = nnlib_model("relu-softmax")
    back = keras_bridge.from_keras(keras_bridge.to_keras(model))
    for ours, theirs in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(ours.astype(np.float32), theirs)


# --- copy_weights ------------------------------------------------------------------

def test_copy_weights_in_both_directions():
    model = nnlib_model("activation-layers")
    converted = keras_bridge.to_keras(model)
    x = inputs()

    # Keras -> nnlib: perturb Keras, copy back, outputs agree again
    converted.set_weights([w * 1.5 for w in converted.get_weights()])
    assert not np.allclose(model.predict(x), converted.predict(x, verbose=0), rtol=1e-3)
    keras_bridge.copy_weights(converted, model)
    np.testing.assert_allclose(model.predict(x), converted.predict(x, verbose=0), rtol=1e-5, atol=1e-6)

    # nnlib -> Keras
    model.set_weights([-w for w in model.get_weights()])
    keras_bridge.copy_weights(model, converted)
    np.testing.assert_allclose(model.predict(x), converted.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_copy_weights_between_two_nnlib_models_writes_in_place():
    source, target = nnlib_model("tanh-sigmoid", seed=1), nnlib_model("tanh-sigmoid", seed=2)
    kernel = target.layers[0].params["kernel"]
    keras_bridge.copy_weights(source, target)
    assert target.layers[0].params["kernel"] is kernel
    for ours, theirs in zip(source.get_weights(), target.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


# --- bad input ---------------------------------------------------------------------

def test_to_keras_refuses_what_keras_cannot_express():
    with pytest.raises(TypeError, match=r"to_keras expected an nnlib Sequential\. Received: Dense"):
        keras_bridge.to_keras(layers.Dense(2, 2))
    with pytest.raises(ValueError, match=r"to_keras expected activations Keras has \(\[.*\]\)\. Received: Activation\('step'\) in Dense\(2, 1, activation='step'\)"):
        keras_bridge.to_keras(Sequential([layers.Dense(2, 1, "step")]))
    with pytest.raises(ValueError, match=r"to_keras expected activations Keras has \(\[.*\]\)\. Received: Activation\('step'\) in an Activation layer"):
        keras_bridge.to_keras(Sequential([layers.Dense(2, 1), layers.Activation("step")]))
    with pytest.raises(ValueError, match=r"to_keras expected the first layer to be Dense \(it fixes the input width\)\. Received: Activation\('relu'\)"):
        keras_bridge.to_keras(Sequential([layers.Activation("relu"), layers.Dense(2, 1)]))

    class Custom(Layer):
        pass

    with pytest.raises(TypeError, match=r"to_keras expected Dense, Activation, Dropout or BatchNormalization layers\. Received: Custom"):
        keras_bridge.to_keras(Sequential([layers.Dense(2, 2), Custom()]))


def test_from_keras_refuses_what_nnlib_cannot_express():
    with pytest.raises(TypeError, match=r"from_keras expected a Keras model\. Received: Sequential"):
        keras_bridge.from_keras(nnlib_model("linear"))
    with pytest.raises(ValueError, match=r"from_keras expected a built model \(start it with keras\.Input\(shape=\.\.\.\)\)\. Received: layer '.*' without weights"):
        keras_bridge.from_keras(keras.Sequential([keras.layers.Dense(2)]))
    with pytest.raises(TypeError, match=r"from_keras expected Dense, Activation, LeakyReLU, ELU, Dropout or BatchNormalization layers\. Received: GaussianNoise"):
        keras_bridge.from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.GaussianNoise(0.5)]))
    with pytest.raises(ValueError, match=r"from_keras expected at least one Dense layer\. Received: \['Activation'\]"):
        keras_bridge.from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Activation("relu")]))
    with pytest.raises(ValueError, match=r"from_keras expected activations nnlib has \(\[.*\]\)\. Received: <function mish .*> in layer"):
        keras_bridge.from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="mish")]))


def test_copy_weights_refuses_mismatched_models():
    model = nnlib_model("tanh-sigmoid")
    with pytest.raises(TypeError, match=r"copy_weights expected nnlib Sequential or Keras models\. Received: target of type list"):
        keras_bridge.copy_weights(model, [])
    with pytest.raises(TypeError, match=r"copy_weights expected nnlib Sequential or Keras models\. Received: source of type Dense"):
        keras_bridge.copy_weights(model.layers[0], model)
    with pytest.raises(ValueError, match=r"copy_weights expected the same number of layers with weights\. Received: 2 in source, 1 in target"):
        keras_bridge.copy_weights(model, nnlib_model("linear"))
    wider = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"copy_weights expected shapes \[\(3, 2\), \(2,\)\] for layer '.*'\. Received: \[\(3, 1\), \(1,\)\]"):
        keras_bridge.copy_weights(model, wider)


def test_layer_outputs_model_refuses_non_models_and_unbuilt_models():
    with pytest.raises(TypeError, match=r"layer_outputs_model expected a Keras model\. Received: Sequential"):
        keras_bridge.layer_outputs_model(nnlib_model("linear"))
    with pytest.raises(ValueError, match=r"layer_outputs_model expected a built model with a keras\.Input\. Received: a model without inputs"):
        keras_bridge.layer_outputs_model(keras.Sequential([keras.layers.Dense(2)]))


# --- float64 models and tape gradients ------------------------------------------------

def test_to_keras_in_float64_agrees_to_machine_precision():
    rng = np.random.default_rng(21)
    model = Sequential([layers.Dense(3, 5, "tanh", rng=rng), layers.Dense(5, 2, "softmax", rng=rng)])
    keras_model = keras_bridge.to_keras(model, dtype="float64")
    assert all(w.dtype == "float64" for w in keras_model.weights)
    x = rng.standard_normal((7, 3))
    np.testing.assert_allclose(keras_model(x).numpy(), model.predict(x), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("loss", ["mse", "binary_crossentropy"])
def test_tape_gradients_match_nnlib_backprop(loss):
    rng = np.random.default_rng(22)
    model = Sequential([layers.Dense(4, 6, "relu", rng=rng), layers.Dense(6, 1, "sigmoid", rng=rng)])
    model.compile(loss=loss)
    x, y = rng.standard_normal((9, 4)), (rng.random((9, 1)) > 0.5).astype(float)
    value, grads = model.compute_gradients(x, y)
    keras_value, keras_grads = keras_bridge.tape_gradients(keras_bridge.to_keras(model, dtype="float64"), loss, x, y)
    assert keras_value == pytest.approx(value, rel=1e-12)
    for grad, keras_grad in zip(grads, keras_grads):
        np.testing.assert_allclose(keras_grad, grad, rtol=1e-10, atol=1e-14)
    # a Loss object works too (it computes in float32 unless told otherwise)
    keras_value, _ = keras_bridge.tape_gradients(keras_bridge.to_keras(model), keras.losses.get(loss) if loss == "mse" else keras.losses.BinaryCrossentropy(), x, y)
    assert keras_value == pytest.approx(value, rel=1e-5)


def test_tape_gradients_include_penalties_on_request():
    from nnlib import regularizers

    rng = np.random.default_rng(24)
    model = Sequential([
        layers.Dense(3, 4, "tanh", rng=rng, kernel_regularizer=regularizers.L2(0.01)),
        layers.Dense(4, 1, rng=rng, kernel_regularizer=regularizers.L1(0.02)),
    ])
    model.compile(loss="mse")
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
    value, grads = model.compute_gradients(x, y)
    keras_model = keras_bridge.to_keras(model, dtype="float64")
    data_value, data_grads = keras_bridge.tape_gradients(keras_model, "mse", x, y)
    assert value - data_value == pytest.approx(model.regularization_loss(), rel=1e-6)
    np.testing.assert_allclose(grads[0] - data_grads[0], 2 * 0.01 * model.layers[0].kernel, rtol=1e-6, atol=1e-12)
    full_value, full_grads = keras_bridge.tape_gradients(keras_model, "mse", x, y, include_penalties=True)
    assert full_value == pytest.approx(value, rel=1e-6)
    for grad, keras_grad in zip(grads, full_grads):
        np.testing.assert_allclose(keras_grad, grad, rtol=1e-6, atol=1e-9)
    with pytest.raises(TypeError, match=r"include_penalties to be True or False\. Received: 1"):
        keras_bridge.tape_gradients(keras_model, "mse", x, y, include_penalties=1)


def test_to_keras_and_tape_gradients_refuse_bad_arguments():
    rng = np.random.default_rng(23)
    model = Sequential([layers.Dense(2, 1, rng=rng)])
    with pytest.raises(ValueError, match=r"to_keras expected dtype 'float32' or 'float64'\. Received: dtype='float16'"):
        keras_bridge.to_keras(model, dtype="float16")
    with pytest.raises(TypeError, match=r"tape_gradients expected a Keras model\. Received: Sequential"):
        keras_bridge.tape_gradients(model, "mse", np.zeros((1, 2)), np.zeros((1, 1)))
    with pytest.raises(TypeError, match=r"tape_gradients expected a Keras loss or its name\. Received: 3"):
        keras_bridge.tape_gradients(keras_bridge.to_keras(model), 3, np.zeros((1, 2)), np.zeros((1, 1)))


# --- Part III layers and regularizers ----------------------------------------------------

def test_dropout_batch_normalization_and_regularizers_cross_in_both_directions():
    from nnlib import regularizers

    rng = np.random.default_rng(24)
    model = Sequential([layers.Dense(3, 6, "relu", rng=rng, kernel_regularizer=regularizers.L2(0.02), bias_regularizer="l1"),
                        layers.BatchNormalization(6, momentum=0.9), layers.Dropout(0.25), layers.Dense(6, 1, "sigmoid", rng=rng)])
    model.layers[1].set_weights([rng.uniform(0.5, 2, 6), rng.standard_normal(6), rng.standard_normal(6), rng.uniform(0.5, 2, 6)])
    keras_model = keras_bridge.to_keras(model, dtype="float64")
    batch_norm, dropout = keras_model.layers[1], keras_model.layers[2]
    assert (batch_norm.momentum, batch_norm.epsilon, dropout.rate) == (0.9, 1e-3, 0.25)
    x = rng.standard_normal((5, 3))
    np.testing.assert_allclose(keras_model(x, training=False).numpy(), model.predict(x), rtol=1e-12)
    # the penalties Keras adds to the loss equal nnlib's
    assert float(sum(keras_model.losses)) == pytest.approx(model.regularization_loss(), rel=1e-6)  # Keras: float32 factors
    back = keras_bridge.from_keras(keras_model)
    assert [type(layer).__name__ for layer in back.layers] == ["Dense", "BatchNormalization", "Dropout", "Dense"]
    for mine, theirs in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


# --- parameterised activations, SELU and regularizers cross unchanged (issue 11, items 2, 3, 7) ---

PARAMETERISED = {
    "leaky-0.05": lambda: nnlib.activations.LeakyReLU(0.05),
    "leaky-default": lambda: nnlib.activations.LeakyReLU(),
    "elu-0.5": lambda: nnlib.activations.ELU(0.5),
    "gelu-tanh": lambda: nnlib.activations.GELU(approximate=True),
    "gelu-exact": lambda: nnlib.activations.GELU(),
    "selu": lambda: nnlib.activations.SELU(),
}


@pytest.mark.parametrize("where", ["activation-layer", "dense"])
@pytest.mark.parametrize("name", PARAMETERISED)
def test_parameterised_activations_cross_with_their_parameters(name, where):
    rng = np.random.default_rng(41)
    activation = PARAMETERISED[name]()
    if where == "dense":
        model = Sequential([layers.Dense(4, 6, activation, rng=rng, dtype="float32"), layers.Dense(6, 2, rng=rng, dtype="float32")])
    else:
        model = Sequential([layers.Dense(4, 6, rng=rng, dtype="float32"), layers.Activation(activation),
                            layers.Dense(6, 2, rng=rng, dtype="float32")])
    x = 3 * inputs(seed=42)
    keras_model = keras_bridge.to_keras(model)
    np.testing.assert_allclose(keras_model(x).numpy(), model.predict(x), rtol=1e-5, atol=1e-6)
    back = keras_bridge.from_keras(keras_model, dtype="float32")
    crossed = back.layers[0].activation if where == "dense" else back.layers[1].activation
    assert repr(crossed) == repr(activation)
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


def test_the_issue_example_keeps_its_slope():
    """Activation(LeakyReLU(0.05)) once became Keras's default 0.2: -0.4 instead of -0.1 at -2."""
    model = Sequential([layers.Dense(1, 1, dtype="float32"), layers.Activation(nnlib.activations.LeakyReLU(0.05))])
    model.set_weights([np.array([[1.0]]), np.array([0.0])])
    keras_model = keras_bridge.to_keras(model)
    assert isinstance(keras_model.layers[1], keras.layers.LeakyReLU) and keras_model.layers[1].negative_slope == 0.05
    assert float(keras_model(np.array([[-2.0]], dtype=np.float32))[0, 0]) == pytest.approx(-0.1)


def test_keras_parameterised_layers_and_functions_cross_to_nnlib():
    import functools

    keras_model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(5, activation=functools.partial(keras.activations.leaky_relu, negative_slope=0.1)),
        keras.layers.LeakyReLU(negative_slope=0.3),
        keras.layers.Dense(5, activation="selu"),
        keras.layers.ELU(alpha=0.7),
        keras.layers.Activation(functools.partial(keras.activations.elu, alpha=2.0)),
        keras.layers.Dense(2, activation=functools.partial(keras.activations.gelu, approximate=True)),
    ])
    model = keras_bridge.from_keras(keras_model, dtype="float32")
    assert [repr(layer) for layer in model.layers[1:5]] == [
        "Activation('leaky_relu', negative_slope=0.3)", "Dense(5, 5, activation='selu')",
        "Activation('elu', alpha=0.7)", "Activation('elu', alpha=2.0)"]
    assert model.layers[0].activation.negative_slope == 0.1 and model.layers[-1].activation.approximate is True
    x = inputs(seed=43)
    np.testing.assert_allclose(model.predict(x), keras_model(x).numpy(), rtol=1e-5, atol=1e-6)


def test_regularizers_cross_in_both_directions_with_their_class_and_factors():
    """keras Dense(4, kernel_regularizer=L2(0.1)) once lost its penalty in from_keras."""
    from nnlib import regularizers

    rng = np.random.default_rng(44)
    keras_model = keras.Sequential([
        keras.Input((3,)),
        keras.layers.Dense(4, activation="relu", kernel_regularizer=keras.regularizers.L2(0.1),
                           bias_initializer=keras.initializers.RandomNormal(seed=1), bias_regularizer=keras.regularizers.L1(0.2)),
        keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L1L2(l1=0.01, l2=0.03)),
    ])
    keras_model.set_weights([rng.standard_normal(w.shape) for w in keras_model.get_weights()])
    model = keras_bridge.from_keras(keras_model)
    assert model.layers[0].kernel_regularizer == regularizers.L2(0.1)
    # (Keras keeps an L1 factor as float32, 0.2000000030; the bridge carries Keras's value)
    assert type(model.layers[0].bias_regularizer) is regularizers.L1 and model.layers[0].bias_regularizer.l1 == pytest.approx(0.2, rel=1e-7)
    assert model.layers[1].kernel_regularizer == regularizers.L1L2(l1=0.01, l2=0.03) and model.layers[1].bias_regularizer is None
    keras_penalty = float(sum(keras_model.losses))
    assert keras_penalty > 0.3
    assert model.regularization_loss() == pytest.approx(keras_penalty, rel=1e-6)
    again = keras_bridge.to_keras(model)
    assert [type(layer.kernel_regularizer).__name__ for layer in again.layers] == ["L2", "L1L2"]
    assert type(again.layers[0].bias_regularizer).__name__ == "L1"
    assert float(sum(again.losses)) == pytest.approx(keras_penalty, rel=1e-6)


def test_bridge_refuses_what_it_cannot_carry():
    import functools

    with pytest.raises(ValueError, match=r"from_keras expected L1, L2 or L1L2 regularizers\. Received: OrthogonalRegularizer in layer"):
        keras_bridge.from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_regularizer=keras.regularizers.OrthogonalRegularizer())]))
    with pytest.raises(ValueError, match=r"from_keras expected layers without activity_regularizer \(nnlib has none\)\. Received: activity_regularizer="):
        keras_bridge.from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activity_regularizer="l2")]))
    with pytest.raises(ValueError, match=r"from_keras expected layers without kernel_constraint \(nnlib has none\)\. Received: kernel_constraint="):
        keras_bridge.from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_constraint="non_neg")]))
    with pytest.raises(ValueError, match=r"from_keras expected relu without parameters\. Received: \{'max_value': 6\.0\} in layer"):
        keras_bridge.from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=functools.partial(keras.activations.relu, max_value=6.0))]))
    with pytest.raises(ValueError, match=r"from_keras expected activations nnlib has \(\[.*\]\)\. Received: <function .*<lambda> at .*> in layer"):
        keras_bridge.from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=lambda t: t)]))
    with pytest.raises(ValueError, match=r"from_keras expected layers without noise_shape \(nnlib has none\)\. Received: noise_shape=\(1, 2\)"):
        keras_bridge.from_keras(keras.Sequential([keras.Input((2,)), keras.layers.Dense(2), keras.layers.Dropout(0.5, noise_shape=(1, 2))]))
    with pytest.raises(ValueError, match=r"from_keras expected dtype 'float32' or 'float64'\. Received: dtype='float16'"):
        keras_bridge.from_keras(keras_model(), dtype="float16")


# --- convolution, pooling and Flatten (issue 12) ----------------------------------------------

def digits_cnn(rng, dtype="float64", pool=None):
    return Sequential([
        layers.Conv2D(1, 4, 3, padding="same", activation="relu", rng=rng, dtype=dtype),
        pool or layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(4 * 4 * 4, 10, "softmax", rng=rng, dtype=dtype),
    ])


def digits_batch(count=32):
    from nnlib import datasets

    images, labels = datasets.digits()
    return images[:count].reshape(-1, 8, 8, 1), labels[:count]


def test_a_cnn_crosses_to_keras_with_equal_predictions_and_one_equal_fit_step():
    """8x8x1 digits -> Conv2D -> MaxPooling2D -> Flatten -> Dense softmax: the same predictions,
    and after one SGD step on the same batch the same weights (float64 on both sides)."""
    from nnlib import optimizers

    rng = np.random.default_rng(30)
    model = digits_cnn(rng)
    model.layers[0].params["bias"][...] = 0.1 * rng.standard_normal(4)
    x, y = digits_batch()
    keras_model = keras_bridge.to_keras(model, dtype="float64", input_shape=(8, 8, 1))
    assert [type(layer).__name__ for layer in keras_model.layers] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    np.testing.assert_allclose(keras_model(x).numpy(), model.predict(x), rtol=1e-12, atol=1e-14)
    assert keras_model.count_params() == model.count_params() == 3 * 3 * 4 + 4 + 64 * 10 + 10
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizers.SGD(0.5))
    keras_model.compile(loss=keras.losses.SparseCategoricalCrossentropy(dtype="float64"), optimizer=keras.optimizers.SGD(0.5))
    loss = model.train_step(x, y)
    keras_loss = keras_model.train_on_batch(x, y)
    assert keras_loss == pytest.approx(loss, rel=1e-6)  # Keras reports it through a float32 Mean metric
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(keras_model(x).numpy(), model.predict(x), rtol=1e-10, atol=1e-12)


def test_a_cnn_in_float32_equals_keras_at_float32_tolerance():
    model = digits_cnn(np.random.default_rng(31), dtype="float32", pool=layers.AveragePooling2D(2, padding="same"))
    x, _ = digits_batch()
    keras_model = keras_bridge.to_keras(model, input_shape=(8, 8, 1))
    np.testing.assert_allclose(keras_model(x.astype(np.float32)).numpy(), model.predict(x), rtol=1e-5, atol=1e-6)


def test_keras_cnns_cross_to_nnlib_with_their_settings_and_weights():
    init = keras.initializers.RandomNormal(stddev=0.3, seed=5)
    keras_model = keras.Sequential([
        keras.Input(shape=(9, 8, 2)),
        keras.layers.Conv2D(3, (2, 3), strides=(2, 1), padding="same", activation="tanh", kernel_initializer=init, bias_initializer=init,
                            kernel_regularizer=keras.regularizers.L2(0.01)),
        keras.layers.AveragePooling2D(2, strides=1, padding="same"),
        keras.layers.Conv2D(4, 2, use_bias=False, kernel_initializer=init),
        keras.layers.MaxPooling2D((2, 1)),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(2, activation="softmax", kernel_initializer=init),
    ])
    model = keras_bridge.from_keras(keras_model)
    first, _, second, pool, _, _ = model.layers
    assert (first.kernel_size, first.strides, first.padding, first.activation.name) == ((2, 3), (2, 1), "same", "tanh")
    assert first.kernel_regularizer.l2 == pytest.approx(0.01) and not second.use_bias
    assert (pool.pool_size, pool.strides) == ((2, 1), (2, 1))
    x = np.random.default_rng(32).standard_normal((5, 9, 8, 2))
    np.testing.assert_allclose(model.predict(x), keras_model(x).numpy(), rtol=1e-5, atol=1e-6)
    back = keras_bridge.to_keras(model, input_shape=(9, 8, 2))
    for ours, theirs in zip(back.get_weights(), keras_model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    flat = keras.Sequential([keras.Input(shape=(4, 4, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(1)])
    assert [type(layer).__name__ for layer in keras_bridge.from_keras(flat).layers] == ["Conv2D", "Flatten", "Dense"]


def test_bridge_refuses_convolutions_it_cannot_carry():
    def conv_model(**options):
        return keras.Sequential([keras.Input(shape=(6, 6, 2)), keras.layers.Conv2D(2, 3, **options), keras.layers.Flatten(), keras.layers.Dense(1)])

    with pytest.raises(ValueError, match=r"from_keras expected Conv2D with dilation_rate=\(1, 1\) and groups=1 \(nnlib has neither\)\. "
                                         r"Received: dilation_rate=\(2, 2\), groups=1"):
        keras_bridge.from_keras(conv_model(dilation_rate=2))
    with pytest.raises(ValueError, match=r"Received: dilation_rate=\(1, 1\), groups=2"):
        keras_bridge.from_keras(conv_model(groups=2))
    with pytest.raises(ValueError, match=r"from_keras expected layers without kernel_constraint"):
        keras_bridge.from_keras(conv_model(kernel_constraint=keras.constraints.NonNeg()))
    pooled = keras.Sequential([keras.Input(shape=(2, 6, 6)), keras.layers.MaxPooling2D(data_format="channels_first"),
                               keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"from_keras expected data_format='channels_last' \(nnlib's layout\)\. "
                                         r"Received: data_format='channels_first'"):
        keras_bridge.from_keras(pooled)
    cnn = digits_cnn(np.random.default_rng(33))
    with pytest.raises(ValueError, match=r"to_keras expected the first layer to be Dense \(it fixes the input width\)\. Received: Conv2D"):
        keras_bridge.to_keras(cnn)
    with pytest.raises(ValueError, match=r"to_keras expected input_shape=\(height, width, 1\) for a first Conv2D"):
        keras_bridge.to_keras(cnn, input_shape=(8, 8, 3))
    with pytest.raises(ValueError, match=r"to_keras expected input_shape a tuple of positive integers \(no batch axis\)\. Received: input_shape=8"):
        keras_bridge.to_keras(cnn, input_shape=8)
    with pytest.raises(ValueError, match=r"to_keras expected activations Keras has"):
        keras_bridge.to_keras(Sequential([layers.Conv2D(1, 2, 3, activation="step"), layers.Flatten()]), input_shape=(4, 4, 1))

# --- residual blocks: functional graphs with keras.layers.Add --------------------------------

def residual_mlp(seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    model = Sequential([layers.Dense(4, 6, "relu", rng=rng, dtype=dtype),
                        layers.Residual([layers.Dense(6, 6, "relu", rng=rng, dtype=dtype), layers.Dense(6, 6, rng=rng, dtype=dtype)]),
                        layers.Residual([layers.Dense(6, 6, "tanh", rng=rng, dtype=dtype)]),
                        layers.Dense(6, 3, "softmax", rng=rng, dtype=dtype)])
    for layer in [model.layers[0], *model.layers[1].layers, *model.layers[2].layers, model.layers[3]]:
        layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    return model


def test_residual_model_round_trips_through_a_functional_keras_model():
    model = residual_mlp()
    converted = keras_bridge.to_keras(model)
    assert isinstance(converted, keras.Model) and not isinstance(converted, keras.Sequential)
    assert [type(layer).__name__ for layer in converted.layers] == ["InputLayer", "Dense", "Dense", "Dense", "Add", "Dense", "Add", "Dense"]
    for ours, theirs in zip(model.get_weights(), converted.get_weights(), strict=True):
        np.testing.assert_array_equal(ours.astype(np.float32), theirs)
    x = inputs()
    np.testing.assert_allclose(model.predict(x), converted.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    back = keras_bridge.from_keras(converted)
    assert repr(back) == repr(model)
    np.testing.assert_allclose(back.predict(x), converted.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    other = residual_mlp(seed=1)
    keras_bridge.copy_weights(converted, other)  # Keras -> nnlib into an existing model
    np.testing.assert_array_equal(other.predict(x), back.predict(x))


def test_residual_model_tape_gradients_match_nnlib_backprop():
    model = residual_mlp()
    converted = keras_bridge.to_keras(model, dtype="float64")
    x, y = inputs().astype(np.float64), np.arange(16) % 3
    model.compile("sparse_categorical_crossentropy", "sgd")
    loss, ours = model.compute_gradients(x, y)
    value, theirs = keras_bridge.tape_gradients(converted, "sparse_categorical_crossentropy", x, y)
    assert loss == pytest.approx(value, rel=1e-10)
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-9, atol=1e-12)

# --- recurrent layers (issue 12) -----------------------------------------------------

RECURRENT = {
    "lstm-dense": lambda rng: [layers.LSTM(3, 5, rng=rng), layers.Dense(5, 2, rng=rng)],
    "gru-dense": lambda rng: [layers.GRU(3, 4, rng=rng, recurrent_activation="tanh"), layers.Dense(4, 1, "sigmoid", rng=rng)],
    "simple-rnn": lambda rng: [layers.SimpleRNN(3, 6, "relu", rng=rng, use_bias=False)],
    "rnn-sequences": lambda rng: [layers.SimpleRNN(3, 4, rng=rng, return_sequences=True), layers.LSTM(4, 2, rng=rng)],
}


@pytest.mark.parametrize("name", RECURRENT)
def test_recurrent_models_cross_both_ways(name):
    rng = np.random.default_rng(0)
    model = Sequential(RECURRENT[name](rng))
    for layer in model.layers:
        if "bias" in layer.params:
            layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    x = rng.standard_normal((4, 7, 3))
    keras_model = keras_bridge.to_keras(model, dtype="float64")
    assert [type(k).__name__ for k in keras_model.layers] == [type(layer).__name__ for layer in model.layers]
    np.testing.assert_allclose(keras_model(x).numpy(), model.predict(x), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(model.layers, keras_model.layers):
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, b)
    back = keras_bridge.from_keras(keras_model)
    assert [repr(layer) for layer in back.layers] == [repr(layer) for layer in model.layers]
    for ours, again in zip(model.layers, back.layers):
        assert getattr(ours, "use_bias", None) == getattr(again, "use_bias", None)
        if hasattr(ours, "recurrent_activation"):
            assert ours.activation.name == again.activation.name
            assert getattr(ours.recurrent_activation, "name", None) == getattr(again.recurrent_activation, "name", None)
    np.testing.assert_allclose(back.predict(x), model.predict(x), rtol=1e-12, atol=1e-14)
    # float32 Keras against the float64 model: float32 tolerances
    np.testing.assert_allclose(keras_bridge.to_keras(model)(x.astype("float32")).numpy(), model.predict(x), rtol=1e-4, atol=1e-5)


def test_keras_recurrent_model_crosses_to_nnlib():
    keras_model = keras.Sequential([keras.Input((None, 2)), keras.layers.GRU(3, return_sequences=True),
                                    keras.layers.LSTM(4, unit_forget_bias=False), keras.layers.Dense(1)])
    model = keras_bridge.from_keras(keras_model)
    assert [type(layer).__name__ for layer in model.layers] == ["GRU", "LSTM", "Dense"]
    assert model.layers[0].return_sequences and not model.layers[1].unit_forget_bias
    x = np.random.default_rng(0).standard_normal((3, 5, 2)).astype("float32")
    np.testing.assert_allclose(model.predict(x), keras_model(x).numpy(), rtol=1e-4, atol=1e-5)


def test_bridge_refuses_recurrent_options_nnlib_lacks():
    def build(layer):
        return keras.Sequential([keras.Input((None, 2)), layer])

    with pytest.raises(ValueError, match=r"from_keras expected recurrent layers without dropout \(nnlib has none\)\. Received: dropout=0\.2"):
        keras_bridge.from_keras(build(keras.layers.LSTM(3, dropout=0.2)))
    with pytest.raises(ValueError, match=r"from_keras expected recurrent layers without recurrent_dropout"):
        keras_bridge.from_keras(build(keras.layers.GRU(3, recurrent_dropout=0.1)))
    with pytest.raises(ValueError, match=r"from_keras expected GRU with reset_after=True \(nnlib's GRU\)\. Received: reset_after=False"):
        keras_bridge.from_keras(build(keras.layers.GRU(3, reset_after=False)))
    with pytest.raises(ValueError, match=r"from_keras expected go_backwards=False \(nnlib has no such option\)\. Received: go_backwards=True"):
        keras_bridge.from_keras(build(keras.layers.SimpleRNN(3, go_backwards=True)))
    with pytest.raises(ValueError, match=r"from_keras expected layers without recurrent_regularizer \(nnlib has none\)"):
        keras_bridge.from_keras(build(keras.layers.LSTM(3, recurrent_regularizer="l2")))


def test_layer_gradients_equal_an_nnlib_layers_forward_and_backward():
    rng = np.random.default_rng(3)
    ours = layers.Dense(3, 2, "tanh", rng=rng)
    twin = keras.layers.Dense(2, activation="tanh", dtype="float64")
    twin.build((None, 3))
    twin.set_weights(ours.get_weights())
    x, upstream = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    out, (dx, dkernel, dbias) = keras_bridge.layer_gradients(twin, x, upstream)
    np.testing.assert_allclose(out, ours.forward(x), rtol=1e-12)
    np.testing.assert_allclose(dx, ours.backward(upstream), rtol=1e-12)
    np.testing.assert_allclose(dkernel, ours.grads["kernel"], rtol=1e-12)
    np.testing.assert_allclose(dbias, ours.grads["bias"], rtol=1e-12)
    with pytest.raises(TypeError, match="layer_gradients expected a Keras layer. Received: Dense"):
        keras_bridge.layer_gradients(ours, x, upstream)


# --- restart_training ----------------------------------------------------------------

OPTIMIZERS = {   # Adam's slots start at 0; Adagrad's accumulators at 0.1, Nadam's momentum product at 1
    "adam": lambda: keras.optimizers.Adam(0.05),
    "adagrad": lambda: keras.optimizers.Adagrad(0.05),
    "nadam": lambda: keras.optimizers.Nadam(0.05),
    "sgd-momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
}


def _compiled(seed, optimizer="adam"):
    keras.utils.set_random_seed(seed)   # not seed_backend: op determinism is process-wide and changes TF's gradients elsewhere
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=OPTIMIZERS[optimizer](), loss="mse")
    return model


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_restart_training_trains_like_a_new_model(optimizer):
    x = inputs(n=32)
    y = np.sin(x.sum(axis=1, keepdims=True))
    reused = _compiled(0, optimizer)
    initial = reused.get_weights()
    reused.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)   # some optimizer state to forget
    assert int(reused.optimizer.iterations.numpy()) == 12
    keras_bridge.restart_training(reused, initial)
    assert int(reused.optimizer.iterations.numpy()) == 0
    assert float(reused.optimizer.learning_rate.numpy()) == pytest.approx(0.05)
    np.testing.assert_array_equal(reused.get_weights()[0], initial[0])
    fresh = _compiled(1, optimizer)
    fresh.set_weights(initial)
    for model in (reused, fresh):
        model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    for ours, theirs in zip(reused.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_restart_training_before_the_first_fit_only_sets_the_weights():
    model = _compiled(2, "adagrad")
    initial = [w + 1.0 for w in model.get_weights()]
    keras_bridge.restart_training(model, initial)   # the optimizer has no slots yet
    assert not model.optimizer.built
    np.testing.assert_array_equal(model.get_weights()[0], initial[0])
