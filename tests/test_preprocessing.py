"""Tests for nnlib.preprocessing (Standardizer): hand values, the epsilon floor on the
standard deviation, exact float32 parity with keras.layers.Normalization after adapt (and
with invert=True), bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib.preprocessing import Standardizer

import keras  # noqa: E402


def data(shape=(50, 4), seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return rng.normal(rng.uniform(-5, 5, shape[-1]), rng.uniform(0.1, 10, shape[-1]), size=shape).astype(dtype)


# --- small hand-computed cases -----------------------------------------------------

def test_keras_docstring_example():
    """keras.layers.Normalization(axis=-1).adapt(...) maps [0, 7, 4] to [-1, -1, -1]."""
    adapt_data = np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]])
    standardizer = Standardizer(axis=-1).fit(adapt_data)
    np.testing.assert_array_equal(standardizer.mean, [1.0, 8.0, 5.0])
    np.testing.assert_array_equal(standardizer.variance, [1.0, 1.0, 1.0])  # biased: divided by 4
    np.testing.assert_array_equal(standardizer.transform([[0.0, 7.0, 4.0]]), [[-1.0, -1.0, -1.0]])
    np.testing.assert_array_equal(standardizer.inverse_transform([[1.0, 2.0, 3.0]]), [[2.0, 10.0, 8.0]])


def test_fitted_data_has_mean_zero_and_variance_one():
    x = data(dtype=np.float64)
    z = Standardizer().fit_transform(x)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.var(axis=0), 1.0, rtol=1e-12)


def test_constant_feature_is_centred_not_divided_by_zero():
    """Keras floors the standard deviation (not the variance) at 1e-7."""
    x = np.array([[1.0, 3.0], [2.0, 3.0], [3.0, 3.0]])
    standardizer = Standardizer().fit(x)
    np.testing.assert_array_equal(standardizer.scale, [np.sqrt(2 / 3), 1e-7])
    np.testing.assert_array_equal(standardizer.transform([[2.0, 3.0], [2.0, 3.5]])[:, 1], [0.0, 0.5 / 1e-7])
    tiny = Standardizer().fit(np.array([[0.0], [2e-14]]))  # sigma = 1e-14: floored too
    assert tiny.scale[0] == 1e-7


def test_float32_data_stays_float32():
    x = data()
    standardizer = Standardizer().fit(x)
    assert standardizer.mean.dtype == standardizer.variance.dtype == np.float32
    assert standardizer.transform(x).dtype == np.float32
    assert Standardizer().fit(x.astype(np.float64)).transform(x).dtype == np.float64
    assert Standardizer().fit(np.arange(6).reshape(3, 2)).mean.dtype == np.float64  # ints become float64


def test_axis_none_and_tuples():
    x = data((6, 3, 2), dtype=np.float64)
    overall = Standardizer(axis=None).fit(x)
    assert overall.mean.shape == () and overall.mean == pytest.approx(x.mean(), rel=1e-14)
    per_feature = Standardizer(axis=-1).fit(x)
    assert per_feature.mean.shape == (2,)
    np.testing.assert_allclose(per_feature.variance, x.var(axis=(0, 1)), rtol=1e-14)
    per_cell = Standardizer(axis=(1, 2)).fit(x)
    assert per_cell.mean.shape == (3, 2)
    np.testing.assert_allclose(per_cell.transform(x).mean(axis=0), 0.0, atol=1e-12)
    assert repr(per_cell) == "Standardizer(axis=(1, 2)) [fitted]"
    assert repr(Standardizer()) == "Standardizer(axis=-1) [not fitted]"


def test_transform_accepts_any_batch_size_and_fit_returns_self():
    standardizer = Standardizer()
    assert standardizer.fit(data()) is standardizer
    assert standardizer.transform(np.zeros((1, 4))).shape == (1, 4)


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
                  elements=st.floats(-1e3, 1e3)))
def test_inverse_transform_undoes_transform(x):
    standardizer = Standardizer().fit(x)
    np.testing.assert_allclose(standardizer.inverse_transform(standardizer.transform(x)), x, rtol=1e-9, atol=1e-9)


# --- parity with keras.layers.Normalization in float32 -----------------------------

@pytest.mark.parametrize(
    ("shape", "axis"),
    [((50, 4), -1), ((200, 7), -1), ((8, 5, 3), -1), ((8, 5, 3), (1, 2)), ((30, 4), None), ((12, 6), 0)],
    ids=["2d", "2d_wide", "3d_features", "3d_cells", "all", "per_row_axis0"],
)
def test_matches_keras_normalization_exactly(shape, axis):
    x = data(shape, seed=1)
    x[:, ..., 0] = 2.5  # a constant slice: the epsilon floor
    new = data(shape, seed=2)
    standardizer = Standardizer(axis=axis).fit(x)
    keras_layer = keras.layers.Normalization(axis=axis)
    keras_layer.adapt(x)
    keras_inverse = keras.layers.Normalization(axis=axis, invert=True)
    keras_inverse.adapt(x)
    np.testing.assert_array_equal(standardizer.mean, keras_layer.adapt_mean.numpy())
    np.testing.assert_array_equal(standardizer.variance, keras_layer.adapt_variance.numpy())
    np.testing.assert_array_equal(standardizer.transform(new), keras_layer(new).numpy())
    np.testing.assert_array_equal(standardizer.inverse_transform(new), keras_inverse(new).numpy())


# --- bad input ---------------------------------------------------------------------

def test_transform_before_fit_is_refused():
    standardizer = Standardizer()
    with pytest.raises(RuntimeError, match=r"Standardizer\.transform called before fit \(call fit\(x\) on the training data first\)"):
        standardizer.transform(np.ones((2, 2)))
    with pytest.raises(RuntimeError, match=r"Standardizer\.inverse_transform called before fit"):
        standardizer.inverse_transform(np.ones((2, 2)))
    with pytest.raises(RuntimeError, match=r"Standardizer\.scale called before fit"):
        standardizer.scale


def test_shapes_are_checked():
    standardizer = Standardizer().fit(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"Standardizer\.transform expected an array of shape \(\.\.\., 3\), like the fitted data\. Received: x\.shape=\(5, 4\)"):
        standardizer.transform(np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"Standardizer\.inverse_transform expected an array of shape \(\.\.\., 3\), like the fitted data\. Received: z\.shape=\(3,\)"):
        standardizer.inverse_transform(np.ones(3))
    with pytest.raises(ValueError, match=r"Standardizer\.fit expected axis values in \[-ndim, ndim\) = \[-2, 2\)\. Received: axis=\(2,\) for an array with ndim=2"):
        Standardizer(axis=2).fit(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"Standardizer\.fit expected distinct axes\. Received: axis=\(1, -1\)"):
        Standardizer(axis=(1, -1)).fit(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"Standardizer\.fit expected at least one value per statistic\. Received: x\.shape=\(0, 3\)"):
        Standardizer().fit(np.ones((0, 3)))


def test_arguments_and_values_are_validated():
    with pytest.raises(TypeError, match=r"axis expected an int, a tuple of ints or None\. Received: 'last'"):
        Standardizer(axis="last")
    with pytest.raises(TypeError, match=r"axis expected an int, a tuple of ints or None\. Received: \(0, 1\.5\)"):
        Standardizer(axis=(0, 1.5))
    with pytest.raises(ValueError, match=r"epsilon expected a finite number > 0\. Received: epsilon=0\.0"):
        Standardizer(epsilon=0.0)
    with pytest.raises(ValueError, match=r"x expected finite values\. Received: x with 1 NaN or inf value"):
        Standardizer().fit(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(TypeError, match=r"x expected an array of numbers\. Received: str"):
        Standardizer().fit("x")
