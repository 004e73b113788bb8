r"""Loss functions with their gradients, matching ``keras.losses`` (chapters 08 and 09).

Every loss is defined by a *per-sample* value: an average (or, for the cross-entropies
of a distribution, a sum) over the last axis of ``y_pred``, as in Keras. A reduction then
turns the per-sample values into one number. Keras's default, ``"sum_over_batch_size"``,
is their mean; ``"sum"`` adds them; ``"none"`` returns them unreduced.

Each loss exists in three forms:

- a pure function ``name(y_true, y_pred) -> float`` (the batch mean),
- its derivative ``name_gradient(y_true, y_pred)``, :math:`\partial L/\partial \hat y` of
  that batch mean, with the shape of ``y_pred``,
- a class (``MeanSquaredError()``, ``Huber(delta=1.0)``, ...) whose instances are callable
  and have ``gradient``, with a ``reduction`` argument.

Probabilities are clipped to :math:`[\epsilon, 1-\epsilon]` with :math:`\epsilon = 10^{-7}`
as in Keras, and the gradient is zero where the clip is active; the ``from_logits=True``
forms are the numerically stable ones and should be preferred (chapter 09).
"""
from __future__ import annotations

import numpy as np

from nnlib._validation import as_float_array, one_of, positive_float

EPSILON = 1e-7
REDUCTIONS = ("sum_over_batch_size", "sum", "none")


