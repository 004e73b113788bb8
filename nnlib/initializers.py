r"""Weight initialisers with the same formulas as their Keras namesakes.

Each is a function ``(shape, rng) -> ndarray`` (float64). Fans follow Keras: for a Dense
kernel ``(in, units)``, ``fan_in = in`` and ``fan_out = units``; for a convolution kernel
``(kh, kw, in_ch, filters)`` both are multiplied by the receptive field ``kh * kw``.
Chapter 17 derives the variances.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from nnlib._validation import generator, one_of, positive_float

# Keras draws "normal" initialisers from a normal truncated at two standard deviations
# and rescales so that the variance is the intended one; this is that rescaling.
_TRUNCATION_STD = 0.87962566103423978


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError as error:
        raise TypeError(f"shape expected a tuple of positive integers. Received: {shape!r}") from error
    if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) for s in shape):
        raise TypeError(f"shape expected a tuple of positive integers. Received: {shape!r}")
    shape = tuple(int(s) for s in shape)
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"shape expected a tuple of positive integers. Received: shape={shape}")
    return shape


def compute_fans(shape) -> tuple[float, float]:
    """Return ``(fan_in, fan_out)`` for a weight of this shape, as Keras computes them."""
    shape = _shape(shape)
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive_field = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return float(shape[-2] * receptive_field), float(shape[-1] * receptive_field)


def _truncated_normal(shape, stddev, rng):
    """Normal(0, stddev) truncated to two standard deviations, by redrawing the tails."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while np.any(outside):
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values * stddev


def zeros(shape, rng=None):
    return np.zeros(_shape(shape))


def ones(shape, rng=None):
    return np.ones(_shape(shape))


def constant(value: float = 0.0):
    """An initialiser that fills every entry with ``value`` (``keras.initializers.Constant``).

    Unlike the others this is a factory: ``constant(0.1)`` returns the ``(shape, rng)`` function.
    Chapter 17 uses it to show that identical weights never become different.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"constant expected a finite real value. Received: {value!r}")
    value = float(value)

    def initializer(shape, rng=None):
        return np.full(_shape(shape), value)

    initializer.__name__ = f"constant({value})"
    return initializer


def random_normal(shape, rng=None, *, stddev: float = 0.05):
    """Normal(0, stddev²); Keras's default stddev is 0.05."""
    stddev = positive_float(stddev, "stddev")
    return generator(rng).normal(0.0, stddev, _shape(shape))


def random_uniform(shape, rng=None, *, limit: float = 0.05):
    """Uniform(-limit, limit); Keras's default limit is 0.05."""
    limit = positive_float(limit, "limit")
    return generator(rng).uniform(-limit, limit, _shape(shape))


def glorot_uniform(shape, rng=None):
    r"""Uniform(-l, l) with :math:`l = \sqrt{6/(\text{fan\_in}+\text{fan\_out})}` (Glorot and Bengio, 2010)."""
    fan_in, fan_out = compute_fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return generator(rng).uniform(-limit, limit, _shape(shape))


def glorot_normal(shape, rng=None):
    r"""Truncated normal with variance :math:`2/(\text{fan\_in}+\text{fan\_out})`."""
    fan_in, fan_out = compute_fans(shape)
    stddev = math.sqrt(2.0 / (fan_in + fan_out)) / _TRUNCATION_STD
    return _truncated_normal(_shape(shape), stddev, generator(rng))


def he_uniform(shape, rng=None):
    r"""Uniform(-l, l) with :math:`l = \sqrt{6/\text{fan\_in}}` (variance :math:`2/\text{fan\_in}`)."""
    fan_in, _ = compute_fans(shape)
    limit = math.sqrt(6.0 / fan_in)
    return generator(rng).uniform(-limit, limit, _shape(shape))


def he_normal(shape, rng=None):
    r"""Truncated normal with variance :math:`2/\text{fan\_in}`."""
    fan_in, _ = compute_fans(shape)
    stddev = math.sqrt(2.0 / fan_in) / _TRUNCATION_STD
    return _truncated_normal(_shape(shape), stddev, generator(rng))


def lecun_normal(shape, rng=None):
    r"""Truncated normal with variance :math:`1/\text{fan\_in}`."""
    fan_in, _ = compute_fans(shape)
    stddev = math.sqrt(1.0 / fan_in) / _TRUNCATION_STD
    return _truncated_normal(_shape(shape), stddev, generator(rng))


def lecun_uniform(shape, rng=None):
    r"""Uniform(-l, l) with :math:`l = \sqrt{3/\text{fan\_in}}` (variance :math:`1/\text{fan\_in}`)."""
    fan_in, _ = compute_fans(shape)
    limit = math.sqrt(3.0 / fan_in)
    return generator(rng).uniform(-limit, limit, _shape(shape))


def orthogonal(shape, rng=None, *, gain: float = 1.0):
    r"""A (semi-)orthogonal matrix times ``gain``, as ``keras.initializers.Orthogonal``.

    The shape is flattened to ``(rows, cols)`` with ``rows`` the product of all but the
    last axis; a standard normal matrix of shape ``(max, min)`` is factored as :math:`QR`,
    the columns of :math:`Q` are multiplied by the signs of :math:`\operatorname{diag} R`
    (which makes the distribution uniform over orthogonal matrices), and :math:`Q` is
    transposed when ``rows < cols``. So the rows (``rows <= cols``) or the columns are
    orthonormal. Keras's default for the recurrent kernel of SimpleRNN, LSTM and GRU
    (chapters 26 and 27).
    """
    shape = _shape(shape)
    gain = positive_float(gain, "gain")
    if len(shape) < 2:
        raise ValueError(f"orthogonal expected a shape with at least 2 axes. Received: shape={shape}")
    rows, cols = math.prod(shape[:-1]), shape[-1]
    values = generator(rng).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(values)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q.reshape(shape)


_REGISTRY = {
    f.__name__: f
    for f in (zeros, ones, random_normal, random_uniform, glorot_uniform, glorot_normal, he_uniform, he_normal,
              lecun_normal, lecun_uniform, orthogonal)
}
_REGISTRY["constant"] = constant()  # Keras's Constant() default, 0


def get(identifier):
    """Return an initialiser by name, or pass a callable through."""
    if callable(identifier):
        return identifier
    return _REGISTRY[one_of(identifier, "initializer", _REGISTRY)]
