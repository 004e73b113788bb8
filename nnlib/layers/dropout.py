r"""Inverted dropout (chapter 21)."""
from __future__ import annotations

import numbers

import numpy as np

from nnlib._validation import as_float_array, generator
from nnlib.layers.base import Layer


def _rate(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"rate expected a number in [0, 1). Received: {value!r}")
    value = float(value)
    if not (0 <= value < 1):
        raise ValueError(f"rate expected a number in [0, 1) (the fraction of units dropped). Received: rate={value}")
    return value


class Dropout(Layer):
    r"""Inverted dropout, as ``keras.layers.Dropout``: in training, zero each unit with
    probability ``rate`` and scale the kept ones by :math:`1/(1-p)`.

    Used in chapter 21.

    Parameters
    ----------
    rate : float in [0, 1)
        :math:`p`, the probability of dropping a unit. (Keras also accepts 1, which zeroes
        everything; nnlib refuses it, since nothing could then be learnt.)
    rng : numpy.random.Generator, optional
        Source of the masks; ``None`` uses nnlib's default generator (see
        :func:`nnlib.seed_everything`).
    name : str, optional

    Notes
    -----
    In training (``forward(x, training=True)``) a fresh mask
    :math:`m_i \sim \text{Bernoulli}(1-p)` is drawn for every element (``rng.random(x.shape)
    >= p``) and, with :math:`s = 1/(1-p)`,

    .. math::

        y = s\, m \odot x, \qquad
        \mathbb{E}[y] = x, \qquad
        \frac{\partial L}{\partial x} = s\, m \odot \frac{\partial L}{\partial y}.

    Because the expectation is already right, inference (``training=False``, the default)
    is exactly the identity: :math:`y = x`, :math:`\partial L/\partial x = \partial L/\partial y`.
    The layer has no parameters. Shapes: any input shape; the output has the input's shape
    and dtype.
    """

    def __init__(self, rate: float, *, rng: np.random.Generator | None = None, name: str | None = None):
        super().__init__(name)
        self.rate = _rate(rate)
        self.rng = generator(rng)
        self.scale = 1.0 / (1.0 - self.rate)
        self.mask: np.ndarray | None = None
        self._shape = None

    def forward(self, x, training: bool = False):
        """Drop and rescale in training; return ``x`` unchanged at inference."""
        x = as_float_array(x, "x", min_ndim=1)
        self._shape = x.shape
        if not training or self.rate == 0:
            self.mask = None  # the identity: backward passes dout through
            return x
        self.mask = self.rng.random(x.shape) >= self.rate
        # x * s, then zero the dropped units: the order TensorFlow's dropout uses
        return np.where(self.mask, x * x.dtype.type(self.scale), x.dtype.type(0))

    def backward(self, dout):
        self._require_cache("_shape")
        dout = as_float_array(dout, "dout")
        if dout.shape != self._shape:
            raise ValueError(f"Dropout layer {self.name!r} backward expected dout of shape {self._shape}. Received: dout.shape={dout.shape}")
        if self.mask is None:
            return dout
        return np.where(self.mask, dout * dout.dtype.type(self.scale), dout.dtype.type(0))

    def multiply_adds(self) -> int:
        return 0

    def __repr__(self):
        return f"Dropout(rate={self.rate!r})"
