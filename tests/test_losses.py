"""Tests for nnlib.losses: hand values, float64 gradient checks, Keras parity, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import losses
from nnlib.gradcheck import check_function

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

# Largest elementwise relative error allowed in float64 gradient checks (nnlib.gradcheck,
# h = 1e-6). Rounding in the differences leaves ~1e-10 absolute noise, which is ~1e-6
# relative on the smallest components; a wrong gradient scores above 1e-2.
GRAD_TOL = 1e-5

# (nnlib class, Keras class, from_logits, kind of y_true)
CASES = [
    (losses.MeanSquaredError, keras.losses.MeanSquaredError, None, "real"),
    (losses.MeanAbsoluteError, keras.losses.MeanAbsoluteError, None, "real"),
    (losses.Huber, keras.losses.Huber, None, "real"),
    (losses.KLDivergence, keras.losses.KLDivergence, None, "distribution"),
    (losses.Hinge, keras.losses.Hinge, None, "signs"),
    (losses.BinaryCrossentropy, keras.losses.BinaryCrossentropy, False, "binary"),
    (losses.BinaryCrossentropy, keras.losses.BinaryCrossentropy, True, "binary"),
    (losses.CategoricalCrossentropy, keras.losses.CategoricalCrossentropy, False, "one_hot"),
    (losses.CategoricalCrossentropy, keras.losses.CategoricalCrossentropy, True, "one_hot"),
    (losses.SparseCategoricalCrossentropy, keras.losses.SparseCategoricalCrossentropy, False, "sparse"),
    (losses.SparseCategoricalCrossentropy, keras.losses.SparseCategoricalCrossentropy, True, "sparse"),
]
CASE_IDS = [f"{case[0].__name__}-logits={case[2]}" for case in CASES]


def make_data(kind, from_logits, rng, batch=6, width=4, dtype=np.float64):
    """Targets and predictions away from the probability clip (0.05 <= p <= 0.95)."""
    if kind == "real":
        y_true, y_pred = rng.standard_normal((batch, width)), rng.standard_normal((batch, width))
    elif kind == "distribution":
        y_true = rng.dirichlet(np.ones(width), batch)
        y_pred = rng.uniform(0.05, 0.95, (batch, width))
    elif kind == "signs":
        y_true = rng.choice([-1.0, 1.0], (batch, width))
        y_pred = rng.standard_normal((batch, width)) * 2
    elif kind == "binary":
        y_true = rng.integers(0, 2, (batch, width)).astype(float)
        y_pred = rng.standard_normal((batch, width)) * 2 if from_logits else rng.uniform(0.05, 0.95, (batch, width))
    else:
        labels = rng.integers(0, width, batch)
        y_true = labels if kind == "sparse" else np.eye(width)[labels]
        # unnormalised positive "probabilities": the loss renormalises rows, as Keras does
        y_pred = rng.standard_normal((batch, width)) * 2 if from_logits else rng.uniform(0.2, 1.0, (batch, width))
    return (y_true if kind == "sparse" else y_true.astype(dtype)), y_pred.astype(dtype)


def make_loss(cls, from_logits):
    return cls() if from_logits is None else cls(from_logits=from_logits)


# --- small hand-computed cases -----------------------------------------------------

def test_mean_squared_error_by_hand():
    assert losses.mean_squared_error([1.0, 2.0], [3.0, 2.0]) == 2.0
    np.testing.assert_array_equal(losses.mean_squared_error_gradient([1.0, 2.0], [3.0, 2.0]), [2.0, 0.0])
    # mean over every element of a (batch, outputs) array, as Keras's mean over axis -1 then batch
    assert losses.mean_squared_error([[0.0, 0.0], [0.0, 0.0]], [[1.0, 2.0], [3.0, 4.0]]) == pytest.approx(30 / 4)


def test_binary_crossentropy_by_hand():
    assert losses.binary_crossentropy([1.0], [0.5]) == pytest.approx(np.log(2.0), rel=1e-12)
    expected = (-np.log(0.9) - np.log(0.8)) / 2
    assert losses.binary_crossentropy([1.0, 0.0], [0.9, 0.2]) == pytest.approx(expected, rel=1e-12)
    assert losses.binary_crossentropy([1.0, 0.0], [0.0, 0.0], from_logits=True) == pytest.approx(np.log(2.0), rel=1e-12)
    # the clip: a confident wrong answer costs -log(1e-7), not infinity
    assert losses.binary_crossentropy([1.0], [0.0]) == pytest.approx(-np.log(1e-7), rel=1e-9)
    np.testing.assert_allclose(losses.binary_crossentropy_gradient([1.0, 0.0], [0.5, 0.25]), [-2.0 / 2, (0.25 / (0.25 * 0.75)) / 2])
    np.testing.assert_allclose(losses.binary_crossentropy_gradient([1.0, 0.0], [0.0, 0.0], from_logits=True), [-0.25, 0.25])


def test_categorical_crossentropy_by_hand():
    assert losses.categorical_crossentropy([0.0, 1.0, 0.0], [0.2, 0.5, 0.3]) == pytest.approx(-np.log(0.5), rel=1e-12)
    # rows are renormalised first: (2, 5, 3) is the same distribution as (0.2, 0.5, 0.3)
    assert losses.categorical_crossentropy([[0.0, 1.0, 0.0]], [[2.0, 5.0, 3.0]]) == pytest.approx(-np.log(0.5), rel=1e-12)
    assert losses.categorical_crossentropy([[1.0, 0.0]], [[0.0, 0.0]], from_logits=True) == pytest.approx(np.log(2.0), rel=1e-12)
    np.testing.assert_allclose(losses.categorical_crossentropy_gradient([[1.0, 0.0]], [[0.0, 0.0]], from_logits=True), [[-0.5, 0.5]])
    batch = losses.categorical_crossentropy([[1.0, 0.0], [0.0, 1.0]], [[0.5, 0.5], [0.2, 0.8]])
    assert batch == pytest.approx((np.log(2.0) - np.log(0.8)) / 2, rel=1e-12)


def test_sparse_equals_categorical_with_one_hot_targets():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 8)
    logits = rng.standard_normal((8, 5))
    # (for probabilities, rows that sum to 1: Keras's sparse loss clips unnormalised rows
    # without renormalising them first, its categorical loss renormalises; so does nnlib)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for from_logits, predictions in [(True, logits), (False, probabilities)]:
        for label_shape in [(8,), (8, 1)]:
            assert losses.sparse_categorical_crossentropy(labels.reshape(label_shape), predictions, from_logits=from_logits) == pytest.approx(
                losses.categorical_crossentropy(np.eye(5)[labels], predictions, from_logits=from_logits), rel=1e-12)
            np.testing.assert_allclose(
                losses.sparse_categorical_crossentropy_gradient(labels.reshape(label_shape), predictions, from_logits=from_logits),
                losses.categorical_crossentropy_gradient(np.eye(5)[labels], predictions, from_logits=from_logits), rtol=1e-12)
    # (from probabilities the two differ only where the clip is active: see the next test)
    # float labels holding integers are accepted
    # clipped to (1 - 1e-7, 1e-7, 1e-7), then renormalised by the log-softmax, as Keras does
    assert losses.sparse_categorical_crossentropy([0.0, 2.0], [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]) == pytest.approx(-np.log((1 - 1e-7) / (1 + 1e-7)))


def test_targets_of_shape_batch_match_predictions_of_shape_batch_by_one():
    y_true, y_pred = np.array([1.0, 0.0, 1.0]), np.array([[0.7], [0.4], [0.9]])
    for loss in [losses.MeanSquaredError(), losses.BinaryCrossentropy()]:
        assert loss(y_true, y_pred) == loss(y_true[:, None], y_pred)
        np.testing.assert_array_equal(loss.gradient(y_true, y_pred), loss.gradient(y_true[:, None], y_pred))
        assert loss.gradient(y_true, y_pred).shape == (3, 1)


@pytest.mark.parametrize("cls, keras_cls, from_logits, kind", CASES, ids=CASE_IDS)
def test_classes_equal_functions_and_return_python_floats(cls, keras_cls, from_logits, kind):
    rng = np.random.default_rng(1)
    y_true, y_pred = make_data(kind, from_logits, rng)
    loss = make_loss(cls, from_logits)
    value = loss(y_true, y_pred)
    assert type(value) is float
    kwargs = {} if from_logits is None else {"from_logits": from_logits}
    assert value == getattr(losses, cls.name)(y_true, y_pred, **kwargs)
    np.testing.assert_array_equal(loss.gradient(y_true, y_pred), getattr(losses, cls.name + "_gradient")(y_true, y_pred, **kwargs))
    assert losses.get(cls.name).name == cls.name


def test_get_and_repr():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("MSE"), losses.MeanSquaredError)
    bce = losses.BinaryCrossentropy(from_logits=True)
    assert losses.get(bce) is bce
    assert repr(bce) == "BinaryCrossentropy(from_logits=True)"
    assert repr(losses.MeanSquaredError()) == "MeanSquaredError()"
    assert losses.get("binary_crossentropy").from_logits is False


# --- float64 gradient checks -------------------------------------------------------

@pytest.mark.parametrize("cls, keras_cls, from_logits, kind", CASES, ids=CASE_IDS)
def test_gradient_matches_central_differences(cls, keras_cls, from_logits, kind):
    rng = np.random.default_rng(2)
    y_true, y_pred = make_data(kind, from_logits, rng)
    loss = make_loss(cls, from_logits)
    error = check_function(lambda p: loss(y_true, p), lambda p: loss.gradient(y_true, p), y_pred)
    assert error < GRAD_TOL


@pytest.mark.parametrize("from_logits", [False, True])
def test_categorical_gradient_with_soft_targets(from_logits):
    """Soft targets (label smoothing, distillation); from logits the gradient carries sum(y)."""
    rng = np.random.default_rng(3)
    y_true = rng.uniform(0, 1, (5, 4))
    y_pred = rng.standard_normal((5, 4)) if from_logits else rng.uniform(0.2, 1.0, (5, 4))
    loss = losses.CategoricalCrossentropy(from_logits=from_logits)
    assert check_function(lambda p: loss(y_true, p), lambda p: loss.gradient(y_true, p), y_pred) < GRAD_TOL


def test_binary_gradient_with_soft_targets_and_one_dimensional_input():
    rng = np.random.default_rng(4)
    y_true, y_pred = rng.uniform(0, 1, 7), rng.uniform(0.05, 0.95, 7)
    for from_logits in [False, True]:
        loss = losses.BinaryCrossentropy(from_logits=from_logits)
        assert check_function(lambda p: loss(y_true, p), lambda p: loss.gradient(y_true, p), y_pred) < GRAD_TOL


def test_probability_gradients_are_zero_inside_the_clip():
    """Where Keras's clip is active the loss is flat, and the gradient is exactly 0."""
    y_true = np.array([[1.0, 0.0, 1.0, 0.0]])
    y_pred = np.array([[1e-9, 1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(losses.binary_crossentropy_gradient(y_true, y_pred), np.zeros((1, 4)))
    assert np.isfinite(losses.binary_crossentropy(y_true, y_pred))
    np.testing.assert_array_equal(losses.categorical_crossentropy_gradient([[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]), np.zeros((1, 3)))


# --- parity with Keras in float32 --------------------------------------------------

@pytest.mark.parametrize("cls, keras_cls, from_logits, kind", CASES, ids=CASE_IDS)
def test_value_and_gradient_match_keras(cls, keras_cls, from_logits, kind):
    rng = np.random.default_rng(5)
    y_true, y_pred = make_data(kind, from_logits, rng, batch=16, width=5, dtype=np.float32)
    loss = make_loss(cls, from_logits)
    keras_loss = make_loss(keras_cls, from_logits)
    prediction = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        keras_value = keras_loss(y_true, prediction)
    keras_gradient = tape.gradient(keras_value, prediction).numpy()
    assert loss(y_true, y_pred) == pytest.approx(float(keras_value), rel=1e-5, abs=1e-6)
    gradient = loss.gradient(y_true, y_pred)
    assert gradient.dtype == np.float32
    np.testing.assert_allclose(gradient, keras_gradient, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_matches_keras_at_the_extremes(from_logits):
    """Probabilities at and beyond the clip, and very large logits."""
    y_true = np.array([[1.0, 0.0, 1.0, 0.0, 1.0, 0.0]], dtype=np.float32)
    if from_logits:
        y_pred = np.array([[80.0, 80.0, -80.0, -80.0, 0.0, 1e-3]], dtype=np.float32)
    else:
        y_pred = np.array([[0.0, 1.0, 1.0, 0.0, 1e-9, 0.5]], dtype=np.float32)
    prediction = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        keras_value = keras.losses.BinaryCrossentropy(from_logits=from_logits)(y_true, prediction)
    loss = losses.BinaryCrossentropy(from_logits=from_logits)
    assert loss(y_true, y_pred) == pytest.approx(float(keras_value), rel=1e-6)
    np.testing.assert_allclose(loss.gradient(y_true, y_pred), tape.gradient(keras_value, prediction).numpy(), rtol=1e-6, atol=1e-9)


def test_categorical_crossentropy_matches_keras_at_the_clip():
    y_true = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    y_pred = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.3, 0.3, 0.4]], dtype=np.float32)
    prediction = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        keras_value = keras.losses.CategoricalCrossentropy()(y_true, prediction)
    assert losses.categorical_crossentropy(y_true, y_pred) == pytest.approx(float(keras_value), rel=1e-6)
    np.testing.assert_allclose(losses.categorical_crossentropy_gradient(y_true, y_pred),
                               tape.gradient(keras_value, prediction).numpy(), rtol=1e-6, atol=1e-9)


# --- properties (Hypothesis) -------------------------------------------------------

logits = hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-1e4, 1e4))


