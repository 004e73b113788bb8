"""Tests for nnlib.layers.Conv2D: TF's padding arithmetic, the fast path against the loop
reference, float64 gradient checks, Keras/TF parity with copied weights (forward and
tf.GradientTape gradients), parity with nnlib's tape, counts, training inside Sequential.
Bad input: tests/test_bad_input.py, table CONV_POOLING."""
import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import autodiff, datasets, keras_bridge, layers, optimizers
from nnlib.gradcheck import check_layer
from nnlib.layers.conv import conv2d_reference, conv2d_reference_backward, output_length, same_padding
from nnlib.model import Sequential

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

GRAD_TOL = 1e-5  # as in test_dense.py: rounding noise ~1e-6 on the smallest components; a wrong gradient ~1
# (kernel_size, strides, padding, input height, input width): odd and even kernels, strides > 1,
# "same" with an odd total padding (the extra cell at the end), inputs not divisible by the stride
CONFIGS = [
    (3, 1, "same", 5, 6),
    (3, 1, "valid", 5, 6),
    (2, 1, "same", 5, 5),
    (2, 2, "same", 5, 7),
    (4, 3, "same", 7, 8),
    ((2, 3), (2, 1), "valid", 6, 7),
    ((1, 4), (1, 2), "same", 4, 9),
    (3, 2, "valid", 8, 8),
]
IDS = [f"k{k}-s{s}-{p}-{h}x{w}" for k, s, p, h, w in CONFIGS]


def conv(in_channels=2, filters=3, kernel_size=3, strides=1, padding="valid", seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    layer = layers.Conv2D(in_channels, filters, kernel_size, strides, padding, rng=rng, **kwargs)
    if layer.use_bias:  # non-zero biases, so that copying and differentiating them matters
        layer.params["bias"][...] = rng.standard_normal(filters)
    return layer


def keras_conv(layer, height, width, dtype="float64"):
    twin = keras.layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.strides, padding=layer.padding,
                               activation=layer.activation.name, use_bias=layer.use_bias, dtype=dtype)
    twin.build((None, height, width, layer.in_channels))
    twin.set_weights(layer.get_weights())
    return twin


def keras_forward_backward(twin, x, upstream):
    return keras_bridge.layer_gradients(twin, x, upstream)


# --- padding arithmetic ---------------------------------------------------------------------

@pytest.mark.parametrize("size, window, stride, expected", [
    (5, 3, 1, (1, 1)), (5, 2, 1, (0, 1)), (5, 4, 1, (1, 2)), (5, 1, 1, (0, 0)),
    (5, 3, 2, (1, 1)), (6, 3, 2, (0, 1)), (4, 1, 2, (0, 0)), (7, 4, 3, (1, 2)), (8, 2, 2, (0, 0)),
])
def test_same_padding_is_tensorflows(size, window, stride, expected):
    """total = max((ceil(n/s) - 1) s + k - n, 0), the odd cell after; and TF agrees on the output size."""
    assert same_padding(size, window, stride) == expected
    x = tf.zeros((1, size, size, 1))
    out = tf.nn.conv2d(x, tf.zeros((window, window, 1, 1)), stride, "SAME")
    assert out.shape[1] == output_length(size, window, stride, "same") == -(-size // stride)


def test_forward_by_hand():
    """A 3x3 image of 1..9 with a 2x2 kernel of ones: each output is the sum of a 2x2 block."""
    layer = conv(1, 1, 2, use_bias=False)
    layer.set_weights([np.ones((2, 2, 1, 1))])
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(layer.forward(x)[0, :, :, 0], [[12.0, 16.0], [24.0, 28.0]])
    same = conv(1, 1, 2, padding="same", use_bias=False)
    same.set_weights([np.ones((2, 2, 1, 1))])
    # the padding goes after (bottom row, right column): the last column sums 2 real cells, then 1
    np.testing.assert_array_equal(same.forward(x)[0, :, :, 0], [[12.0, 16.0, 9.0], [24.0, 28.0, 15.0], [15.0, 17.0, 9.0]])


def test_defaults_follow_keras():
    layer = layers.Conv2D(3, 8, 3, rng=np.random.default_rng(0))
    assert list(layer.params) == ["kernel", "bias"]
    assert layer.kernel.shape == (3, 3, 3, 8) and layer.kernel.dtype == np.float64
    np.testing.assert_array_equal(layer.bias, np.zeros(8))
    assert np.abs(layer.kernel).max() <= np.sqrt(6 / (27 + 72))  # Glorot uniform, fans k*k*C and k*k*F
    assert layer.strides == (1, 1) and layer.padding == "valid" and layer.activation.name == "linear"
    assert repr(layer) == "Conv2D(3, 8, kernel_size=(3, 3), strides=(1, 1), padding='valid', activation='linear')"
    assert layers.Conv2D(1, 2, 3, padding="SAME").padding == "same"


# --- the fast path against the loop reference ---------------------------------------------------

@pytest.mark.parametrize("kernel_size, strides, padding, height, width", CONFIGS, ids=IDS)
def test_fast_path_equals_loop_reference(kernel_size, strides, padding, height, width):
    layer = conv(2, 3, kernel_size, strides, padding)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, height, width, 2))
    out = layer.forward(x)
    np.testing.assert_allclose(out, conv2d_reference(x, layer.kernel, layer.bias, layer.strides, padding), rtol=1e-12, atol=1e-12)
    upstream = rng.standard_normal(out.shape)
    dx = layer.backward(upstream)
    ref_dx, ref_kernel, ref_bias = conv2d_reference_backward(x, layer.kernel, upstream, layer.strides, padding)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["kernel"], ref_kernel, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["bias"], ref_bias, rtol=1e-12, atol=1e-12)


