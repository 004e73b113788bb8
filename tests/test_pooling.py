"""Tests for nnlib.layers' pooling layers and Flatten: hand values, TF's tie routing in the
max-pool gradient, "same" average pooling dividing by the real cells, float64 gradient
checks, Keras/TF parity (forward and tf.GradientTape gradients), parity with nnlib's tape,
counts. Bad input: tests/test_bad_input.py, table CONV_POOLING."""
import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import autodiff, keras_bridge, layers
from nnlib.gradcheck import check_layer
from nnlib.layers.conv import same_padding

import keras  # noqa: E402

GRAD_TOL = 1e-5
# (pool_size, strides, padding, height, width): overlapping and non-overlapping windows,
# even and odd sizes, "same" with an odd total padding, inputs not divisible by the stride
CONFIGS = [
    (2, None, "valid", 4, 6),
    (2, None, "same", 5, 5),
    (3, 1, "same", 5, 6),
    (3, 2, "valid", 7, 7),
    ((2, 3), (1, 2), "same", 5, 7),
    (2, 1, "valid", 3, 4),
]
IDS = [f"p{p}-s{s}-{pad}-{h}x{w}" for p, s, pad, h, w in CONFIGS]
POOLS = {"max": (layers.MaxPooling2D, keras.layers.MaxPooling2D), "average": (layers.AveragePooling2D, keras.layers.AveragePooling2D)}


def keras_forward_backward(keras_layer, x, upstream):
    out, (dx,) = keras_bridge.layer_gradients(keras_layer, x, upstream)
    return out, dx


def pair_of(pool_size, strides, padding, kind):
    ours, theirs = POOLS[kind]
    return ours(pool_size, strides, padding), theirs(pool_size, strides=strides, padding=padding, dtype="float64")


# --- by hand -----------------------------------------------------------------------------------

def test_max_and_average_by_hand():
    x = np.array([[1.0, 2.0, 5.0, 0.0], [3.0, 4.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0], [0.0, 8.0, 2.0, 6.0]]).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(layers.MaxPooling2D(2).forward(x)[0, :, :, 0], [[4.0, 5.0], [8.0, 6.0]])
    np.testing.assert_array_equal(layers.AveragePooling2D(2).forward(x)[0, :, :, 0], [[2.5, 1.75], [2.0, 3.0]])
    pool = layers.MaxPooling2D(2)
    pool.forward(x)
    routed = pool.backward(np.array([[10.0, 20.0], [30.0, 40.0]]).reshape(1, 2, 2, 1))[0, :, :, 0]
    np.testing.assert_array_equal(routed, [[0, 0, 20, 0], [0, 10, 0, 0], [0, 0, 0, 0], [0, 30, 0, 40]])