@settings(max_examples=80, deadline=None)
@given(logits, st.data())
def test_binary_crossentropy_from_logits_is_stable(z, data):
    y = data.draw(hnp.arrays(np.float64, z.shape, elements=st.sampled_from([0.0, 1.0])))
    value = losses.binary_crossentropy(y, z, from_logits=True)
    gradient = losses.binary_crossentropy_gradient(y, z, from_logits=True)
    assert np.isfinite(value) and value >= 0
    assert np.all(np.isfinite(gradient)) and np.all(np.abs(gradient) <= 1.0 / z.size)
    # log(1 + e^z) - y z, with log(1 + e^z) computed by NumPy's logaddexp
    reference = np.mean(np.logaddexp(0.0, z) - y * z)
    assert value == pytest.approx(reference, rel=1e-9, abs=1e-12 * (1 + np.abs(z).max()))
    assert np.isfinite(losses.binary_crossentropy(y.astype(np.float32), z.astype(np.float32), from_logits=True))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 5)), elements=st.floats(-1e4, 1e4)), st.data())
def test_categorical_crossentropy_from_logits_is_stable(z, data):
    labels = np.array(data.draw(st.lists(st.integers(0, z.shape[1] - 1), min_size=len(z), max_size=len(z))))
    value = losses.sparse_categorical_crossentropy(labels, z, from_logits=True)
    gradient = losses.sparse_categorical_crossentropy_gradient(labels, z, from_logits=True)
    assert np.isfinite(value) and value >= 0
    assert np.all(np.isfinite(gradient))
    np.testing.assert_allclose(gradient.sum(axis=1), 0.0, atol=1e-12)  # softmax - one_hot sums to 0
    lse = np.log(np.sum(np.exp(z - z.max(axis=1, keepdims=True)), axis=1)) + z.max(axis=1)
    reference = np.mean(lse - z[np.arange(len(z)), labels])
    assert value == pytest.approx(reference, rel=1e-9, abs=1e-12 * (1 + np.abs(z).max()))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-12, 12)), st.data())
