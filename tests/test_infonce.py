"""Tests for nnlib.losses.info_nce: TF parity (loss and tape gradients), float64 gradient checks, limits, bad input."""

import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import losses
from nnlib.gradcheck import check_function

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

GRAD_TOL = 1e-5
from bad_input import check, table  # tests/bad_input.py
OPTIONS = [(normalize, symmetric) for normalize in (True, False) for symmetric in (False, True)]
IDS = [f"normalize={n}-symmetric={s}" for n, s in OPTIONS]


def tf_info_nce(z_a, z_b, temperature, normalize, symmetric):
    """The TF form: cosine logits, sparse categorical cross-entropy with labels arange(N)."""
    if normalize:
        z_a, z_b = tf.math.l2_normalize(z_a, axis=1), tf.math.l2_normalize(z_b, axis=1)
    logits = tf.matmul(z_a, z_b, transpose_b=True) / temperature
    labels = tf.range(tf.shape(logits)[0])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if symmetric:
        return 0.5 * (loss(labels, logits) + loss(labels, tf.transpose(logits)))
    return loss(labels, logits)


def embeddings(rng, n=6, d=4, dtype=np.float32):
    return rng.standard_normal((n, d)).astype(dtype), rng.standard_normal((n, d)).astype(dtype)


@pytest.mark.parametrize("normalize, symmetric", OPTIONS, ids=IDS)
@pytest.mark.parametrize("temperature", [0.1, 1.0])
def test_equals_tf_loss_and_tape_gradients(normalize, symmetric, temperature):
    z_a, z_b = embeddings(np.random.default_rng(1))
    ours = losses.info_nce(z_a, z_b, temperature=temperature, normalize=normalize, symmetric=symmetric)
    d_a, d_b = losses.info_nce_gradient(z_a, z_b, temperature=temperature, normalize=normalize, symmetric=symmetric)
    t_a, t_b = tf.Variable(z_a), tf.Variable(z_b)
    with tf.GradientTape() as tape:
        reference = tf_info_nce(t_a, t_b, temperature, normalize, symmetric)
    g_a, g_b = tape.gradient(reference, [t_a, t_b])
    np.testing.assert_allclose(ours, reference.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d_a, g_a.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(d_b, g_b.numpy(), rtol=1e-4, atol=1e-6)
    assert d_a.dtype == np.float32 and d_b.dtype == np.float32


def test_equals_softmax_cross_entropy_with_logits():
    z_a, z_b = embeddings(np.random.default_rng(2), n=8, d=3, dtype=np.float64)
    u = z_a / np.linalg.norm(z_a, axis=1, keepdims=True)
    v = z_b / np.linalg.norm(z_b, axis=1, keepdims=True)
    per_row = tf.nn.softmax_cross_entropy_with_logits(labels=np.eye(8), logits=u @ v.T / 0.2)
    np.testing.assert_allclose(losses.info_nce(z_a, z_b, temperature=0.2), np.mean(per_row.numpy()), rtol=1e-12)


@pytest.mark.parametrize("normalize, symmetric", OPTIONS, ids=IDS)
def test_gradcheck_float64(normalize, symmetric):
    z_a, z_b = embeddings(np.random.default_rng(3), n=5, d=3, dtype=np.float64)
    options = dict(temperature=0.5, normalize=normalize, symmetric=symmetric)
    error_a = check_function(lambda a: losses.info_nce(a, z_b, **options),
                             lambda a: losses.info_nce_gradient(a, z_b, **options)[0], z_a)
    error_b = check_function(lambda b: losses.info_nce(z_a, b, **options),
                             lambda b: losses.info_nce_gradient(z_a, b, **options)[1], z_b)
    assert error_a < GRAD_TOL and error_b < GRAD_TOL


def test_gradient_is_orthogonal_to_each_embedding_when_normalized():
    z_a, z_b = embeddings(np.random.default_rng(4), dtype=np.float64)
    d_a, d_b = losses.info_nce_gradient(z_a, z_b)
    np.testing.assert_allclose(np.sum(d_a * z_a, axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(np.sum(d_b * z_b, axis=1), 0, atol=1e-12)
    # and the loss does not change when a row is rescaled
    scaled = z_a * np.arange(1, 7)[:, None]
    np.testing.assert_allclose(losses.info_nce(scaled, z_b), losses.info_nce(z_a, z_b), rtol=1e-12)


def test_aligned_pairs_at_low_temperature_go_to_zero():
    # orthonormal rows: s_ii = 1/tau, s_ij = 0, so the loss is log(1 + (N-1) e^{-1/tau})
    z = np.eye(6)
    for temperature in (1.0, 0.1, 0.01):
        expected = np.log1p(5 * np.exp(-1 / temperature))
        np.testing.assert_allclose(losses.info_nce(z, z, temperature=temperature), expected, rtol=1e-9, atol=1e-15)
    assert 0 <= losses.info_nce(z, z, temperature=0.01) < 1e-12


@pytest.mark.parametrize("n", [2, 5, 32])
@pytest.mark.parametrize("symmetric", [False, True])
def test_identical_embeddings_give_log_n(n, symmetric):
    z = np.tile(np.random.default_rng(5).standard_normal((1, 3)), (n, 1))
    np.testing.assert_allclose(losses.info_nce(z, z, temperature=0.07, symmetric=symmetric), np.log(n), rtol=1e-12)


def test_loss_is_below_log_n_for_aligned_and_above_for_anti_aligned():
    z_a, _ = embeddings(np.random.default_rng(6), n=16, d=8, dtype=np.float64)
    assert losses.info_nce(z_a, z_a) < np.log(16) < losses.info_nce(z_a, -z_a)


def test_symmetric_is_mean_of_both_directions_and_below_nt_xent():
    z_a, z_b = embeddings(np.random.default_rng(7), n=6, d=4, dtype=np.float64)
    both = losses.info_nce(z_a, z_b, symmetric=True)
    np.testing.assert_allclose(both, 0.5 * (losses.info_nce(z_a, z_b) + losses.info_nce(z_b, z_a)), rtol=1e-12)
    # SimCLR's NT-Xent: 2N anchors, 2N - 2 negatives each (same-view logits added, self masked)
    z = np.concatenate([z_a, z_b])
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    logits = u @ u.T / 0.1
    np.fill_diagonal(logits, -np.inf)
    positives = np.concatenate([np.arange(6, 12), np.arange(6)])
    log_p = logits - np.log(np.sum(np.exp(logits - logits.max(1, keepdims=True)), 1, keepdims=True)) - logits.max(1, keepdims=True)
    nt_xent = -np.mean(log_p[np.arange(12), positives])
    assert nt_xent > both


BAD = [
    ("string", lambda: losses.info_nce("ab", np.ones((2, 2))), TypeError, "z_a expected an array of numbers"),
    ("1-D", lambda: losses.info_nce(np.ones(3), np.ones(3)), ValueError, "z_a expected a 2-D array"),
    ("shapes", lambda: losses.info_nce(np.ones((3, 2)), np.ones((4, 2))), ValueError, "z_a and z_b of the same shape"),
    ("one-row", lambda: losses.info_nce(np.ones((1, 2)), np.ones((1, 2))), ValueError, "at least 2 rows"),
    ("no-columns", lambda: losses.info_nce(np.ones((3, 0)), np.ones((3, 0))), ValueError, "at least 2 rows"),
    ("zero-row", lambda: losses.info_nce(np.zeros((2, 2)), np.ones((2, 2))), ValueError, "no all-zero rows"),
    ("temperature-0", lambda: losses.info_nce(np.eye(2), np.eye(2), temperature=0), ValueError, "temperature"),
    ("temperature-str", lambda: losses.info_nce(np.eye(2), np.eye(2), temperature="0.1"), TypeError, "temperature"),
    ("temperature-nan", lambda: losses.info_nce(np.eye(2), np.eye(2), temperature=float("nan")), ValueError, "temperature"),
    ("normalize-str", lambda: losses.info_nce(np.eye(2), np.eye(2), normalize="no"), TypeError, "normalize expected a bool"),
    ("symmetric-int", lambda: losses.info_nce_gradient(np.eye(2), np.eye(2), symmetric=1), TypeError,
     "symmetric expected a bool"),
]


@table(BAD)
def test_bad_input(call, error, fragment):
    check(call, error, fragment)
