r"""Gradient clipping, with the same results as TensorFlow's ``tf.clip_by_*`` functions.

Used in chapter 11 (exploding gradients) and by the ``clipvalue``, ``clipnorm`` and
``global_clipnorm`` options of :mod:`nnlib.optimizers`. Every function takes a list of
gradient arrays :math:`g_1, \dots, g_n` and returns new arrays; the inputs are not modified.

.. math::

    \text{clip\_by\_value:}\quad & g_i \leftarrow \min(\max(g_i, -v), v)
        \quad\text{elementwise},\\
    \text{clip\_by\_norm:}\quad & g_i \leftarrow g_i \,\frac{c}{\max(\lVert g_i \rVert_2, c)}
        \quad\text{each array on its own},\\
    \text{global\_norm:}\quad & N = \sqrt{\textstyle\sum_i \lVert g_i \rVert_2^2},\\
    \text{clip\_by\_global\_norm:}\quad & g_i \leftarrow g_i \,\frac{c}{\max(N, c)}
        \quad\text{one factor for all arrays}.

Clipping by norm keeps the direction of a gradient and shortens it only when it is longer
than :math:`c`; clipping by value changes the direction. As in TensorFlow, an all-zero
gradient stays zero, and a non-finite global norm (an ``inf`` or ``NaN`` anywhere) turns
every array returned by :func:`clip_by_global_norm` into ``NaN``, so the failure shows.
"""
from __future__ import annotations

import math

import numpy as np

from nnlib._validation import as_float_array, positive_float


def _gradient_list(grads) -> list[np.ndarray]:
    if not isinstance(grads, (list, tuple)):
        raise TypeError(f"grads expected a list of arrays. Received: {type(grads).__name__}")
    return [as_float_array(grad, f"grads[{index}]") for index, grad in enumerate(grads)]


def clip_by_value(grads, clip_value: float) -> list[np.ndarray]:
    """Clip every element to ``[-clip_value, clip_value]``, like ``tf.clip_by_value``.

    Parameters
    ----------
    grads : list of arrays, any shapes
    clip_value : float > 0

    Returns
    -------
    list of arrays, the shapes and dtypes of ``grads``

    Raises
    ------
    TypeError, ValueError
        ``grads`` is not a list of numeric arrays, or ``clip_value`` is not a number > 0.
    """
    clip_value = positive_float(clip_value, "clip_value")
    return [np.clip(grad, -clip_value, clip_value) for grad in _gradient_list(grads)]


def clip_by_norm(grads, clip_norm: float) -> list[np.ndarray]:
    """Rescale each array whose L2 norm exceeds ``clip_norm``, like ``tf.clip_by_norm``.

    Parameters
    ----------
    grads : list of arrays, any shapes
    clip_norm : float > 0

    Returns
    -------
    list of arrays, the shapes and dtypes of ``grads``; each has norm at most ``clip_norm``

    Raises
    ------
    TypeError, ValueError
        ``grads`` is not a list of numeric arrays, or ``clip_norm`` is not a number > 0.
    """
    clip_norm = positive_float(clip_norm, "clip_norm")
    return [grad * (clip_norm / max(_norm(grad), clip_norm)) for grad in _gradient_list(grads)]


def global_norm(grads) -> float:
    r"""The L2 norm of all gradients taken together, like ``tf.linalg.global_norm``.

    Parameters
    ----------
    grads : list of arrays, any shapes

    Returns
    -------
    float
        :math:`\sqrt{\sum_i \lVert g_i \rVert_2^2}` (0.0 for an empty list).
    """
    return math.sqrt(sum(_norm(grad) ** 2 for grad in _gradient_list(grads)))


def clip_by_global_norm(grads, clip_norm: float) -> tuple[list[np.ndarray], float]:
    """Rescale all arrays by one factor so their global norm is at most ``clip_norm``.

    Like ``tf.clip_by_global_norm``, it returns the clipped arrays and the global norm
    *before* clipping (the value to plot when watching for exploding gradients).

    Parameters
    ----------
    grads : list of arrays, any shapes
    clip_norm : float > 0

    Returns
    -------
    clipped : list of arrays, the shapes and dtypes of ``grads``
    norm : float
        :func:`global_norm` of ``grads``.

    Raises
    ------
    TypeError, ValueError
        ``grads`` is not a list of numeric arrays, or ``clip_norm`` is not a number > 0.
    """
    clip_norm = positive_float(clip_norm, "clip_norm")
    grads = _gradient_list(grads)
    norm = global_norm(grads)
    scale = clip_norm / max(norm, clip_norm) if math.isfinite(norm) else math.nan
    return [grad * scale for grad in grads], norm


def _norm(grad: np.ndarray) -> float:
    """L2 norm accumulated in float64."""
    return float(np.sqrt(np.sum(np.square(grad, dtype=np.float64))))