def test_same_average_pooling_divides_by_the_real_cells_as_tensorflow():
    """3x3 image of 0..8, 2x2 windows, stride 1, "same": the padding is one row below and one
    column to the right; a border window averages its 2 (or 1) real cells, not 4."""
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    expected = [[2.0, 3.0, 3.5], [5.0, 6.0, 6.5], [6.5, 7.5, 8.0]]
    np.testing.assert_array_equal(layers.AveragePooling2D(2, 1, "same").forward(x)[0, :, :, 0], expected)
    keras_out = keras.layers.AveragePooling2D(2, strides=1, padding="same", dtype="float64")(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(keras_out, expected)
    zero_padded_mean = (x[0, 2, 2, 0] + 0 + 0 + 0) / 4  # what dividing by the window size would give
    assert keras_out[2, 2] != zero_padded_mean


def test_same_max_pooling_never_picks_the_padding():
    x = -np.ones((1, 3, 3, 1))  # all negative: zero padding would win
    np.testing.assert_array_equal(layers.MaxPooling2D(2, padding="same").forward(x), -np.ones((1, 2, 2, 1)))


def test_strides_default_to_the_pool_size_and_repr():
    pool = layers.MaxPooling2D((2, 3))
    assert pool.strides == (2, 3) and pool.padding == "valid"
    assert repr(pool) == "MaxPooling2D(pool_size=(2, 3), strides=(2, 3), padding='valid')"
    assert repr(layers.AveragePooling2D(3, 1, "same")) == "AveragePooling2D(pool_size=(3, 3), strides=(1, 1), padding='same')"
    assert repr(layers.Flatten()) == "Flatten()" and repr(layers.GlobalAveragePooling2D()) == "GlobalAveragePooling2D(keepdims=False)"


# --- ties in the max-pool gradient ------------------------------------------------------------

def test_tensorflow_routes_a_tie_to_the_first_maximum_in_row_major_order():
    """The fact nnlib copies, checked on TF itself: in each window, the first cell (top row first,
    then left to right) holding the maximum gets the whole gradient."""
    x = np.zeros((1, 4, 4, 1))
    x[0, 0, 0, 0] = x[0, 0, 1, 0] = 2.0  # a tie in a row of the top-left window
    x[0, 2, 3, 0] = x[0, 3, 2, 0] = 3.0  # a tie across rows of the bottom-right window: (2, 3) comes first
    # the top-right and bottom-left windows are all zeros: four tied cells, (0, 2) and (2, 0) first
    _, tf_grad = keras_forward_backward(keras.layers.MaxPooling2D(2, dtype="float64"), x, np.ones((1, 2, 2, 1)))
    expected = np.zeros((4, 4))
    expected[0, 0] = expected[2, 3] = expected[0, 2] = expected[2, 0] = 1.0
    np.testing.assert_array_equal(tf_grad[0, :, :, 0], expected)
    pool = layers.MaxPooling2D(2)
    pool.forward(x)
    np.testing.assert_array_equal(pool.backward(np.ones((1, 2, 2, 1)))[0, :, :, 0], expected)


@pytest.mark.parametrize("pool_size, strides, padding, height, width", CONFIGS, ids=IDS)
def test_max_pool_gradient_with_many_ties_equals_tensorflow(pool_size, strides, padding, height, width):
    """Inputs drawn from {0, 1, 2}: most windows have ties, overlapping windows share them."""
    x = np.random.default_rng(0).integers(0, 3, size=(3, height, width, 2)).astype(np.float64)
    ours, theirs = pair_of(pool_size, strides, padding, "max")
    out = ours.forward(x)
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    keras_out, keras_grad = keras_forward_backward(theirs, x, upstream)
    np.testing.assert_array_equal(out, keras_out)
    np.testing.assert_allclose(ours.backward(upstream), keras_grad, rtol=1e-12, atol=1e-12)


# --- gradient checks and Keras parity ----------------------------------------------------------

@pytest.mark.parametrize("pool_size, strides, padding, height, width", CONFIGS, ids=IDS)
@pytest.mark.parametrize("kind", ["max", "average"])
def test_gradients_match_finite_differences(pool_size, strides, padding, height, width, kind):
    ours, _ = pair_of(pool_size, strides, padding, kind)
    x = np.random.default_rng(2).standard_normal((2, height, width, 2))  # no ties: max is differentiable
    errors = check_layer(ours, x, rng=np.random.default_rng(3))
    assert errors["input"] < GRAD_TOL, errors


@pytest.mark.parametrize("pool_size, strides, padding, height, width", CONFIGS, ids=IDS)
@pytest.mark.parametrize("kind", ["max", "average"])
def test_forward_and_gradients_equal_keras(pool_size, strides, padding, height, width, kind):
    ours, theirs = pair_of(pool_size, strides, padding, kind)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, height, width, 2))
    out = ours.forward(x)
    upstream = rng.standard_normal(out.shape)
    keras_out, keras_grad = keras_forward_backward(theirs, x, upstream)
    np.testing.assert_allclose(out, keras_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.backward(upstream), keras_grad, rtol=1e-12, atol=1e-12)
    assert ours.output_shape(x.shape[1:]) == out.shape[1:]


@pytest.mark.parametrize("kind", ["max", "average"])
def test_float32_stays_float32_and_equals_keras(kind):
    ours, _ = pair_of(3, 2, "same", kind)
    theirs = POOLS[kind][1](3, strides=2, padding="same")
    x = np.random.default_rng(5).standard_normal((2, 7, 7, 3)).astype(np.float32)
    out = ours.forward(x)
    assert out.dtype == np.float32 and ours.backward(np.ones_like(out)).dtype == np.float32
    np.testing.assert_allclose(out, theirs(x).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling_equals_keras_and_passes_a_gradient_check(keepdims):
    layer = layers.GlobalAveragePooling2D(keepdims=keepdims)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4, 5, 2))
    out = layer.forward(x)
    assert out.shape == ((3, 1, 1, 2) if keepdims else (3, 2))
    upstream = rng.standard_normal(out.shape)
    keras_out, keras_grad = keras_forward_backward(keras.layers.GlobalAveragePooling2D(keepdims=keepdims, dtype="float64"), x, upstream)
    np.testing.assert_allclose(out, keras_out, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.backward(upstream), keras_grad, rtol=1e-12, atol=1e-15)
    assert check_layer(layer, x, rng=np.random.default_rng(7))["input"] < GRAD_TOL


@pytest.mark.parametrize("shape", [(3, 4, 5, 2), (3, 6), (3, 2, 7)])
def test_flatten_equals_keras_and_passes_a_gradient_check(shape):
    layer = layers.Flatten()
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shape)
    out = layer.forward(x)
    upstream = rng.standard_normal(out.shape)
    keras_out, keras_grad = keras_forward_backward(keras.layers.Flatten(dtype="float64"), x, upstream)
    np.testing.assert_array_equal(out, keras_out)
    np.testing.assert_array_equal(layer.backward(upstream), keras_grad)
    assert check_layer(layer, x, rng=np.random.default_rng(9))["input"] < GRAD_TOL
    assert layers.Flatten().forward(np.arange(3.0)).shape == (3, 1)  # Keras makes (N,) into (N, 1)