# --- gradient checks ---------------------------------------------------------------------------

@pytest.mark.parametrize("kernel_size, strides, padding, height, width", CONFIGS[:6], ids=IDS[:6])
@pytest.mark.parametrize("activation, use_bias", [("linear", True), ("tanh", False)])
def test_gradients_match_finite_differences(kernel_size, strides, padding, height, width, activation, use_bias):
    layer = conv(2, 2, kernel_size, strides, padding, activation=activation, use_bias=use_bias)
    x = np.random.default_rng(2).standard_normal((2, height, width, 2))
    errors = check_layer(layer, x, rng=np.random.default_rng(3))
    assert set(errors) == {"input", "kernel"} | ({"bias"} if use_bias else set())
    assert max(errors.values()) < GRAD_TOL, errors


# --- Keras / TensorFlow parity ----------------------------------------------------------------

@pytest.mark.parametrize("kernel_size, strides, padding, height, width", CONFIGS, ids=IDS)
def test_forward_and_gradients_equal_keras_in_float64(kernel_size, strides, padding, height, width):
    layer = conv(2, 3, kernel_size, strides, padding, activation="tanh")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, height, width, 2))
    out = layer.forward(x)
    upstream = rng.standard_normal(out.shape)
    dx = layer.backward(upstream)
    keras_out, (keras_dx, keras_kernel, keras_bias) = keras_forward_backward(keras_conv(layer, height, width), x, upstream)
    np.testing.assert_allclose(out, keras_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, keras_dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["kernel"], keras_kernel, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["bias"], keras_bias, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "linear"])
