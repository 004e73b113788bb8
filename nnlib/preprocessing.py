r"""Feature standardisation that matches ``keras.layers.Normalization`` (chapter 14)."""
from __future__ import annotations

import numbers

import numpy as np

from nnlib._validation import as_float_array, check_finite, data_array, positive_float

__all__ = ["Standardizer"]


def _axis(axis) -> tuple[int, ...]:
    """Keras's ``axis`` argument: an int, a tuple/list of ints, or None (one statistic)."""
    if axis is None:
        return ()
    values = (axis,) if isinstance(axis, numbers.Integral) and not isinstance(axis, bool) else axis
    if isinstance(values, (str, bytes)) or not isinstance(values, (tuple, list)):
        raise TypeError(f"axis expected an int, a tuple of ints or None. Received: {axis!r}")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"axis expected an int, a tuple of ints or None. Received: {axis!r}")
    return tuple(int(value) for value in values)


class Standardizer:
    r"""Shift and scale features to mean 0 and variance 1, as ``keras.layers.Normalization``
    after ``adapt``.

    Used in chapter 14.

    Parameters
    ----------
    axis : int, tuple of ints or None, default -1
        The axes that *keep* their own statistics (Keras's meaning): ``-1`` gives one mean
        and variance per feature (last axis), computed over all other axes; ``None`` one
        mean and variance for the whole array.
    epsilon : float > 0, default 1e-7
        Floor on the standard deviation (``keras.backend.epsilon()``), so that constant
        features are shifted but not divided by zero.

    Attributes
    ----------
    mean, variance : ndarray or None
        Shape: the fitted data's sizes on the kept axes (``(features,)`` for ``axis=-1``
        and 2-D data; ``()`` for ``axis=None``). ``None`` before :meth:`fit`. Computed in
        the data's dtype (float32 data gives float32 statistics, as Keras's ``adapt``).

    Notes
    -----
    With :math:`\mu` and the *biased* variance :math:`\sigma^2` (divided by the number of
    values :math:`m`, NumPy's ``np.var`` default) over the reduced axes:

    .. math::

        \mu = \frac1m \sum_n x_n, \qquad
        \sigma^2 = \frac1m \sum_n (x_n - \mu)^2, \qquad
        z = \frac{x - \mu}{\max(\sigma, \epsilon)}, \qquad
        x = \mu + z \max(\sigma, \epsilon) .

    Keras floors the standard deviation :math:`\sigma`, not the variance, at
    :math:`\epsilon = 10^{-7}`, and does not add :math:`\epsilon` otherwise; this class
    does the same, so ``transform`` equals Keras's output in float32.
    """

    def __init__(self, axis=-1, *, epsilon: float = 1e-7):
        self.axis = _axis(axis)
        self.epsilon = positive_float(epsilon, "epsilon")
        self.mean: np.ndarray | None = None
        self.variance: np.ndarray | None = None
        self._fit_shape: tuple[int, ...] | None = None
        self._keep: tuple[int, ...] = ()

    @property
    def scale(self) -> np.ndarray:
        r""":math:`\max(\sigma, \epsilon)`, the divisor of :meth:`transform`."""
        self._require_fit("scale")
        return np.maximum(np.sqrt(self.variance), self.variance.dtype.type(self.epsilon))

    def fit(self, x) -> Standardizer:
        """Compute the mean and biased variance of ``x`` over all axes not in ``axis``.

        Parameters
        ----------
        x : float array, e.g. ``(samples, features)``

        Returns
        -------
        Standardizer
            ``self``, so that ``Standardizer().fit(x).transform(x)`` reads as one line.

        Raises
        ------
        TypeError, ValueError
            ``x`` is not numeric, has NaN/inf, too few dimensions for ``axis``, or no samples.
        """
        x = as_float_array(x, "x", min_ndim=1)
        keep = self._keep_axes(x.ndim, "fit")
        reduce = tuple(d for d in range(x.ndim) if d not in keep)
        if any(x.shape[d] == 0 for d in range(x.ndim)):
            raise ValueError(f"Standardizer.fit expected at least one value per statistic. Received: x.shape={x.shape}")
        check_finite(x, "x")
        # np.mean and np.var in the data's dtype: exactly what Keras's adapt does with an array
        self.mean = np.asarray(np.mean(x, axis=reduce))
        self.variance = np.asarray(np.var(x, axis=reduce))
        self._fit_shape, self._keep = x.shape, keep
        return self

    def transform(self, x) -> np.ndarray:
        r""":math:`(x - \mu) / \max(\sigma, \epsilon)`; ``x`` must agree with the fitted data on the kept axes.

        The output's dtype is that of ``x`` combined with the statistics' (float32 data
        and float32 statistics stay float32).

        Raises
        ------
        TypeError, ValueError
            Before :meth:`fit`, or ``x`` not numeric, empty, with NaN/inf (it is data: NaN in,
            NaN out would hide the problem), or of another shape on the kept axes.
        """
        x = self._checked(x, "transform", "x")
        return (x - self._broadcast(self.mean)) / self._broadcast(self.scale)

    def inverse_transform(self, z) -> np.ndarray:
        r""":math:`\mu + z \max(\sigma, \epsilon)`, as ``keras.layers.Normalization(invert=True)``."""
        z = self._checked(z, "inverse_transform", "z")
        return self._broadcast(self.mean) + z * self._broadcast(self.scale)

    def fit_transform(self, x) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    # --- helpers -------------------------------------------------------------------

    def _keep_axes(self, ndim: int, method: str) -> tuple[int, ...]:
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(
                f"Standardizer.{method} expected axis values in [-ndim, ndim) = [{-ndim}, {ndim}). "
                f"Received: axis={self.axis} for an array with ndim={ndim}"
            )
        keep = tuple(sorted({a % ndim for a in self.axis}))
        if len(keep) != len(self.axis):
            raise ValueError(f"Standardizer.{method} expected distinct axes. Received: axis={self.axis}")
        return keep

    def _require_fit(self, method: str) -> None:
        if self.mean is None:
            raise RuntimeError(f"Standardizer.{method} called before fit (call fit(x) on the training data first)")

    def _checked(self, x, method: str, name: str) -> np.ndarray:
        """Data to transform: numeric, non-empty, finite, shaped like the fitted data."""
        self._require_fit(method)
        x = data_array(x, name, min_ndim=1)
        fit_ndim = len(self._fit_shape)
        expected = tuple(self._fit_shape[d] if d in self._keep else None for d in range(fit_ndim))
        if x.ndim != fit_ndim or any(x.shape[d] != self._fit_shape[d] for d in self._keep):
            shown = "(" + ", ".join("..." if size is None else str(size) for size in expected) + ("," if fit_ndim == 1 else "") + ")"
            raise ValueError(f"Standardizer.{method} expected an array of shape {shown}, like the fitted data. Received: {name}.shape={x.shape}")
        return x

    def _broadcast(self, statistic: np.ndarray) -> np.ndarray:
        shape = [self._fit_shape[d] if d in self._keep else 1 for d in range(len(self._fit_shape))]
        return statistic.reshape(shape)

    def __repr__(self):
        axis = None if self.axis == () else (self.axis[0] if len(self.axis) == 1 else self.axis)
        state = "fitted" if self.mean is not None else "not fitted"
        return f"Standardizer(axis={axis!r}) [{state}]"