def test_binary_crossentropy_from_logits_equals_from_probabilities(z, data):
    """Away from the clip (|z| <= 12, so 1e-7 < p < 1 - 1e-7) both forms give the same loss and chain rule."""
    y = data.draw(hnp.arrays(np.float64, z.shape, elements=st.floats(0, 1)))
    p = nnlib.activations.sigmoid(z)
    assert losses.binary_crossentropy(y, p) == pytest.approx(losses.binary_crossentropy(y, z, from_logits=True), rel=1e-7, abs=1e-9)
    through_sigmoid = losses.binary_crossentropy_gradient(y, p) * p * (1 - p)
    np.testing.assert_allclose(through_sigmoid, losses.binary_crossentropy_gradient(y, z, from_logits=True), rtol=1e-6, atol=1e-12)


# --- bad input ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mean_squared_error", "binary_crossentropy", "categorical_crossentropy"])
def test_shape_mismatch_is_refused(name):
    with pytest.raises(ValueError, match=rf"{name} expected y_true and y_pred of the same shape\. Received: y_true\.shape=\(2, 3\), y_pred\.shape=\(3, 2\)"):
        getattr(losses, name)(np.zeros((2, 3)), np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match=rf"{name} expected y_true and y_pred of the same shape\. Received: y_true\.shape=\(4,\), y_pred\.shape=\(3, 1\)"):
        getattr(losses, name + "_gradient")(np.zeros(4), np.full((3, 1), 0.5))


