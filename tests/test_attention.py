"""nnlib.attention: scaled dot-product attention and multi-head attention against Keras and TF."""

import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras)
from nnlib import gradcheck
from nnlib.attention import MultiHeadAttention, scaled_dot_product_attention, scaled_dot_product_attention_backward

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from bad_input import check, table  # tests/bad_input.py
F32 = dict(rtol=1e-5, atol=1e-6)
MHA_F32 = dict(rtol=1e-5, atol=1e-5)  # outputs of size ~10: float32 rounding of the sums over heads


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def test_rows_sum_to_one_and_masked_weights_are_zero(rng):
    query, key, value = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 5))
    mask = rng.random((2, 4, 6)) > 0.4
    mask[:, :, 0] = True
    output, weights = scaled_dot_product_attention(query, key, value, mask=mask)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(weights[~mask] == 0.0)
    assert output.shape == (2, 4, 5)


def test_hand_computed_case():
    query = np.array([[1.0, 0.0]])
    key = np.array([[1.0, 0.0], [0.0, 1.0]])
    value = np.array([[1.0], [3.0]])
    output, weights = scaled_dot_product_attention(query, key, value)
    first = 1.0 / (1.0 + np.exp(-1.0 / np.sqrt(2.0)))
    np.testing.assert_allclose(weights, [[first, 1 - first]])
    np.testing.assert_allclose(output, [[first + 3 * (1 - first)]])


def test_causal_is_lower_triangular(rng):
    x = rng.standard_normal((5, 3))
    _, weights = scaled_dot_product_attention(x, x, x, causal=True)
    assert np.all(np.triu(weights, 1) == 0.0)
    np.testing.assert_allclose(weights[0], [1, 0, 0, 0, 0])


def test_fully_masked_row_is_uniform_as_in_keras(rng):
    query, key, value = rng.standard_normal((1, 2, 3)), rng.standard_normal((1, 4, 3)), rng.standard_normal((1, 4, 2))
    mask = np.ones((1, 2, 4), dtype=bool)
    mask[0, 1] = False
    _, weights = scaled_dot_product_attention(query, key, value, mask=mask)
    np.testing.assert_allclose(weights[0, 1], 0.25)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_matches_keras_ops_dot_product_attention(rng, causal, masked):
    # keras.ops layout (B, T, N, H); nnlib's (B, N, T, H)
    query = rng.standard_normal((2, 5, 3, 4)).astype(np.float32)
    key = rng.standard_normal((2, 5, 3, 4)).astype(np.float32)
    value = rng.standard_normal((2, 5, 3, 6)).astype(np.float32)
    mask = None
    if masked:
        mask = rng.random((2, 1, 5, 5)) > 0.3
        mask[..., 0] = True
    expected = keras.ops.dot_product_attention(query, key, value, mask=mask, is_causal=causal)
    ours, _ = scaled_dot_product_attention(*(np.swapaxes(a, 1, 2) for a in (query, key, value)), mask=mask, causal=causal)
    np.testing.assert_allclose(np.swapaxes(ours, 1, 2), keras.ops.convert_to_numpy(expected), **F32)


def test_gradients_match_tf_gradient_tape(rng):
    query, key, value = (rng.standard_normal(shape) for shape in ((2, 4, 3), (2, 6, 3), (2, 6, 5)))
    mask = rng.random((2, 4, 6)) > 0.4
    mask[:, 0] = False  # a fully masked row: Keras's uniform weights, gradient 0 into its scores
    upstream = rng.standard_normal((2, 4, 5))
    tensors = [tf.Variable(a) for a in (query, key, value)]
    with tf.GradientTape() as tape:
        scores = tf.matmul(tensors[0], tensors[1], transpose_b=True) / np.sqrt(3.0)
        scores = tf.where(mask, scores, tf.constant(-1e9, tf.float64))
        output = tf.matmul(tf.nn.softmax(scores, axis=-1), tensors[2])
        loss = tf.reduce_sum(output * upstream)
    expected = tape.gradient(loss, tensors)
    _, weights = scaled_dot_product_attention(query, key, value, mask=mask)
    ours = scaled_dot_product_attention_backward(upstream, query, key, value, weights, mask=mask)
    for got, want in zip(ours, expected):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)


def test_attention_gradcheck_with_broadcast_heads(rng):
    query, key, value = rng.standard_normal((2, 3, 4, 2)), rng.standard_normal((2, 1, 5, 2)), rng.standard_normal((1, 1, 5, 3))
    upstream = rng.standard_normal((2, 3, 4, 3))
    arrays = [query, key, value]

    def loss():
        return np.sum(scaled_dot_product_attention(*arrays, causal=True)[0] * upstream)

    _, weights = scaled_dot_product_attention(*arrays, causal=True)
    analytic = scaled_dot_product_attention_backward(upstream, *arrays, weights, causal=True)
    for array, gradient in zip(arrays, analytic):
        assert gradcheck.relative_error(gradient, gradcheck.numerical_gradient(loss, array)) < 1e-5