def _pair(y_true, y_pred, name):
    """Validate a (y_true, y_pred) pair and give both the same shape.

    Like Keras, a trailing axis of length 1 on one side is matched by adding it to the
    other side when that side is 1-D, and by dropping it otherwise.
    """
    y_pred = as_float_array(y_pred, "y_pred", min_ndim=1)
    y_true = as_float_array(y_true, "y_true").astype(y_pred.dtype)
    received = f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        else:
            y_true = y_true[..., 0]
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            y_true = y_true[:, None]
        else:
            y_pred = y_pred[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{name} expected y_true and y_pred of the same shape. {received}")
    return y_true, y_pred


def _width(y_pred):
    return y_pred.shape[-1]


# Each _per_sample_* function returns (values, gradient): the per-sample losses, of shape
# y_pred.shape[:-1], and the gradient of their *sum* with respect to y_pred.

# --- regression ----------------------------------------------------------------------

def _per_sample_mse(y_true, y_pred):
    error = y_pred - y_true
    return np.mean(error**2, axis=-1), 2.0 * error / _width(y_pred)


def _per_sample_mae(y_true, y_pred):
    error = y_pred - y_true
    return np.mean(np.abs(error), axis=-1), np.sign(error) / _width(y_pred)


def _per_sample_huber(y_true, y_pred, delta=1.0):
    error = y_pred - y_true
    small = np.abs(error) <= delta
    values = np.where(small, 0.5 * error**2, delta * np.abs(error) - 0.5 * delta**2)
    gradient = np.where(small, error, delta * np.sign(error))
    return np.mean(values, axis=-1), gradient / _width(y_pred)


# --- classification ------------------------------------------------------------------

def _per_sample_bce(y_true, y_pred, from_logits=False):
    from nnlib.activations import sigmoid

    if from_logits:
        z = y_pred
        values = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
        gradient = sigmoid(z) - y_true
    else:
        inside = (y_pred > EPSILON) & (y_pred < 1.0 - EPSILON)
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        values = -(y_true * np.log(p) + (1.0 - y_true) * np.log(1.0 - p))
        gradient = np.where(inside, (p - y_true) / (p * (1.0 - p)), 0.0)
    return np.mean(values, axis=-1), gradient / _width(y_pred)


def _log_softmax(z):
    """:math:`z - \\log\\sum e^{z}` by the log-sum-exp trick (shift by the maximum first)."""
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _per_sample_cce(y_true, y_pred, from_logits=False):
    if from_logits:
        log_p = _log_softmax(y_pred)
        values = -np.sum(y_true * log_p, axis=-1)
        gradient = np.exp(log_p) * np.sum(y_true, axis=-1, keepdims=True) - y_true
        return values, gradient
    total = np.sum(y_pred, axis=-1, keepdims=True)
    p = y_pred / total  # Keras renormalises rows, then clips
    inside = (p > EPSILON) & (p < 1.0 - EPSILON)
    values = -np.sum(y_true * np.log(np.clip(p, EPSILON, 1.0 - EPSILON)), axis=-1)
    d_p = np.where(inside, -y_true / np.clip(p, EPSILON, 1.0), 0.0)
    gradient = (d_p - np.sum(d_p * p, axis=-1, keepdims=True)) / total  # through p = y / sum(y)
    return values, gradient


def _per_sample_sparse_cce(one_hot, y_pred, from_logits=False):
    """Sparse cross-entropy. From probabilities Keras (TensorFlow backend) clips first and then
    takes a log-softmax of the logs, which renormalises the *clipped* row."""
    if from_logits:
        return _per_sample_cce(one_hot, y_pred, from_logits=True)
    inside = (y_pred >= EPSILON) & (y_pred <= 1.0 - EPSILON)
    clipped = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
    total = np.sum(clipped, axis=-1, keepdims=True)
    values = -np.sum(one_hot * np.log(clipped / total), axis=-1)
    gradient = np.where(inside, -one_hot / clipped + 1.0 / total, 0.0)
    return values, gradient


def _per_sample_kld(y_true, y_pred):
    t = np.clip(y_true, EPSILON, 1.0)
    p = np.clip(y_pred, EPSILON, 1.0)
    inside = (y_pred >= EPSILON) & (y_pred <= 1.0)
    values = np.sum(t * np.log(t / p), axis=-1)
    return values, np.where(inside, -t / p, 0.0)


def _hinge_labels(y_true):
    """Keras converts labels that are all 0 or 1 to -1 and 1; other labels pass unchanged."""
    if np.all((y_true == 0) | (y_true == 1)):
        return 2.0 * y_true - 1.0
    return y_true


def _per_sample_hinge(y_true, y_pred):
    y_true = _hinge_labels(y_true)
    margin = 1.0 - y_true * y_pred
    values = np.mean(np.maximum(margin, 0.0), axis=-1)
    return values, np.where(margin > 0, -y_true, 0.0) / _width(y_pred)


def _one_hot(labels, num_classes, dtype):
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if not np.all(np.equal(np.mod(labels, 1), 0)):
        raise ValueError("sparse_categorical_crossentropy expected integer class labels in y_true. Received: non-integer values")
    labels = labels.astype(np.int64)
    if labels.ndim != 1:
        raise ValueError(f"sparse_categorical_crossentropy expected y_true of shape (batch,). Received: y_true.shape={labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"sparse_categorical_crossentropy expected labels in [0, {num_classes - 1}]. "
            f"Received: labels from {labels.min()} to {labels.max()}"
        )
    return np.eye(num_classes, dtype=dtype)[labels]


def _sparse_pair(y_true, y_pred, name):
    y_pred = as_float_array(y_pred, "y_pred", ndim=2)
    y_true = as_float_array(y_true, "y_true", min_ndim=1)
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"{name} expected one label per row of y_pred. "
            f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
        )
    return _one_hot(y_true, y_pred.shape[1], y_pred.dtype), y_pred


# --- reductions and the public functions ----------------------------------------------

def _reduce(per_sample, y_true, y_pred, reduction, *, sparse=False, name="loss", **options):
    """Per-sample values and gradient, reduced as Keras reduces them."""
    y_true, paired = (_sparse_pair if sparse else _pair)(y_true, y_pred, name)
    values, gradient = per_sample(y_true, paired, **options)
    gradient = gradient.reshape(np.shape(y_pred))  # undo _pair's matching of a trailing axis
    if reduction == "none":
        return values, gradient
    if reduction == "sum":
        return float(np.sum(values)), gradient
    count = max(np.size(values), 1)
    return float(np.sum(values)) / count, gradient / count


def _define(per_sample, name, *, sparse=False, doc=""):
    """Make the function pair ``name`` / ``name_gradient`` (batch mean) for one loss."""

    def value(y_true, y_pred, **options) -> float:
        return _reduce(per_sample, y_true, y_pred, "sum_over_batch_size", sparse=sparse, name=name, **options)[0]

    def gradient(y_true, y_pred, **options):
        return _reduce(per_sample, y_true, y_pred, "sum_over_batch_size", sparse=sparse, name=name, **options)[1]

    value.__name__, gradient.__name__ = name, f"{name}_gradient"
    value.__doc__ = doc
    gradient.__doc__ = f"Gradient of :func:`{name}` (the batch mean) with respect to ``y_pred``."
    return value, gradient