def test_non_numeric_and_scalar_predictions_are_refused():
    with pytest.raises(TypeError, match=r"y_pred expected an array of numbers\. Received: str"):
        losses.mean_squared_error([1.0], "0.5")
    with pytest.raises(TypeError, match=r"y_true expected an array of numbers\. Received: dtype=<U3"):
        losses.binary_crossentropy(["yes"], [0.5])
    with pytest.raises(ValueError, match=r"y_pred expected an array with at least 1 dimensions\. Received: y_pred\.shape=\(\)"):
        losses.binary_crossentropy(1.0, 0.5)


def test_sparse_labels_are_validated():
    probabilities = np.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"expected labels in \[0, 2\]\. Received: labels from 0 to 3"):
        losses.sparse_categorical_crossentropy([0, 3], probabilities)
    with pytest.raises(ValueError, match=r"expected labels in \[0, 2\]\. Received: labels from -1 to 1"):
        losses.sparse_categorical_crossentropy_gradient([-1, 1], probabilities)
    with pytest.raises(ValueError, match=r"expected integer class labels in y_true\. Received: non-integer values"):
        losses.sparse_categorical_crossentropy([0.5, 1.0], probabilities)
    with pytest.raises(ValueError, match=r"expected y_true of shape \(batch,\)\. Received: y_true\.shape=\(2, 2\)"):
        losses.sparse_categorical_crossentropy([[0, 1], [1, 0]], probabilities)
    with pytest.raises(ValueError, match=r"expected one label per row of y_pred\. Received: y_true\.shape=\(3,\), y_pred\.shape=\(2, 3\)"):
        losses.sparse_categorical_crossentropy([0, 1, 2], probabilities)
    with pytest.raises(ValueError, match=r"y_true expected an array with at least 1 dimensions\. Received: y_true\.shape=\(\)"):
        losses.sparse_categorical_crossentropy(1, probabilities[:1])
    with pytest.raises(TypeError, match=r"y_true expected an array of numbers\. Received: dtype=<U1"):
        losses.sparse_categorical_crossentropy(["a", "b"], probabilities)
    with pytest.raises(ValueError, match=r"y_pred expected a 2-D array\. Received: y_pred\.shape=\(3,\)"):
        losses.sparse_categorical_crossentropy([1], probabilities[0])


