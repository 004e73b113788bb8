r"""Loss functions with their gradients, matching ``keras.losses``.

Each loss exists as a pure function ``loss(y_true, y_pred) -> float`` and as a class whose
instances are callable and also give ``gradient(y_true, y_pred)``, the derivative of the
(batch-averaged) loss with respect to ``y_pred``. Reductions follow Keras: the per-sample
loss is averaged over the last axis (or summed, for categorical cross-entropy), then
averaged over the batch.

Probabilities are clipped to :math:`[\epsilon, 1-\epsilon]` with :math:`\epsilon = 10^{-7}`
like Keras; the ``from_logits=True`` forms are the numerically stable ones and should be
preferred (chapter 09).
"""
from __future__ import annotations

import numpy as np

from nnlib._validation import as_float_array, one_of

EPSILON = 1e-7


def _pair(y_true, y_pred, name):
    """Validate a (y_true, y_pred) pair; give y_true y_pred's shape when only a trailing 1 differs."""
    y_pred = as_float_array(y_pred, "y_pred", min_ndim=1)
    y_true = as_float_array(y_true, "y_true").astype(y_pred.dtype)
    if y_true.shape != y_pred.shape:
        if y_true.size == y_pred.size and abs(y_true.ndim - y_pred.ndim) == 1:
            y_true = y_true.reshape(y_pred.shape)
        else:
            raise ValueError(
                f"{name} expected y_true and y_pred of the same shape. "
                f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
            )
    return y_true, y_pred


def _batch_size(y_pred):
    return y_pred.shape[0] if y_pred.ndim > 1 else 1


# --- mean squared error -------------------------------------------------------------

def mean_squared_error(y_true, y_pred) -> float:
    r""":math:`\frac{1}{N D}\sum_{n,d} (\hat y_{nd} - y_{nd})^2`."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_squared_error")
    return float(np.mean((y_pred - y_true) ** 2))


def mean_squared_error_gradient(y_true, y_pred):
    r""":math:`\partial L/\partial \hat y = 2(\hat y - y)/(N D)`."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_squared_error")
    return 2.0 * (y_pred - y_true) / y_pred.size


# --- binary cross-entropy -----------------------------------------------------------

def binary_crossentropy(y_true, y_pred, *, from_logits: bool = False) -> float:
    r"""Mean of :math:`-[y\log p + (1-y)\log(1-p)]`.

    With ``from_logits=True``, ``y_pred`` holds logits :math:`z` and the stable form
    :math:`\max(z,0) - z y + \log(1+e^{-|z|})` is used.
    """
    y_true, y_pred = _pair(y_true, y_pred, "binary_crossentropy")
    if from_logits:
        z = y_pred
        per_element = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
    else:
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        per_element = -(y_true * np.log(p) + (1.0 - y_true) * np.log(1.0 - p))
    return float(np.mean(per_element))


def binary_crossentropy_gradient(y_true, y_pred, *, from_logits: bool = False):
    r"""From logits: :math:`(\sigma(z) - y)/n`. From probabilities:
    :math:`(p - y)/(p(1-p)\,n)`, and 0 where Keras's clipping is active."""
    from nnlib.activations import sigmoid

    y_true, y_pred = _pair(y_true, y_pred, "binary_crossentropy")
    if from_logits:
        return (sigmoid(y_pred) - y_true) / y_pred.size
    inside = (y_pred > EPSILON) & (y_pred < 1.0 - EPSILON)
    p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return np.where(inside, (p - y_true) / (p * (1.0 - p)), 0.0) / y_pred.size


# --- categorical cross-entropy -------------------------------------------------------

def _log_softmax(z):
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def categorical_crossentropy(y_true, y_pred, *, from_logits: bool = False) -> float:
    r"""Batch mean of :math:`-\sum_k y_k \log p_k` (one-hot or soft targets).

    Probabilities are first renormalised to sum to 1 and clipped, as in Keras; logits go
    through a log-softmax (log-sum-exp), which cannot overflow.
    """
    y_true, y_pred = _pair(y_true, y_pred, "categorical_crossentropy")
    if from_logits:
        log_p = _log_softmax(y_pred)
    else:
        p = y_pred / np.sum(y_pred, axis=-1, keepdims=True)
        log_p = np.log(np.clip(p, EPSILON, 1.0 - EPSILON))
    per_sample = -np.sum(y_true * log_p, axis=-1)
    return float(np.mean(per_sample))