mean_squared_error, mean_squared_error_gradient = _define(
    _per_sample_mse, "mean_squared_error",
    doc=r"Mean squared error :math:`\frac{1}{ND}\sum_{n,d}(\hat y_{nd}-y_{nd})^2`, as ``keras.losses.MeanSquaredError``.")
mean_absolute_error, mean_absolute_error_gradient = _define(
    _per_sample_mae, "mean_absolute_error",
    doc=r"Mean absolute error :math:`\frac{1}{ND}\sum_{n,d}|\hat y_{nd}-y_{nd}|`; its gradient is the sign of the error (0 at 0).")
_huber, _huber_gradient = _define(_per_sample_huber, "huber")


def huber(y_true, y_pred, delta: float = 1.0) -> float:
    r"""Huber loss: :math:`\tfrac12 e^2` for :math:`|e| \le \delta`, else :math:`\delta|e| - \tfrac12\delta^2`
    (:math:`e = \hat y - y`), averaged like MSE; ``keras.losses.Huber(delta)``."""
    return _huber(y_true, y_pred, delta=positive_float(delta, "delta"))


def huber_gradient(y_true, y_pred, delta: float = 1.0):
    r""":math:`e` inside :math:`[-\delta, \delta]`, :math:`\delta\,\mathrm{sign}(e)` outside, over :math:`ND`."""
    return _huber_gradient(y_true, y_pred, delta=positive_float(delta, "delta"))


_bce, _bce_gradient = _define(_per_sample_bce, "binary_crossentropy")
_cce, _cce_gradient = _define(_per_sample_cce, "categorical_crossentropy")
_scce, _scce_gradient = _define(_per_sample_sparse_cce, "sparse_categorical_crossentropy", sparse=True)


def _logits_flag(from_logits):
    if not isinstance(from_logits, bool):
        raise TypeError(f"from_logits expected a bool. Received: {from_logits!r}")
    return from_logits


def binary_crossentropy(y_true, y_pred, *, from_logits: bool = False) -> float:
    r"""Mean of :math:`-[y\log p + (1-y)\log(1-p)]`.

    With ``from_logits=True``, ``y_pred`` holds logits :math:`z` and the stable form
    :math:`\max(z,0) - z y + \log(1+e^{-|z|})` is used.
    """
    return _bce(y_true, y_pred, from_logits=_logits_flag(from_logits))


def binary_crossentropy_gradient(y_true, y_pred, *, from_logits: bool = False):
    r"""From logits: :math:`(\sigma(z) - y)/n`. From probabilities:
    :math:`(p - y)/(p(1-p)\,n)`, and 0 where Keras's clipping is active."""
    return _bce_gradient(y_true, y_pred, from_logits=_logits_flag(from_logits))


def categorical_crossentropy(y_true, y_pred, *, from_logits: bool = False) -> float:
    r"""Batch mean of :math:`-\sum_k y_k \log p_k` (one-hot or soft targets).

    Probabilities are first renormalised to sum to 1 and clipped, as in Keras; logits go
    through a log-softmax (log-sum-exp), which cannot overflow.
    """
    return _cce(y_true, y_pred, from_logits=_logits_flag(from_logits))


def categorical_crossentropy_gradient(y_true, y_pred, *, from_logits: bool = False):
    r"""From logits: :math:`(\mathrm{softmax}(z)\sum_k y_k - y)/N`. From probabilities: the
    gradient through the renormalisation :math:`p/\sum p` and the clipping."""
    return _cce_gradient(y_true, y_pred, from_logits=_logits_flag(from_logits))


def sparse_categorical_crossentropy(y_true, y_pred, *, from_logits: bool = False) -> float:
    """Categorical cross-entropy with integer labels ``y_true`` of shape ``(batch,)``."""
    return _scce(y_true, y_pred, from_logits=_logits_flag(from_logits))


def sparse_categorical_crossentropy_gradient(y_true, y_pred, *, from_logits: bool = False):
    """Gradient of :func:`sparse_categorical_crossentropy` with respect to ``y_pred``."""
    return _scce_gradient(y_true, y_pred, from_logits=_logits_flag(from_logits))