def test_float32_equals_keras_at_float32_tolerance(activation):
    layer = conv(3, 4, 3, 2, "same", activation=activation, dtype="float32", use_bias=activation != "linear")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 8, 8, 3)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    dx = layer.backward(upstream)
    assert dx.dtype == np.float32 and layer.grads["kernel"].dtype == np.float32
    keras_out, keras_grads = keras_forward_backward(keras_conv(layer, 8, 8, "float32"), x, upstream)
    np.testing.assert_allclose(out, keras_out, rtol=1e-5, atol=1e-6)
    for ours, theirs in zip([dx, *[layer.grads[key] for key in layer.params]], keras_grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


# --- nnlib's tape --------------------------------------------------------------------------------

def tape_convolution(x, kernel, bias, strides, out_hw, top_left, upstream):
    """The scalar sum(conv(x) * upstream) on nnlib.autodiff, with x, kernel and bias as leaves.

    The convolution is written with operations the tape has: Y = sum_{u,v} (S_uv X)(R_uv W) + b,
    where X is the input as a (N*H*W, C) matrix, W the kernel as a (kh*kw*C, F) matrix, S_uv
    selects the input cell under offset (u, v) of each output cell and R_uv the kernel rows of
    that offset.
    """
    n, height, width, channels = x.shape
    kh, kw, _, filters = kernel.shape
    (sh, sw), (out_h, out_w), (top, left) = strides, out_hw, top_left
    terms = []
    for u in range(kh):
        for v in range(kw):
            select = np.zeros((n * out_h * out_w, n * height * width))
            for b in range(n):
                for i in range(out_h):
                    for j in range(out_w):
                        row, col = i * sh + u - top, j * sw + v - left
                        if 0 <= row < height and 0 <= col < width:
                            select[(b * out_h + i) * out_w + j, (b * height + row) * width + col] = 1.0
            rows = np.zeros((channels, kh * kw * channels))
            rows[np.arange(channels), (u * kw + v) * channels + np.arange(channels)] = 1.0
            terms.append((select, rows))

    def loss(x_node, kernel_node, bias_node):
        out = bias_node
        for select, rows in terms:
            out = out + (select @ x_node) @ (rows @ kernel_node)
        return (out * upstream.reshape(-1, filters)).sum()

    return autodiff.grad(loss, x.reshape(-1, channels), kernel.reshape(-1, filters), bias)


@pytest.mark.parametrize("kernel_size, strides, padding, height, width", [CONFIGS[0], CONFIGS[3], CONFIGS[4], CONFIGS[5]],
                         ids=[IDS[0], IDS[3], IDS[4], IDS[5]])
def test_gradients_equal_nnlib_tape(kernel_size, strides, padding, height, width):
    layer = conv(2, 3, kernel_size, strides, padding)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, height, width, 2))
    out = layer.forward(x)
    upstream = rng.standard_normal(out.shape)
    dx = layer.backward(upstream)
    top_left = (same_padding(height, layer.kernel_size[0], layer.strides[0])[0],
                same_padding(width, layer.kernel_size[1], layer.strides[1])[0]) if padding == "same" else (0, 0)
    tape_x, tape_kernel, tape_bias = tape_convolution(x, layer.kernel, layer.bias, layer.strides, out.shape[1:3], top_left, upstream)
    np.testing.assert_allclose(dx, tape_x.reshape(x.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["kernel"], tape_kernel.reshape(layer.kernel.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["bias"], tape_bias, rtol=1e-12, atol=1e-12)


# --- counts ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kernel_size, strides, padding, height, width", CONFIGS, ids=IDS)
@pytest.mark.parametrize("use_bias", [True, False])
def test_counts_equal_keras_and_the_formula(kernel_size, strides, padding, height, width, use_bias):
    layer = conv(2, 5, kernel_size, strides, padding, use_bias=use_bias)
    kh, kw = layer.kernel_size
    assert layer.count_params() == kh * kw * 2 * 5 + 5 * use_bias == keras_conv(layer, height, width).count_params()
    out = layer.forward(np.zeros((1, height, width, 2)))
    out_h, out_w = out.shape[1:3]
    assert layer.output_shape((height, width, 2)) == out.shape[1:]
    # each output value is a sum of kh*kw*C products: O_H O_W F of them per example
    assert layer.multiply_adds() == out_h * out_w * 5 * kh * kw * 2 == layer.multiply_adds((height, width, 2))


def test_multiply_adds_needs_an_input_shape():
    with pytest.raises(ValueError, match=r"multiply_adds expected input_shape=\(height, width, 2\) or a forward pass first"):
        conv().multiply_adds()


# --- inside Sequential ------------------------------------------------------------------------------

def digits_images():
    images, labels = datasets.digits()
    return images.reshape(-1, 8, 8, 1), labels


def small_cnn(seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    return Sequential([
        layers.Conv2D(1, 8, 3, padding="same", activation="relu", rng=rng, dtype=dtype),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(4 * 4 * 8, 10, "softmax", rng=rng, dtype=dtype),
    ])


def test_a_small_cnn_learns_digits_with_fit_evaluate_predict():
    images, labels = digits_images()
    train, test = slice(0, 1200), slice(1200, None)
    model = small_cnn()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizers.Adam(0.01), metrics=["accuracy"])
    before = model.evaluate(images[train], labels[train])["loss"]
    history = model.fit(images[train], labels[train], epochs=3, batch_size=64, rng=np.random.default_rng(1))
    losses = history.history["loss"]
    assert losses[0] < 0.8 * before and losses[-1] < losses[0]  # falls from ln 10 ~ 2.3 in three epochs
    assert model.evaluate(images[test], labels[test])["accuracy"] > 0.8  # chance is 0.1
    probabilities = model.predict(images[test], batch_size=100)
    assert probabilities.shape == (597, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)


def test_sequential_gradients_of_a_cnn_pass_a_gradient_check():
    """The whole stack (conv, pool, flatten, dense, cross-entropy from the logits) in float64."""
    from nnlib.gradcheck import numerical_gradient, relative_error

    images, labels = digits_images()
    model = Sequential([layers.Conv2D(1, 2, 3, strides=2, padding="same", activation="tanh", rng=np.random.default_rng(0)),
                        layers.AveragePooling2D(2, padding="same"), layers.Flatten(),
                        layers.Dense(2 * 2 * 2, 3, "softmax", rng=np.random.default_rng(1))])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    x, y = images[:5], labels[:5] % 3
    _, grads = model.compute_gradients(x, y)
    for parameter, grad in zip(model.parameters(), grads):
        numeric = numerical_gradient(lambda: model._loss_value(y, model.forward(x)), parameter)
        assert relative_error(grad, numeric) < GRAD_TOL


def test_sequential_accepts_batch_normalization_between_conv_and_flatten():
    """The width check stops at a Flatten: BatchNormalization(8)'s width says nothing about Dense's input."""
    rng = np.random.default_rng(0)
    model = Sequential([layers.Conv2D(1, 8, 3, rng=rng), layers.BatchNormalization(8), layers.Flatten(),
                        layers.Dense(6 * 6 * 8, 2, rng=rng)])
    assert model.forward(np.zeros((2, 8, 8, 1))).shape == (2, 2)
    with pytest.raises(ValueError, match="Sequential expected each layer's in_features"):
        Sequential([layers.Dense(3, 4), layers.Dense(5, 2)])  # the check still works where widths are known


def test_backward_overwrites_and_layer_regularizers_add_to_the_loss():
    layer = conv(1, 2, 3, kernel_regularizer="l2")
    x = np.random.default_rng(7).standard_normal((2, 4, 4, 1))
    layer.forward(x)
    layer.backward(np.ones((2, 2, 2, 2)))
    first = layer.grads["kernel"].copy()
    layer.backward(np.ones((2, 2, 2, 2)))
    np.testing.assert_array_equal(layer.grads["kernel"], first)
    np.testing.assert_allclose(layer.regularization_loss(), 0.01 * np.sum(layer.kernel ** 2))
    layer.add_regularization_gradients()
    np.testing.assert_allclose(layer.grads["kernel"], first + 0.02 * layer.kernel)


# --- Hypothesis: shapes the table above does not list ------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 4), sw=st.integers(1, 4), padding=st.sampled_from(["valid", "same"]),
       extra_h=st.integers(0, 4), extra_w=st.integers(0, 4), channels=st.integers(1, 3), filters=st.integers(1, 3))
def test_fast_path_equals_loop_reference_on_any_shape(kh, kw, sh, sw, padding, extra_h, extra_w, channels, filters):
    """Strides larger than the kernel, 1-wide kernels and inputs as small as the kernel included."""
    layer = conv(channels, filters, (kh, kw), (sh, sw), padding)
    rng = np.random.default_rng(kh * 1000 + kw * 100 + sh * 10 + sw)
    x = rng.standard_normal((2, kh + extra_h, kw + extra_w, channels))
    out = layer.forward(x)
    np.testing.assert_allclose(out, conv2d_reference(x, layer.kernel, layer.bias, layer.strides, padding), rtol=1e-12, atol=1e-12)
    upstream = rng.standard_normal(out.shape)
    ref_dx, ref_kernel, _ = conv2d_reference_backward(x, layer.kernel, upstream, layer.strides, padding)
    np.testing.assert_allclose(layer.backward(upstream), ref_dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["kernel"], ref_kernel, rtol=1e-12, atol=1e-12)