# --- nnlib's tape --------------------------------------------------------------------------------

def window_selections(shape, pool_size, strides, padding):
    """For each window offset (u, v): the 0/1 matrix S_uv picking, for every output cell, the
    input cell at offset (u, v) of its window (a zero row where that cell is padding), and the
    0/1 column `padded` marking those rows. X is the input as a (N*H*W, C) matrix."""
    n, height, width = shape
    (ph, pw), (sh, sw) = pool_size, strides
    if padding == "same":
        (top, _), (left, _) = same_padding(height, ph, sh), same_padding(width, pw, sw)
        out_h, out_w = -(-height // sh), -(-width // sw)
    else:
        top = left = 0
        out_h, out_w = (height - ph) // sh + 1, (width - pw) // sw + 1
    selections = []
    for u in range(ph):
        for v in range(pw):
            select = np.zeros((n * out_h * out_w, n * height * width))
            padded = np.ones((n * out_h * out_w, 1))
            for b in range(n):
                for i in range(out_h):
                    for j in range(out_w):
                        row, col = i * sh + u - top, j * sw + v - left
                        if 0 <= row < height and 0 <= col < width:
                            select[(b * out_h + i) * out_w + j, (b * height + row) * width + col] = 1.0
                            padded[(b * out_h + i) * out_w + j] = 0.0
            selections.append((select, padded))
    return selections, (out_h, out_w)


def tape_pool_gradient(kind, x, pool_size, strides, padding, upstream):
    """sum(pool(x) * upstream) on nnlib.autodiff, by the tape's own operations: the average is
    sum_uv S_uv X / count; the max is built pairwise, m <- m + relu(x_uv - m) (the tape's relu has
    derivative 0 at 0, so a tie keeps the earlier cell, as TF does), padding held at -1e3."""
    n, height, width, channels = x.shape
    selections, _ = window_selections((n, height, width), pool_size, strides, padding)
    counts = sum(1.0 - padded for _, padded in selections)

    def loss(x_node):
        if kind == "average":
            out = sum((select @ x_node for select, _ in selections[1:]), selections[0][0] @ x_node) * (1.0 / counts)
        else:
            out = None
            for select, padded in selections:
                cell = select @ x_node + padded * -1e3
                out = cell if out is None else out + (cell - out).relu()
        return (out * upstream.reshape(-1, channels)).sum()

    (grad,) = autodiff.grad(loss, x.reshape(-1, channels))
    return grad.reshape(x.shape)


@pytest.mark.parametrize("pool_size, strides, padding, height, width", CONFIGS, ids=IDS)
@pytest.mark.parametrize("kind", ["max", "average"])
def test_gradients_equal_nnlib_tape(pool_size, strides, padding, height, width, kind):
    ours, _ = pair_of(pool_size, strides, padding, kind)
    x = np.random.default_rng(10).integers(0, 3, size=(2, height, width, 2)).astype(np.float64)  # ties too
    out = ours.forward(x)
    upstream = np.random.default_rng(11).standard_normal(out.shape)
    np.testing.assert_allclose(ours.backward(upstream), tape_pool_gradient(kind, x, ours.pool_size, ours.strides, padding, upstream),
                               rtol=1e-12, atol=1e-12)


# --- counts ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("pool_size, strides, padding, height, width", CONFIGS, ids=IDS)
def test_counts_equal_keras_and_the_formula(pool_size, strides, padding, height, width):
    shape = (height, width, 2)
    for kind in ("max", "average"):
        ours, theirs = pair_of(pool_size, strides, padding, kind)
        theirs.build((None, *shape))
        assert ours.count_params() == theirs.count_params() == 0
    maximum, average = layers.MaxPooling2D(pool_size, strides, padding), layers.AveragePooling2D(pool_size, strides, padding)
    assert maximum.multiply_adds(shape) == 0
    # C * (sum of real rows per window row) * (sum of real columns per window column), counted here
    # cell by cell from the selection matrices: one multiply-add per real cell of every window
    selections, out_hw = window_selections((1, height, width), average.pool_size, average.strides, padding)
    real_cells = sum(select.sum() for select, _ in selections)
    assert average.multiply_adds(shape) == 2 * real_cells
    if padding == "valid":
        assert average.multiply_adds(shape) == out_hw[0] * out_hw[1] * average.pool_size[0] * average.pool_size[1] * 2
    average.forward(np.zeros((1, *shape)))
    assert average.multiply_adds() == average.multiply_adds(shape)
    assert layers.GlobalAveragePooling2D().multiply_adds(shape) == height * width * 2
    assert layers.Flatten().count_params() == layers.GlobalAveragePooling2D().count_params() == 0
    assert layers.Flatten().multiply_adds() == 0


def test_multiply_adds_needs_an_input_shape():
    with pytest.raises(ValueError, match=r"multiply_adds expected input_shape=\(height, width, channels\) or a forward pass first"):
        layers.AveragePooling2D().multiply_adds()