@pytest.mark.parametrize("cls", [losses.BinaryCrossentropy, losses.CategoricalCrossentropy, losses.SparseCategoricalCrossentropy])
def test_from_logits_must_be_a_bool(cls):
    with pytest.raises(TypeError, match=r"from_logits expected a bool\. Received: 'yes'"):
        cls(from_logits="yes")


def test_get_refuses_unknown_names():
    with pytest.raises(ValueError, match=r"loss expected one of \[.*'mse'.*\]\. Received: loss='log_cosh'"):
        losses.get("log_cosh")
    with pytest.raises(TypeError, match=r"loss expected one of \[.*\]\. Received: None"):
        losses.get(None)


# --- the regression and margin losses by hand, reductions ---------------------------

def test_mean_absolute_error_and_huber_by_hand():
    assert losses.mean_absolute_error([[0.0, 0.0]], [[1.0, -3.0]]) == 2.0
    np.testing.assert_array_equal(losses.mean_absolute_error_gradient([[0.0, 0.0, 0.0]], [[1.0, -3.0, 0.0]]), [[1 / 3, -1 / 3, 0.0]])
    # quadratic inside |e| <= delta, linear outside, continuous at the seam
    assert losses.huber([0.0], [0.5]) == pytest.approx(0.125)
    assert losses.huber([0.0], [3.0]) == pytest.approx(3.0 - 0.5)
    assert losses.huber([0.0], [3.0], delta=2.0) == pytest.approx(2.0 * 3.0 - 2.0)
    np.testing.assert_allclose(losses.huber_gradient([[0.0, 0.0]], [[0.5, -3.0]]), [[0.5 / 2, -1.0 / 2]])
    assert losses.Huber(delta=2.0)([0.0], [3.0]) == losses.huber([0.0], [3.0], delta=2.0)


def test_kl_divergence_and_hinge_by_hand():
    assert losses.kl_divergence([[0.5, 0.5]], [[0.5, 0.5]]) == 0.0
    # the zero target is clipped to 1e-7, which adds 1e-7 * log(1e-7 / 0.75) ~ -1.6e-6
    assert losses.kl_divergence([[1.0, 0.0]], [[0.25, 0.75]]) == pytest.approx(np.log(4.0) + 1e-7 * np.log(1e-7 / 0.75), rel=1e-9)
    # hinge: {0, 1} labels become {-1, 1}; a margin of at least 1 costs nothing
    assert losses.hinge([[1.0, -1.0]], [[2.0, 0.5]]) == pytest.approx((0.0 + 1.5) / 2)
    assert losses.hinge([[1.0, 0.0]], [[2.0, 0.5]]) == losses.hinge([[1.0, -1.0]], [[2.0, 0.5]])
    np.testing.assert_array_equal(losses.hinge_gradient([[1.0, -1.0]], [[2.0, 0.5]]), [[0.0, 0.5]])