def categorical_crossentropy_gradient(y_true, y_pred, *, from_logits: bool = False):
    r"""From logits: :math:`(\mathrm{softmax}(z)\sum_k y_k - y)/N`. From probabilities: the
    gradient through the renormalisation :math:`p/\sum p` and the clipping."""
    y_true, y_pred = _pair(y_true, y_pred, "categorical_crossentropy")
    batch = _batch_size(y_pred)
    if from_logits:
        probabilities = np.exp(_log_softmax(y_pred))
        return (probabilities * np.sum(y_true, axis=-1, keepdims=True) - y_true) / batch
    total = np.sum(y_pred, axis=-1, keepdims=True)
    p = y_pred / total
    inside = (p > EPSILON) & (p < 1.0 - EPSILON)
    a = np.where(inside, -y_true / np.clip(p, EPSILON, 1.0), 0.0)  # dL/dp_normalised
    return (a - np.sum(a * p, axis=-1, keepdims=True)) / total / batch


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


def _sparse_pair(y_true, y_pred):
    y_pred = as_float_array(y_pred, "y_pred", ndim=2)
    y_true = as_float_array(y_true, "y_true", min_ndim=1)
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"sparse_categorical_crossentropy expected one label per row of y_pred. "
            f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
        )
    return _one_hot(y_true, y_pred.shape[1], y_pred.dtype), y_pred


def sparse_categorical_crossentropy(y_true, y_pred, *, from_logits: bool = False) -> float:
    """Categorical cross-entropy with integer labels ``y_true`` of shape ``(batch,)``."""
    one_hot, y_pred = _sparse_pair(y_true, y_pred)
    return categorical_crossentropy(one_hot, y_pred, from_logits=from_logits)


def sparse_categorical_crossentropy_gradient(y_true, y_pred, *, from_logits: bool = False):
    one_hot, y_pred = _sparse_pair(y_true, y_pred)
    return categorical_crossentropy_gradient(one_hot, y_pred, from_logits=from_logits)


# --- classes -------------------------------------------------------------------------

class Loss:
    """A loss as an object: ``loss(y_true, y_pred)`` and ``loss.gradient(y_true, y_pred)``."""

    name = "loss"
    _value = staticmethod(lambda y_true, y_pred: 0.0)
    _gradient = staticmethod(lambda y_true, y_pred: 0.0)

    def __call__(self, y_true, y_pred) -> float:
        return self._value(y_true, y_pred)

    def gradient(self, y_true, y_pred):
        """Derivative of the batch-averaged loss with respect to ``y_pred``."""
        return self._gradient(y_true, y_pred)

    def __repr__(self):
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    name = "mean_squared_error"
    _value = staticmethod(mean_squared_error)
    _gradient = staticmethod(mean_squared_error_gradient)


class _WithLogits(Loss):
    def __init__(self, *, from_logits: bool = False):
        if not isinstance(from_logits, bool):
            raise TypeError(f"from_logits expected a bool. Received: {from_logits!r}")
        self.from_logits = from_logits

    def __call__(self, y_true, y_pred) -> float:
        return self._value(y_true, y_pred, from_logits=self.from_logits)

    def gradient(self, y_true, y_pred):
        return self._gradient(y_true, y_pred, from_logits=self.from_logits)

    def __repr__(self):
        return f"{type(self).__name__}(from_logits={self.from_logits})"


class BinaryCrossentropy(_WithLogits):
    name = "binary_crossentropy"
    _value = staticmethod(binary_crossentropy)
    _gradient = staticmethod(binary_crossentropy_gradient)


class CategoricalCrossentropy(_WithLogits):
    name = "categorical_crossentropy"
    _value = staticmethod(categorical_crossentropy)
    _gradient = staticmethod(categorical_crossentropy_gradient)


class SparseCategoricalCrossentropy(_WithLogits):
    name = "sparse_categorical_crossentropy"
    _value = staticmethod(sparse_categorical_crossentropy)
    _gradient = staticmethod(sparse_categorical_crossentropy_gradient)


_REGISTRY = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier) -> Loss:
    """Return a :class:`Loss` by name (``"mse"``, ``"binary_crossentropy"``, ...), or pass one through."""
    if isinstance(identifier, Loss):
        return identifier
    return _REGISTRY[one_of(identifier, "loss", _REGISTRY)]()
