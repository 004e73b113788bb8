"""Tests for nnlib.layers.recurrent (SimpleRNN, LSTM, GRU): float64 gradient checks, Keras
parity with copied weights (forward and tf.GradientTape gradients), parity with nnlib's own
tape, parameter and multiply-add counts, training inside Sequential, bad input."""
import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import autodiff, initializers, keras_bridge, layers, optimizers
from nnlib.gradcheck import check_layer
from nnlib.model import Sequential

import keras  # noqa: E402

# Largest elementwise relative error in float64 gradient checks (h = 1e-6). The LSTM's
# products of gates leave components near 1e-6 of the largest, whose finite-difference
# noise (~1e-10 absolute) is ~1e-5 relative; a wrong gradient scores above 1e-2.
GRAD_TOL = 1e-4
# float64 Keras parity: the same operations in another order (a few ulps per step)
TOL64 = dict(rtol=1e-10, atol=1e-12)
TOL32 = dict(rtol=1e-4, atol=1e-5)
CLASSES = {"SimpleRNN": layers.SimpleRNN, "LSTM": layers.LSTM, "GRU": layers.GRU}
GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


def make(kind, in_features=3, units=4, seed=0, random_bias=True, **kwargs):
    """A layer with random weights (and, by default, a random bias, so every term is tested)."""
    rng = np.random.default_rng(seed)
    layer = CLASSES[kind](in_features, units, rng=rng, **kwargs)
    if random_bias and "bias" in layer.params:
        layer.params["bias"][...] = 0.5 * rng.standard_normal(layer.params["bias"].shape)
    return layer


def keras_twin(layer, steps, dtype="float64"):
    options = dict(return_sequences=layer.return_sequences, use_bias=layer.use_bias, dtype=dtype,
                   activation=layer.activation.name)
    if not isinstance(layer, layers.SimpleRNN):
        options["recurrent_activation"] = layer.recurrent_activation.name
    twin = getattr(keras.layers, type(layer).__name__)(layer.units, **options)
    twin.build((None, steps, layer.in_features))
    twin.set_weights(layer.get_weights())
    return twin


def keras_gradients(twin, x, upstream):
    return keras_bridge.layer_gradients(twin, x, upstream)


# --- weights, initialisation, counts ----------------------------------------------

@pytest.mark.parametrize("kind", CLASSES)
def test_weights_follow_keras_names_shapes_and_defaults(kind):
    layer = CLASSES[kind](3, 5, rng=np.random.default_rng(0))
    g = GATES[kind]
    assert list(layer.params) == ["kernel", "recurrent_kernel", "bias"]
    bias_shape = (2, 3 * 5) if kind == "GRU" else (g * 5,)
    assert [w.shape for w in layer.get_weights()] == [(3, g * 5), (5, g * 5), bias_shape]
    twin = keras_twin(layer, 7)
    assert [w.shape for w in twin.get_weights()] == [w.shape for w in layer.get_weights()]
    assert all(w.dtype == np.float64 for w in layer.params.values())
    assert np.abs(layer.params["kernel"]).max() <= np.sqrt(6 / (3 + g * 5))  # Glorot uniform
    U = layer.params["recurrent_kernel"]
    np.testing.assert_allclose(U @ U.T, np.eye(5), atol=1e-12)  # orthogonal rows, Keras's default
    expected_bias = np.zeros(bias_shape)
    if kind == "LSTM":
        expected_bias[5:10] = 1.0  # unit_forget_bias: the forget block (i, f, c, o) starts at 1
    np.testing.assert_array_equal(layer.params["bias"], expected_bias)
    # Keras's own initial bias, for the same settings
    fresh = getattr(keras.layers, kind)(5, dtype="float64")
    fresh.build((None, 7, 3))
    np.testing.assert_array_equal(fresh.get_weights()[2], expected_bias)
    assert repr(layer) == f"{kind}(3, 5, return_sequences=False)"