def _pair(rng, *, use_bias=True, value_dim=4, query_dim=6, value_input_dim=8, key_input_dim=None, dtype="float32"):
    theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=value_dim, use_bias=use_bias, dtype=dtype)
    query = rng.standard_normal((2, 5, query_dim)).astype(dtype)
    value = rng.standard_normal((2, 7, value_input_dim)).astype(dtype)
    key = None if key_input_dim is None else rng.standard_normal((2, 7, key_input_dim)).astype(dtype)
    theirs(query, value, key)
    ours = MultiHeadAttention(query_dim, 2, 3, value_dim, value_input_dim=value_input_dim, key_input_dim=key_input_dim,
                              use_bias=use_bias, dtype=dtype, rng=rng)
    ours.set_weights([w * 3 for w in theirs.get_weights()])  # sharper attention than at initialisation
    theirs.set_weights(ours.get_weights())
    return ours, theirs, query, value, key


def test_weight_layout_and_count_match_keras(rng):
    ours, theirs, *_ = _pair(rng)
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    assert ours.count_params() == theirs.count_params()


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("with_key", [False, True])
def test_multi_head_attention_matches_keras(rng, use_bias, causal, with_key):
    ours, theirs, query, value, key = _pair(rng, use_bias=use_bias, key_input_dim=5 if with_key else None)
    mask = rng.random((2, 5, 7)) > 0.3
    mask[..., 0] = True
    expected, expected_scores = theirs(query, value, key, attention_mask=mask, use_causal_mask=causal,
                                       return_attention_scores=True)
    got, scores = ours(query, value, key, attention_mask=mask, use_causal_mask=causal, return_attention_scores=True)
    np.testing.assert_allclose(got, expected.numpy(), **MHA_F32)
    np.testing.assert_allclose(scores, expected_scores.numpy(), **F32)
    # the fused path (no scores returned) gives the same output
    np.testing.assert_allclose(got, theirs(query, value, key, attention_mask=mask, use_causal_mask=causal).numpy(), **MHA_F32)


def test_self_attention_and_output_dim(rng):
    theirs = keras.layers.MultiHeadAttention(num_heads=3, key_dim=2, output_shape=4)
    x = rng.standard_normal((2, 6, 5)).astype(np.float32)
    theirs(x, x)
    ours = MultiHeadAttention(5, 3, 2, output_dim=4, dtype="float32", rng=rng)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(x), theirs(x, x).numpy(), **MHA_F32)
    np.testing.assert_allclose(ours(x, use_causal_mask=True), theirs(x, x, use_causal_mask=True).numpy(), **MHA_F32)


def test_multi_head_backward_matches_tf(rng):
    ours, theirs, query, value, key = _pair(rng, key_input_dim=5, dtype="float64")
    mask = rng.random((2, 5, 7)) > 0.3
    upstream = rng.standard_normal((2, 5, 6))
    inputs = [tf.Variable(a) for a in (query, value, key)]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(theirs(*inputs, attention_mask=mask) * upstream)
    expected = tape.gradient(loss, inputs + theirs.trainable_variables)
    ours(query, value, key, attention_mask=mask)
    d_inputs = ours.backward(upstream)
    for got, want in zip(list(d_inputs) + list(ours.grads.values()), expected):
        # Keras at float64 agrees to ~2e-7 absolute (part of its path runs in float32); the float64
        # gradient checks below pin nnlib's gradients to 1e-5 against finite differences
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["self", "key-is-value", "separate"])
def test_multi_head_gradcheck(rng, mode):
    layer = MultiHeadAttention(4, 2, 3, 2, value_input_dim=4 if mode == "self" else 3,
                               key_input_dim=None if mode != "separate" else 5, rng=rng)
    for value in layer.params.values():
        value += 0.1 * rng.standard_normal(value.shape)
    query = rng.standard_normal((2, 3, 4))
    value = None if mode == "self" else rng.standard_normal((2, 4, 3))
    key = rng.standard_normal((2, 4, 5)) if mode == "separate" else None
    mask = None if mode == "self" else rng.random((2, 3, 4)) > 0.3
    upstream = rng.standard_normal((2, 3, 4))
    arrays = [a for a in (query, value, key) if a is not None]

    def loss():
        return np.sum(layer(query, value, key, attention_mask=mask, use_causal_mask=mode == "self") * upstream)

    layer(query, value, key, attention_mask=mask, use_causal_mask=mode == "self")
    d_inputs = [d for d in layer.backward(upstream) if d is not None]
    grads = {name: g.copy() for name, g in layer.grads.items()}
    assert len(d_inputs) == len(arrays)
    for array, gradient in zip(arrays, d_inputs):
        assert gradcheck.relative_error(gradient, gradcheck.numerical_gradient(loss, array)) < 1e-5
    # the key bias adds q.b_k to every score of a row, which the softmax ignores: its gradient is 0
    np.testing.assert_allclose(grads["key_bias"], 0.0, atol=1e-12)
    for name, value_array in layer.params.items():
        if name == "key_bias":
            continue
        assert gradcheck.relative_error(grads[name], gradcheck.numerical_gradient(loss, value_array)) < 1e-5, name


