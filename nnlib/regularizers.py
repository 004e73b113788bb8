r"""Weight penalties with Keras's formulas, and the proximal step for L1 (chapters 13, 19).

A regularizer is called on a weight array and returns the penalty that is added to the
loss; its :meth:`~Regularizer.gradient` is what the penalty adds to the weight's gradient.
The formulas are exactly those of ``keras.regularizers`` (note: **no** factor
:math:`\tfrac12` in the L2 penalty, so its gradient is :math:`2\lambda_2 w`):

.. math::

    \Omega_{L1}(w) = \lambda_1 \sum_i |w_i|, \qquad
    \Omega_{L2}(w) = \lambda_2 \sum_i w_i^2, \qquad
    \Omega_{L1L2}(w) = \lambda_1 \sum_i |w_i| + \lambda_2 \sum_i w_i^2 .

Keras adds the penalty of every regularised weight to the loss of every batch, unscaled
by the batch size, so the reported training loss includes it.
"""
from __future__ import annotations

import numbers

import numpy as np

from nnlib._validation import as_float_array, positive_float

__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "names", "soft_threshold"]


def _factor(value, name: str) -> float:
    """A penalty factor: a finite real number >= 0 (Keras's ``validate_float_arg``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} expected a non-negative real number. Received: {value!r}")
    return positive_float(value, name, allow_zero=True)


def _weights(weights, name: str = "weights") -> np.ndarray:
    return as_float_array(weights, name)


def soft_threshold(weights, threshold: float) -> np.ndarray:
    r"""The soft-thresholding operator, the proximal step of the L1 penalty (chapter 19).

    Parameters
    ----------
    weights : float array, any shape
    threshold : float >= 0
        :math:`t`; for a proximal-gradient step on :math:`\lambda_1 \|w\|_1` with learning
        rate :math:`\eta`, :math:`t = \eta \lambda_1`.

    Returns
    -------
    ndarray, same shape and dtype as ``weights``

    Raises
    ------
    TypeError, ValueError
        ``weights`` is not numeric, or ``threshold`` is not a finite number >= 0.

    Notes
    -----
    .. math::

        S_t(w) = \operatorname{sign}(w)\,\max(|w| - t,\, 0)
        = \arg\min_u \; \tfrac12 (u - w)^2 + t\,|u| .

    Entries with :math:`|w| \le t` become exactly zero, which is why proximal L1 training
    gives sparse weights while the subgradient :math:`\lambda_1 \operatorname{sign}(w)`
    only makes them oscillate around zero.
    """
    weights = _weights(weights)
    threshold = positive_float(threshold, "threshold", allow_zero=True)
    return np.sign(weights) * np.maximum(np.abs(weights) - threshold, 0).astype(weights.dtype, copy=False)


class Regularizer:
    r"""Base class: ``regularizer(w)`` is the penalty, ``regularizer.gradient(w)`` its gradient.

    Subclasses implement ``__call__``, ``gradient`` and ``proximal``; ``_config`` lists
    the factors for ``repr`` and :meth:`get_config` (the same keys as Keras's config).
    """

    _config: tuple[str, ...] = ()

    def __call__(self, weights) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def gradient(self, weights) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def proximal(self, weights, learning_rate: float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, float]:
        return {key: getattr(self, key) for key in self._config}

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = None


class L1L2(Regularizer):
    r"""The penalty :math:`\lambda_1 \sum |w| + \lambda_2 \sum w^2`, as ``keras.regularizers.L1L2``.

    Used in chapters 13 and 19.

    Parameters
    ----------
    l1 : float >= 0, default 0.0
        :math:`\lambda_1`.
    l2 : float >= 0, default 0.0
        :math:`\lambda_2`. Keras's defaults are both 0 here (a penalty of zero), unlike
        ``L1()`` and ``L2()`` whose default factor is 0.01.

    Notes
    -----
    .. math::

        \Omega(w) = \lambda_1 \sum_i |w_i| + \lambda_2 \sum_i w_i^2, \qquad
        \frac{\partial \Omega}{\partial w} = \lambda_1 \operatorname{sign}(w) + 2 \lambda_2 w,

    with the subgradient :math:`\operatorname{sign}(0) = 0` at zero, the value TensorFlow's
    gradient of ``abs`` gives. The penalty is computed in the weights' dtype, as Keras
    does.
    """

    _config = ("l1", "l2")

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _factor(l1, "l1")
        self.l2 = _factor(l2, "l2")

    def __call__(self, weights) -> float:
        """The penalty :math:`\\Omega(w)` as a Python float."""
        weights = _weights(weights)
        penalty = weights.dtype.type(0)
        if self.l1 != 0:
            penalty = penalty + weights.dtype.type(self.l1) * np.sum(np.abs(weights))
        if self.l2 != 0:
            penalty = penalty + weights.dtype.type(self.l2) * np.sum(np.square(weights))
        return float(penalty)

    def gradient(self, weights) -> np.ndarray:
        r""":math:`\lambda_1 \operatorname{sign}(w) + 2\lambda_2 w`, same shape and dtype as ``weights``."""
        weights = _weights(weights)
        dtype = weights.dtype.type
        return dtype(self.l1) * np.sign(weights) + dtype(2 * self.l2) * weights

    def proximal(self, weights, learning_rate: float) -> np.ndarray:
        r"""The proximal step :math:`\arg\min_u \frac{1}{2\eta}\|u - w\|^2 + \Omega(u)`.

        Equal to :math:`S_{\eta\lambda_1}(w) / (1 + 2\eta\lambda_2)` (see :func:`soft_threshold`).
        """
        weights = _weights(weights)
        learning_rate = positive_float(learning_rate, "learning_rate")
        shrunk = soft_threshold(weights, learning_rate * self.l1)
        return (shrunk / (1 + 2 * learning_rate * self.l2)).astype(weights.dtype, copy=False)


class L1(L1L2):
    r"""The lasso penalty :math:`\lambda_1 \sum_i |w_i|`, as ``keras.regularizers.L1``.

    Used in chapters 13 and 19.

    Parameters
    ----------
    l1 : float >= 0, default 0.01

    Notes
    -----
    Gradient (a subgradient, 0 at 0): :math:`\lambda_1 \operatorname{sign}(w)`. Proximal
    step: :math:`S_{\eta\lambda_1}(w)` (:func:`soft_threshold`).

    Keras stores ``l1`` as a float32 tensor, so in float64 its penalty uses
    ``float32(l1)`` (``0.01`` becomes ``0.009999999776...``); nnlib keeps the Python float.
    """

    _config = ("l1",)

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1, l2=0.0)


class L2(L1L2):
    r"""The ridge (weight-decay) penalty :math:`\lambda_2 \sum_i w_i^2`, as ``keras.regularizers.L2``.

    Used in chapters 13 and 19.

    Parameters
    ----------
    l2 : float >= 0, default 0.01

    Notes
    -----
    Gradient :math:`2\lambda_2 w` (Keras has no :math:`\tfrac12`). A gradient step with it
    is :math:`w \leftarrow (1 - 2\eta\lambda_2) w - \eta g`, the same as decoupled weight
    decay with :math:`\lambda = 2\lambda_2` for plain SGD (not for Adam). Proximal step:
    :math:`w / (1 + 2\eta\lambda_2)`.
    """

    _config = ("l2",)

    def __init__(self, l2: float = 0.01):
        super().__init__(l1=0.0, l2=l2)


# The names keras.regularizers.get accepts: class names and their snake case. "l1l2"
# gives L1L2() with both factors 0, as in Keras; "l1_l2" is refused, as in Keras.
_BY_NAME = {"l1": L1, "l2": L2, "l1l2": L1L2}


def names() -> list[str]:
    """The names :func:`get` accepts."""
    return sorted(_BY_NAME)


def get(identifier) -> Regularizer | None:
    """Return a regularizer by name with Keras's defaults, pass one through, or None.

    Parameters
    ----------
    identifier : None, str, Regularizer or Regularizer subclass
        ``None`` (no penalty); ``"l1"`` (``L1(0.01)``), ``"l2"`` (``L2(0.01)``) or
        ``"l1l2"`` (``L1L2()``: both factors 0, exactly what ``keras.regularizers.get``
        returns), in any case; an instance, returned as is; a class, instantiated with its
        defaults.

    Raises
    ------
    TypeError
        ``identifier`` is of another type (plain functions are refused: nnlib needs the
        gradient as well as the penalty).
    ValueError
        An unknown name.
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Regularizer) and identifier is not Regularizer:
        return identifier()
    expected = f"regularizer expected None, an nnlib Regularizer or one of {names()}"
    if not isinstance(identifier, str):
        raise TypeError(f"{expected}. Received: {identifier!r}")
    key = identifier.lower()
    if key not in _BY_NAME:
        raise ValueError(f"{expected}. Received: regularizer={identifier!r}")
    return _BY_NAME[key]()