def test_lstm_without_unit_forget_bias_starts_at_zero():
    layer = layers.LSTM(2, 3, unit_forget_bias=False, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(layer.params["bias"], np.zeros(12))


@pytest.mark.parametrize("kind", CLASSES)
@pytest.mark.parametrize("in_features, units", [(1, 1), (3, 4), (8, 32)])
def test_count_params_equals_keras_and_formula(kind, in_features, units):
    layer = CLASSES[kind](in_features, units, rng=np.random.default_rng(0))
    g = GATES[kind]
    biases = 2 * units if kind == "GRU" else units  # GRU: an input and a recurrent bias per gate
    formula = g * (in_features * units + units * units + biases)
    twin = getattr(keras.layers, kind)(units)
    twin.build((None, 5, in_features))
    assert layer.count_params() == formula == twin.count_params()
    no_bias = CLASSES[kind](in_features, units, use_bias=False, rng=np.random.default_rng(0))
    assert no_bias.count_params() == g * (in_features * units + units * units)


@pytest.mark.parametrize("kind", CLASSES)
def test_multiply_adds_formula(kind):
    layer = CLASSES[kind](3, 4, rng=np.random.default_rng(0))
    g = GATES[kind]
    assert layer.multiply_adds() == g * 4 * (3 + 4)  # one step before any input was seen
    assert layer.multiply_adds(10) == 10 * g * 4 * (3 + 4)
    layer.forward(np.zeros((2, 6, 3)))
    assert layer.multiply_adds() == 6 * g * 4 * (3 + 4)


def test_orthogonal_initializer():
    rng = np.random.default_rng(0)
    for shape in [(4, 4), (3, 12), (12, 3), (2, 3, 4)]:
        w = initializers.orthogonal(shape, rng)
        assert w.shape == shape
        flat = w.reshape(-1, shape[-1])
        small = min(flat.shape)
        gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
        np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    np.testing.assert_allclose(initializers.orthogonal((3, 3), np.random.default_rng(1), gain=2.0),
                               2.0 * initializers.orthogonal((3, 3), np.random.default_rng(1)))
    assert initializers.get("orthogonal") is initializers.orthogonal


# --- hand-computed case ------------------------------------------------------------

def test_simple_rnn_by_hand():
    """One unit, linear: h_t = x_t w + u h_{t-1} + b."""
    layer = layers.SimpleRNN(1, 1, activation="linear", return_sequences=True)
    layer.set_weights([np.array([[2.0]]), np.array([[0.5]]), np.array([1.0])])
    x = np.array([[[1.0], [0.0], [-1.0]]])
    # h1 = 2 + 1 = 3, h2 = 0 + 1.5 + 1 = 2.5, h3 = -2 + 1.25 + 1 = 0.25
    np.testing.assert_allclose(layer.forward(x)[0, :, 0], [3.0, 2.5, 0.25])
    dx = layer.backward(np.array([[[0.0], [0.0], [1.0]]]))
    # dL/dh3 = 1, dL/dh2 = u, dL/dh1 = u^2: dx_t = w * dL/dh_t, du = sum h_{t-1} dL/dh_t
    np.testing.assert_allclose(dx[0, :, 0], [2 * 0.25, 2 * 0.5, 2.0])
    np.testing.assert_allclose(layer.grads["recurrent_kernel"], [[0 * 0.25 + 3 * 0.5 + 2.5 * 1]])
    np.testing.assert_allclose(layer.grads["bias"], [1 + 0.5 + 0.25])


# --- gradient checks and parity ----------------------------------------------------

@pytest.mark.parametrize("kind", CLASSES)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("use_bias", [True, False])
def test_gradcheck_float64(kind, return_sequences, use_bias):
    layer = make(kind, 3, 4, return_sequences=return_sequences, use_bias=use_bias)
    x = np.random.default_rng(1).standard_normal((2, 5, 3))
    errors = check_layer(layer, x, rng=np.random.default_rng(2))
    assert set(errors) == {"input", *layer.params}
    assert max(errors.values()) < GRAD_TOL, errors


@pytest.mark.parametrize("kind, activation", [("SimpleRNN", "relu"), ("LSTM", "softplus"), ("GRU", "elu")])
def test_gradcheck_other_activations(kind, activation):
    options = {"activation": activation}
    if kind != "SimpleRNN":
        options["recurrent_activation"] = "tanh"  # a recurrent activation other than sigmoid
    layer = make(kind, 2, 3, return_sequences=True, **options)
    errors = check_layer(layer, np.random.default_rng(1).standard_normal((2, 4, 2)), rng=np.random.default_rng(2))
    assert max(errors.values()) < GRAD_TOL, errors


@pytest.mark.parametrize("kind", CLASSES)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_equals_keras_float64_forward_and_tape(kind, return_sequences):
    layer = make(kind, 3, 4, return_sequences=return_sequences)
    x = np.random.default_rng(1).standard_normal((5, 7, 3))
    twin = keras_twin(layer, 7)
    out = layer.forward(x)
    upstream = np.random.default_rng(2).standard_normal(out.shape)
    keras_out, keras_grads = keras_gradients(twin, x, upstream)
    np.testing.assert_allclose(out, keras_out, **TOL64)
    np.testing.assert_allclose(layer.backward(upstream), keras_grads[0], **TOL64)
    for key, grad in zip(layer.params, keras_grads[1:]):
        np.testing.assert_allclose(layer.grads[key], grad, **TOL64, err_msg=key)


@pytest.mark.parametrize("kind", CLASSES)
def test_equals_keras_float32(kind):
    layer = make(kind, 8, 16, dtype="float32", return_sequences=True)
    x = np.random.default_rng(1).standard_normal((4, 20, 8)).astype("float32")
    twin = keras_twin(layer, 20, dtype="float32")
    out = layer.forward(x)
    assert out.dtype == np.float32
    upstream = np.random.default_rng(2).standard_normal(out.shape).astype("float32")
    keras_out, keras_grads = keras_gradients(twin, x, upstream)
    np.testing.assert_allclose(out, keras_out, **TOL32)
    dx = layer.backward(upstream)
    assert dx.dtype == np.float32 and all(g.dtype == np.float32 for g in layer.grads.values())
    np.testing.assert_allclose(dx, keras_grads[0], **TOL32)
    for key, grad in zip(layer.params, keras_grads[1:]):
        np.testing.assert_allclose(layer.grads[key], grad, rtol=1e-4, atol=1e-4, err_msg=key)


def _tape_graph(kind, layer, x, upstream):
    """The same recurrence written with nnlib.autodiff nodes, one weight block per gate."""
    u = layer.units
    g = GATES[kind]
    W, U = layer.params["kernel"], layer.params["recurrent_kernel"]
    b = layer.params["bias"]
    Ws = [autodiff.Node(W[:, k * u:(k + 1) * u]) for k in range(g)]
    Us = [autodiff.Node(U[:, k * u:(k + 1) * u]) for k in range(g)]
    if kind == "GRU":
        bs = [autodiff.Node(b[0, k * u:(k + 1) * u]) for k in range(g)]
        rs = [autodiff.Node(b[1, k * u:(k + 1) * u]) for k in range(g)]
    else:
        bs = [autodiff.Node(b[k * u:(k + 1) * u]) for k in range(g)]
        rs = []
    xs = [autodiff.Node(x[:, t]) for t in range(x.shape[1])]
    h = autodiff.Node(np.zeros((x.shape[0], u)))
    c = autodiff.Node(np.zeros((x.shape[0], u)))
    loss = None
    for t, xt in enumerate(xs):
        pre = [xt @ Ws[k] + bs[k] for k in range(g)]
        if kind == "SimpleRNN":
            h = (pre[0] + h @ Us[0]).tanh()
        elif kind == "LSTM":
            i, f = (pre[0] + h @ Us[0]).sigmoid(), (pre[1] + h @ Us[1]).sigmoid()
            cand, o = (pre[2] + h @ Us[2]).tanh(), (pre[3] + h @ Us[3]).sigmoid()
            c = f * c + i * cand
            h = o * c.tanh()
        else:
            z = (pre[0] + h @ Us[0] + rs[0]).sigmoid()
            r = (pre[1] + h @ Us[1] + rs[1]).sigmoid()
            cand = (pre[2] + r * (h @ Us[2] + rs[2])).tanh()
            h = z * h + (1.0 - z) * cand
        if layer.return_sequences:
            term = (h * upstream[:, t]).sum()
            loss = term if loss is None else loss + term
    if not layer.return_sequences:
        loss = (h * upstream).sum()
    loss.backward()
    grads = {
        "kernel": np.concatenate([n.grad for n in Ws], axis=1),
        "recurrent_kernel": np.concatenate([n.grad for n in Us], axis=1),
        "bias": (np.stack([np.concatenate([n.grad for n in bs]), np.concatenate([n.grad for n in rs])])
                 if kind == "GRU" else np.concatenate([n.grad for n in bs])),
    }
    return np.stack([n.grad for n in xs], axis=1), grads


@pytest.mark.parametrize("kind", CLASSES)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_equals_nnlib_tape(kind, return_sequences):
    layer = make(kind, 3, 4, return_sequences=return_sequences)
    x = np.random.default_rng(1).standard_normal((2, 5, 3))
    out = layer.forward(x)
    upstream = np.random.default_rng(2).standard_normal(out.shape)
    dx = layer.backward(upstream)
    tape_dx, tape_grads = _tape_graph(kind, layer, x, upstream)
    np.testing.assert_allclose(dx, tape_dx, **TOL64)
    for key in layer.params:
        np.testing.assert_allclose(layer.grads[key], tape_grads[key], **TOL64, err_msg=key)


@pytest.mark.parametrize("kind", CLASSES)
def test_last_state_is_last_of_sequence(kind):
    x = np.random.default_rng(1).standard_normal((3, 6, 2))
    every = make(kind, 2, 3, return_sequences=True).forward(x)
    last = make(kind, 2, 3, return_sequences=False).forward(x)
    assert every.shape == (3, 6, 3) and last.shape == (3, 3)
    np.testing.assert_array_equal(last, every[:, -1])
    # causality: the state at step t does not depend on later inputs
    changed = x.copy()
    changed[:, 4:] += 1.0
    np.testing.assert_array_equal(make(kind, 2, 3, return_sequences=True).forward(changed)[:, :4], every[:, :4])


# --- inside Sequential -------------------------------------------------------------

def test_lstm_dense_trains_with_fit():
    """Many-to-one: predict the mean of a sequence's first feature (needs memory over time)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(128, 10, 2))
    y = x[:, :, :1].mean(axis=1) * 3.0
    model = Sequential([layers.LSTM(2, 8, rng=rng), layers.Dense(8, 1, rng=rng)])
    model.compile(loss="mse", optimizer=optimizers.Adam(0.02))
    before = model.evaluate(x, y)["loss"]
    history = model.fit(x, y, epochs=30, batch_size=32, rng=rng)
    after = model.evaluate(x, y)["loss"]
    assert after < 0.2 * before, (before, after)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(x).shape == (128, 1)
    assert model.count_params() == 4 * (2 * 8 + 8 * 8 + 8) + 9
    assert model.multiply_adds() == [10 * 4 * 8 * (2 + 8), 8]


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU"])
def test_sequential_gradients_equal_keras(kind):
    from nnlib import keras_bridge

    rng = np.random.default_rng(0)
    model = Sequential([make(kind, 2, 3, return_sequences=False), layers.Dense(3, 1, rng=rng)])
    model.compile(loss="mse")
    x, y = rng.standard_normal((6, 4, 2)), rng.standard_normal((6, 1))
    loss, grads = model.compute_gradients(x, y)
    keras_model = keras_bridge.to_keras(model, dtype="float64")
    keras_loss, keras_grads = keras_bridge.tape_gradients(keras_model, "mse", x, y)
    np.testing.assert_allclose(loss, keras_loss, rtol=1e-12)
    for ours, theirs in zip(grads, keras_grads):
        np.testing.assert_allclose(ours, theirs, **TOL64)


# --- bad input ---------------------------------------------------------------------

def rnn(kind="LSTM", **kwargs):
    return CLASSES[kind](3, 4, rng=np.random.default_rng(0), **kwargs)


BAD = [
    ("units-zero", lambda: layers.LSTM(3, 0), ValueError, "units expected a positive integer. Received: units=0"),
    ("in-features-negative", lambda: layers.GRU(-1, 2), ValueError, "in_features expected a positive integer"),
    ("units-float", lambda: layers.SimpleRNN(3, 2.5), TypeError, "units expected a positive integer"),
    ("return-sequences-string", lambda: rnn(return_sequences="yes"), TypeError, "return_sequences expected"),
    ("use-bias-int", lambda: rnn("GRU", use_bias=1), TypeError, "use_bias expected"),
    ("unit-forget-bias-string", lambda: rnn(unit_forget_bias="no"), TypeError, "unit_forget_bias expected"),
    ("activation-unknown", lambda: rnn(activation="swish2"), ValueError, "activation expected one of"),
    ("activation-softmax", lambda: rnn("SimpleRNN", activation="softmax"), ValueError,
     "activation expected an elementwise activation. Received: activation='softmax'"),
    ("recurrent-activation-softmax", lambda: rnn(recurrent_activation="softmax"), ValueError,
     "recurrent_activation expected an elementwise activation"),
    ("dtype", lambda: rnn(dtype="float16"), ValueError, "dtype expected 'float32' or 'float64'"),
    ("rng", lambda: layers.LSTM(3, 4, rng=0), TypeError, "rng expected a numpy.random.Generator"),
    ("initializer", lambda: rnn(recurrent_initializer="identity"), ValueError, "initializer expected one of"),
    ("x-2d", lambda: rnn().forward(np.zeros((2, 3))), ValueError,
     "LSTM layer 'lstm' expected input of shape (batch, time >= 1, 3). Received: x.shape=(2, 3)"),
    ("x-features", lambda: rnn("GRU").forward(np.zeros((2, 5, 4))), ValueError, "Received: x.shape=(2, 5, 4)"),
    ("x-no-steps", lambda: rnn("SimpleRNN").forward(np.zeros((2, 0, 3))), ValueError, "time >= 1"),
    ("x-strings", lambda: rnn().forward(np.array([["a"]])), TypeError, "x expected an array of numbers"),
    ("backward-first", lambda: rnn().backward(np.zeros((2, 4))), RuntimeError, None),
    ("dout-shape", lambda: (lambda l: (l.forward(np.zeros((2, 5, 3))), l.backward(np.zeros((2, 5, 4)))))(rnn()),
     ValueError, "backward expected dout of shape (2, 4). Received: dout.shape=(2, 5, 4)"),
    ("dout-shape-sequences", lambda: (lambda l: (l.forward(np.zeros((2, 5, 3))), l.backward(np.zeros((2, 4)))))(
        rnn("GRU", return_sequences=True)), ValueError, "expected dout of shape (2, 5, 4)"),
    ("set-weights-count", lambda: rnn().set_weights([np.zeros((3, 16))]), ValueError, "set_weights expected 3 arrays"),
    ("set-weights-gru-bias", lambda: rnn("GRU").set_weights([np.zeros((3, 12)), np.zeros((4, 12)), np.zeros(12)]),
     ValueError, "expected bias of shape (2, 12). Received: shape=(12,)"),
    ("set-weights-recurrent", lambda: rnn().set_weights([np.zeros((3, 16)), np.zeros((16, 4)), np.zeros(16)]),
     ValueError, "expected recurrent_kernel of shape (4, 16). Received: shape=(16, 4)"),
    ("multiply-adds-timesteps", lambda: rnn().multiply_adds(0), ValueError, "timesteps expected a positive integer"),
    ("orthogonal-1d", lambda: initializers.orthogonal((3,)), ValueError, "orthogonal expected a shape with at least 2 axes"),
    ("orthogonal-gain", lambda: initializers.orthogonal((3, 3), gain=-1.0), ValueError, "gain expected"),
]


@pytest.mark.parametrize("call, error, fragment", [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_refuses_bad_input(call, error, fragment):
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert type(caught.value) is error, message
    if fragment is None:
        assert "called before forward" in message
        return
    assert "expected" in message and "Received:" in message, message
    assert fragment in message, message


def test_accepts_non_finite_weights_and_values():
    """Computed values may diverge (CONTRIBUTING, "Bad input"): no error, NaN propagates."""
    layer = rnn("SimpleRNN")
    weights = layer.get_weights()
    weights[0][0, 0] = np.nan
    layer.set_weights(weights)
    out = layer.forward(np.ones((1, 2, 3)))
    assert np.isnan(out).any()