X = np.ones((1, 2, 3))
LAYER = MultiHeadAttention(3, 1, 2, rng=np.random.default_rng(0))
BAD = [
    ("query-string", lambda: scaled_dot_product_attention("a", X, X), TypeError, "query expected an array of numbers"),
    ("query-1d", lambda: scaled_dot_product_attention(np.ones(3), X, X), ValueError, "query expected an array with at least 2"),
    ("key-nan", lambda: scaled_dot_product_attention(X, np.full((1, 2, 3), np.nan), X), ValueError, "key expected finite values"),
    ("value-empty", lambda: scaled_dot_product_attention(X, X, np.ones((1, 0, 3))), ValueError, "value expected a non-empty"),
    ("dk-mismatch", lambda: scaled_dot_product_attention(X, np.ones((1, 2, 4)), X), ValueError, "same last axis d_k"),
    ("keys-values", lambda: scaled_dot_product_attention(X, X, np.ones((1, 3, 3))), ValueError, "as many keys as values"),
    ("batch", lambda: scaled_dot_product_attention(np.ones((2, 2, 3)), np.ones((3, 2, 3)), np.ones((3, 2, 3))), ValueError,
     "leading (batch, head) axes"),
    ("mask-int", lambda: scaled_dot_product_attention(X, X, X, mask=np.ones((1, 2, 2))), TypeError, "mask expected a boolean"),
    ("mask-shape", lambda: scaled_dot_product_attention(X, X, X, mask=np.ones((3, 3), bool)), ValueError,
     "Received: mask.shape=(3, 3)"),
    ("causal-flag", lambda: scaled_dot_product_attention(X, X, X, causal=1), TypeError, "causal expected True or False"),
    ("scale", lambda: scaled_dot_product_attention(X, X, X, scale=0), ValueError, "scale expected a finite number > 0"),
    ("backward-shape", lambda: scaled_dot_product_attention_backward(np.ones((1, 2, 2)), X, X, X, np.ones((1, 2, 2))),
     ValueError, "d_output expected shape (1, 2, 3)"),
    ("heads", lambda: MultiHeadAttention(3, 0, 2), ValueError, "num_heads expected a positive integer"),
    ("key-dim", lambda: MultiHeadAttention(3, 1, 2.0), TypeError, "key_dim expected a positive integer"),
    ("dtype", lambda: MultiHeadAttention(3, 1, 2, dtype="int8"), ValueError, "dtype expected 'float32' or 'float64'"),
    ("use-bias", lambda: MultiHeadAttention(3, 1, 2, use_bias="no"), TypeError, "use_bias expected True or False"),
    ("mha-query-width", lambda: LAYER(np.ones((1, 2, 4))), ValueError, "expected query of shape (batch, time, 3)"),
    ("mha-query-2d", lambda: LAYER(np.ones((2, 3))), ValueError, "query expected a 3-D array"),
    ("mha-batch", lambda: LAYER(X, np.ones((2, 2, 3))), ValueError, "one batch size"),
    ("mha-mask", lambda: LAYER(X, attention_mask=np.ones((1, 2, 2))), TypeError, "mask expected a boolean"),
    ("mha-scores-flag", lambda: LAYER(X, return_attention_scores="yes"), TypeError, "return_attention_scores expected"),
    ("mha-dout", lambda: (LAYER(X), LAYER.backward(np.ones((1, 2, 4))))[1], ValueError, "expected dout of shape (1, 2, 3)"),
]


@table(BAD)
def test_bad_input(call, error, fragment):
    check(call, error, fragment)


def test_backward_before_forward():
    with pytest.raises(RuntimeError):
        MultiHeadAttention(3, 1, 2, rng=np.random.default_rng(0)).backward(np.ones((1, 2, 3)))