kl_divergence, kl_divergence_gradient = _define(
    _per_sample_kld, "kl_divergence",
    doc=r"Batch mean of :math:`\sum_k y_k \log(y_k/p_k)`, both clipped to :math:`[\epsilon, 1]`, as "
        r"``keras.losses.KLDivergence`` (no renormalisation).")
hinge, hinge_gradient = _define(
    _per_sample_hinge, "hinge",
    doc=r"Mean of :math:`\max(0, 1 - y\hat y)` with labels :math:`y \in \{-1, 1\}`; labels that are all "
        r"0 or 1 are first mapped to -1 and 1, as ``keras.losses.Hinge`` does.")


# --- classes -------------------------------------------------------------------------

class Loss:
    """A loss as an object: ``loss(y_true, y_pred)`` and ``loss.gradient(y_true, y_pred)``.

    Parameters
    ----------
    reduction : {"sum_over_batch_size", "sum", "none"}, default "sum_over_batch_size"
        As in Keras: the mean of the per-sample losses, their sum, or the per-sample
        array itself. With ``"none"``, ``gradient`` is that of the sum.
    """

    name = "loss"
    _per_sample = None
    _sparse = False

    def __init__(self, *, reduction: str = "sum_over_batch_size"):
        self.reduction = one_of(reduction, "reduction", REDUCTIONS)

    def _options(self) -> dict:
        return {}

    def __call__(self, y_true, y_pred):
        return _reduce(type(self)._per_sample, y_true, y_pred, self.reduction,
                       sparse=self._sparse, name=self.name, **self._options())[0]

    def gradient(self, y_true, y_pred):
        """Derivative of the reduced loss with respect to ``y_pred`` (same shape as ``y_pred``)."""
        return _reduce(type(self)._per_sample, y_true, y_pred, self.reduction,
                       sparse=self._sparse, name=self.name, **self._options())[1]

    def __repr__(self):
        options = [f"{key}={value!r}" for key, value in self._options().items()]
        if self.reduction != "sum_over_batch_size":
            options.append(f"reduction={self.reduction!r}")
        return f"{type(self).__name__}({', '.join(options)})"


class MeanSquaredError(Loss):
    name = "mean_squared_error"
    _per_sample = staticmethod(_per_sample_mse)


class MeanAbsoluteError(Loss):
    name = "mean_absolute_error"
    _per_sample = staticmethod(_per_sample_mae)


class Huber(Loss):
    """Huber loss with threshold ``delta`` (quadratic inside, linear outside)."""

    name = "huber"
    _per_sample = staticmethod(_per_sample_huber)

    def __init__(self, delta: float = 1.0, *, reduction: str = "sum_over_batch_size"):
        super().__init__(reduction=reduction)
        self.delta = positive_float(delta, "delta")

    def _options(self):
        return {"delta": self.delta}


class _WithLogits(Loss):
    def __init__(self, *, from_logits: bool = False, reduction: str = "sum_over_batch_size"):
        super().__init__(reduction=reduction)
        self.from_logits = _logits_flag(from_logits)

    def _options(self):
        return {"from_logits": self.from_logits}


class BinaryCrossentropy(_WithLogits):
    name = "binary_crossentropy"
    _per_sample = staticmethod(_per_sample_bce)


class CategoricalCrossentropy(_WithLogits):
    name = "categorical_crossentropy"
    _per_sample = staticmethod(_per_sample_cce)


class SparseCategoricalCrossentropy(_WithLogits):
    name = "sparse_categorical_crossentropy"
    _per_sample = staticmethod(_per_sample_sparse_cce)
    _sparse = True


class KLDivergence(Loss):
    name = "kl_divergence"
    _per_sample = staticmethod(_per_sample_kld)


class Hinge(Loss):
    name = "hinge"
    _per_sample = staticmethod(_per_sample_hinge)


_REGISTRY = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "hinge": Hinge,
}


def get(identifier) -> Loss:
    """Return a :class:`Loss` by name (``"mse"``, ``"huber"``, ``"binary_crossentropy"``, ...), or pass one through."""
    if isinstance(identifier, Loss):
        return identifier
    return _REGISTRY[one_of(identifier, "loss", _REGISTRY)]()