@pytest.mark.parametrize("reduction", ["sum", "none"])
@pytest.mark.parametrize("cls, keras_cls, from_logits, kind", CASES, ids=CASE_IDS)
def test_reductions_match_keras(cls, keras_cls, from_logits, kind, reduction):
    rng = np.random.default_rng(6)
    y_true, y_pred = make_data(kind, from_logits, rng, batch=8, width=3, dtype=np.float32)
    kwargs = {} if from_logits is None else {"from_logits": from_logits}
    loss, keras_loss = cls(reduction=reduction, **kwargs), keras_cls(reduction=reduction, **kwargs)
    prediction = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        keras_value = keras_loss(y_true, prediction)
        total = tf.reduce_sum(keras_value)
    np.testing.assert_allclose(loss(y_true, y_pred), keras_value.numpy(), rtol=1e-5, atol=1e-6)
    # with "none" nnlib's gradient is that of the sum of the per-sample losses
    np.testing.assert_allclose(loss.gradient(y_true, y_pred), tape.gradient(total, prediction).numpy(), rtol=1e-5, atol=1e-6)


def test_none_reduction_keeps_one_value_per_sample():
    values = losses.MeanSquaredError(reduction="none")(np.zeros((4, 3)), np.ones((4, 3)))
    assert values.shape == (4,)
    np.testing.assert_array_equal(values, np.ones(4))
    assert repr(losses.Huber(delta=2.0, reduction="sum")) == "Huber(delta=2.0, reduction='sum')"


def test_bad_reduction_and_delta_are_refused():
    with pytest.raises(ValueError, match=r"reduction expected one of \['none', 'sum', 'sum_over_batch_size'\]\. Received: reduction='mean_of_means'"):
        losses.MeanSquaredError(reduction="mean_of_means")
    with pytest.raises(ValueError, match=r"delta expected a finite number > 0\. Received: delta=0\.0"):
        losses.Huber(delta=0.0)
    with pytest.raises(ValueError, match=r"delta expected a finite number > 0\. Received: delta=-1\.0"):
        losses.huber([0.0], [1.0], delta=-1.0)


def test_sparse_crossentropy_from_probabilities_clips_before_renormalising_like_keras():
    """Keras's TensorFlow path: clip, log, log-softmax; a class below the clip gets no gradient."""
    y_true = np.array([0, 2, 1])
    y_pred = np.array([[0.7, 1e-9, 0.3], [0.2, 0.3, 0.6], [1e-8, 0.99, 0.4]], dtype=np.float32)
    prediction = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        keras_value = keras.losses.SparseCategoricalCrossentropy()(y_true, prediction)
    loss = losses.SparseCategoricalCrossentropy()
    assert loss(y_true, y_pred) == pytest.approx(float(keras_value), rel=1e-6)
    np.testing.assert_allclose(loss.gradient(y_true, y_pred), tape.gradient(keras_value, prediction).numpy(), rtol=1e-5, atol=1e-7)


# --- ties and bounds (issue 11, item 4) -----------------------------------------------

def tape(keras_loss, y_true, y_pred, sample_weight=None):
    prediction = tf.Variable(y_pred)
    with tf.GradientTape() as gradient_tape:
        value = keras_loss(y_true, prediction, sample_weight=sample_weight)
        total = tf.reduce_sum(value)
    return value.numpy(), gradient_tape.gradient(total, prediction).numpy()


def test_hinge_passes_the_gradient_at_margin_zero_like_keras():
    """1 - y * y_pred == 0 exactly: TensorFlow's gradient of maximum goes to the first argument (>=)."""
    y_true = np.array([[1.0, -1.0, 1.0, 1.0]], dtype=np.float32)
    y_pred = np.array([[1.0, -1.0, 0.5, 2.0]], dtype=np.float32)  # margins 0, 0, 0.5, -1
    value, gradient = tape(keras.losses.Hinge(), y_true, y_pred)
    assert losses.hinge(y_true, y_pred) == pytest.approx(float(value), rel=1e-7)
    np.testing.assert_array_equal(losses.hinge_gradient(y_true, y_pred), gradient)
    np.testing.assert_array_equal(gradient, [[-0.25, 0.25, -0.25, 0.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_crossentropy_passes_the_gradient_exactly_at_the_clip_bounds_like_keras(dtype):
    bounds = [dtype(1e-7), dtype(1.0) - dtype(1e-7)] if dtype is np.float64 else [np.float32(1e-7), np.float32(1 - 1e-7)]
    y_true = np.array([[1.0, 0.0, 0.0, 1.0]], dtype=dtype)
    y_pred = np.array([[bounds[0], bounds[0], bounds[1], bounds[1]]], dtype=dtype)
    value, gradient = tape(keras.losses.BinaryCrossentropy(dtype=np.dtype(dtype).name), y_true, y_pred)
    assert np.all(gradient != 0)  # inclusive in TensorFlow
    assert losses.binary_crossentropy(y_true, y_pred) == pytest.approx(float(value), rel=1e-6)
    np.testing.assert_allclose(losses.binary_crossentropy_gradient(y_true, y_pred), gradient, rtol=1e-6)


def test_categorical_crossentropy_passes_the_gradient_exactly_at_the_clip_bounds_like_keras():
    epsilon = np.float32(1e-7)
    y_true = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    y_pred = np.array([[epsilon, np.float32(1) - epsilon], [epsilon, np.float32(1) - epsilon]], dtype=np.float32)
    assert np.all(y_pred / y_pred.sum(axis=1, keepdims=True) == y_pred)  # the renormalised rows sit on the bounds
    value, gradient = tape(keras.losses.CategoricalCrossentropy(), y_true, y_pred)
    assert losses.categorical_crossentropy(y_true, y_pred) == pytest.approx(float(value), rel=1e-6)
    np.testing.assert_allclose(losses.categorical_crossentropy_gradient(y_true, y_pred), gradient, rtol=1e-5)
    assert np.all(losses.categorical_crossentropy_gradient(y_true, y_pred) != 0)


# --- categorical cross-entropy from logits, label rows not summing to 1 (item 5) ------

def _tape_with_op_determinism(enabled, *args):
    """`tape(*args)` with TensorFlow's op determinism switched on or off (the process-wide state is restored)."""
    from tensorflow.python.framework import config as tf_config
    was_enabled = tf_config.is_op_determinism_enabled()
    (tf_config.enable_op_determinism if enabled else tf_config.disable_op_determinism)()
    try:
        return tape(*args)
    finally:
        (tf_config.enable_op_determinism if was_enabled else tf_config.disable_op_determinism)()


def test_categorical_crossentropy_from_logits_keeps_the_true_derivative_where_tensorflow_assumes_rows_sum_to_one():
    """nnlib: softmax * sum(y) - y, the derivative of the loss (central differences agree).
    TensorFlow's fused kernel: softmax - y, which is not the derivative of its own loss value for
    such rows; with op determinism on (as seed_backend sets it) TensorFlow differentiates a
    composite instead and gets the true derivative."""
    rng = np.random.default_rng(31)
    y_true = rng.uniform(0, 1, (6, 4))  # rows sum to about 2, not 1
    logits = rng.standard_normal((6, 4))
    loss = losses.CategoricalCrossentropy(from_logits=True)
    assert check_function(lambda z: loss(y_true, z), lambda z: loss.gradient(y_true, z), logits) < GRAD_TOL
    keras_loss = keras.losses.CategoricalCrossentropy(from_logits=True, dtype="float64")
    keras_value, keras_gradient = _tape_with_op_determinism(False, keras_loss, y_true, logits)
    assert loss(y_true, logits) == pytest.approx(float(keras_value), rel=1e-12)  # the values agree
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(keras_gradient, (softmax - y_true) / 6, rtol=1e-10)  # TensorFlow's gradient
    difference = loss.gradient(y_true, logits) - keras_gradient
    np.testing.assert_allclose(difference, softmax * (y_true.sum(axis=1, keepdims=True) - 1) / 6, rtol=1e-9, atol=1e-15)
    _, deterministic_gradient = _tape_with_op_determinism(True, keras_loss, y_true, logits)
    np.testing.assert_allclose(deterministic_gradient, loss.gradient(y_true, logits), rtol=1e-9, atol=1e-15)
    # rows that sum to 1 (one-hot, smoothed): the two gradients agree
    one_hot = np.eye(4)[rng.integers(0, 4, 6)]
    _, keras_one_hot = tape(keras.losses.CategoricalCrossentropy(from_logits=True, dtype="float64"), one_hot, logits)
    np.testing.assert_allclose(loss.gradient(one_hot, logits), keras_one_hot, rtol=1e-10, atol=1e-15)


# --- sample_weight and label_smoothing (item 7) --------------------------------------

WEIGHT_SHAPES = {"(batch,)": lambda w: w, "(batch, 1)": lambda w: w[:, None], "scalar": lambda w: np.float32(2.5)}


@pytest.mark.parametrize("shape", WEIGHT_SHAPES)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
@pytest.mark.parametrize("cls, keras_cls, from_logits, kind", CASES, ids=CASE_IDS)
def test_sample_weight_matches_keras(cls, keras_cls, from_logits, kind, reduction, shape):
    rng = np.random.default_rng(32)
    y_true, y_pred = make_data(kind, from_logits, rng, batch=8, width=3, dtype=np.float32)
    weights = WEIGHT_SHAPES[shape](rng.uniform(0, 2, 8).astype(np.float32))
    kwargs = {} if from_logits is None else {"from_logits": from_logits}
    loss, keras_loss = cls(reduction=reduction, **kwargs), keras_cls(reduction=reduction, **kwargs)
    keras_value, keras_gradient = tape(keras_loss, y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(np.squeeze(loss(y_true, y_pred, sample_weight=weights)), np.squeeze(keras_value), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss.gradient(y_true, y_pred, sample_weight=weights), keras_gradient, rtol=1e-5, atol=1e-6)
    if reduction == "sum_over_batch_size":
        assert loss(y_true, y_pred, sample_weight=weights) == getattr(losses, cls.name)(y_true, y_pred, sample_weight=weights, **kwargs)


def test_sample_weight_divides_by_the_batch_size_not_the_weights():
    y_true, y_pred = np.zeros((4, 1)), np.array([[1.0], [2.0], [3.0], [4.0]])
    assert losses.mean_squared_error(y_true, y_pred, sample_weight=[1.0, 0.0, 0.0, 0.0]) == 1.0 / 4
    assert losses.mean_squared_error(y_true, y_pred, sample_weight=np.ones(4)) == losses.mean_squared_error(y_true, y_pred)
    weighted = losses.Huber(reduction="none")(y_true, y_pred, sample_weight=[2.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(weighted, [2 * 0.5, 1.5, 0.0, 3.5])
    rng = np.random.default_rng(33)
    y_pred = rng.uniform(0.1, 0.9, (5, 2))
    y_true = (rng.random((5, 2)) > 0.5).astype(float)
    weights = rng.uniform(0, 2, 5)
    loss = losses.BinaryCrossentropy()
    assert check_function(lambda p: loss(y_true, p, sample_weight=weights),
                          lambda p: loss.gradient(y_true, p, sample_weight=weights), y_pred) < GRAD_TOL


SMOOTHED = [
    (losses.BinaryCrossentropy, keras.losses.BinaryCrossentropy, False, "binary"),
    (losses.BinaryCrossentropy, keras.losses.BinaryCrossentropy, True, "binary"),
    (losses.CategoricalCrossentropy, keras.losses.CategoricalCrossentropy, False, "one_hot"),
    (losses.CategoricalCrossentropy, keras.losses.CategoricalCrossentropy, True, "one_hot"),
]


@pytest.mark.parametrize("label_smoothing", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("cls, keras_cls, from_logits, kind", SMOOTHED, ids=[f"{c[0].__name__}-logits={c[2]}" for c in SMOOTHED])
def test_label_smoothing_matches_keras(cls, keras_cls, from_logits, kind, label_smoothing):
    rng = np.random.default_rng(34)
    y_true, y_pred = make_data(kind, from_logits, rng, batch=10, width=4, dtype=np.float32)
    loss = cls(from_logits=from_logits, label_smoothing=label_smoothing)
    keras_value, keras_gradient = tape(keras_cls(from_logits=from_logits, label_smoothing=label_smoothing), y_true, y_pred)
    assert loss(y_true, y_pred) == pytest.approx(float(keras_value), rel=1e-6)
    np.testing.assert_allclose(loss.gradient(y_true, y_pred), keras_gradient, rtol=1e-5, atol=1e-8)
    function = getattr(losses, cls.name)
    assert function(y_true, y_pred, from_logits=from_logits, label_smoothing=label_smoothing) == loss(y_true, y_pred)
    y64, p64 = make_data(kind, from_logits, rng, batch=5, width=3)
    assert check_function(lambda p: loss(y64, p), lambda p: loss.gradient(y64, p), p64) < GRAD_TOL
    assert repr(loss) == f"{cls.__name__}(from_logits={from_logits}, label_smoothing={label_smoothing})"


def test_label_smoothing_by_hand():
    # BCE: targets 1 and 0 become 1 - s/2 and s/2
    smoothed = losses.binary_crossentropy([[1.0, 0.0]], [[0.7, 0.2]], label_smoothing=0.2)
    assert smoothed == pytest.approx(losses.binary_crossentropy([[0.9, 0.1]], [[0.7, 0.2]]), rel=1e-12)
    # CCE: (1 - s) y + s / K
    smoothed = losses.categorical_crossentropy([[0.0, 1.0, 0.0, 0.0]], [[0.1, 0.6, 0.2, 0.1]], label_smoothing=0.4)
    assert smoothed == pytest.approx(losses.categorical_crossentropy([[0.1, 0.7, 0.1, 0.1]], [[0.1, 0.6, 0.2, 0.1]]), rel=1e-12)
