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

All three take ``sample_weight``, one weight per sample, as Keras's ``Loss.__call__``:
the per-sample values are multiplied by it before the reduction, and
``"sum_over_batch_size"`` still divides by the number of samples (not by the sum of the
weights). The cross-entropies ``BinaryCrossentropy`` and ``CategoricalCrossentropy`` take
``label_smoothing`` as in Keras (the sparse one has none, as in Keras).

Probabilities are clipped to :math:`[\epsilon, 1-\epsilon]` with :math:`\epsilon = 10^{-7}`
as in Keras, and the gradient is zero where the clip is active (the bounds themselves pass
the gradient, as TensorFlow's ``clip_by_value`` does); the ``from_logits=True`` forms are
the numerically stable ones and should be preferred (chapter 09). The clipped forms are
what a probability from elsewhere gets (a NumPy array, the output of
:func:`nnlib.activations.sigmoid`). A :class:`~nnlib.model.Sequential` model whose last
layer is a sigmoid (softmax) and whose compiled loss is a binary (categorical or sparse
categorical) cross-entropy does what Keras does with its cached logits: it computes the
loss from the last layer's logits, so nothing is clipped (see
:meth:`nnlib.model.Sequential.compile`).

Bad input (CONTRIBUTING, "Bad input"): ``y_true`` and ``sample_weight`` are data and must
be numeric, finite and non-empty; ``y_pred`` is a computed value and may hold inf or NaN
(the loss is then inf or NaN, as in Keras), but must be numeric and non-empty.
"""
from __future__ import annotations

import numpy as np

import copy

from nnlib._validation import as_float_array, check_finite, check_non_empty, flag, fraction, one_of, positive_float

EPSILON = 1e-7
REDUCTIONS = ("sum_over_batch_size", "sum", "none")


def _pair(y_true, y_pred, name):
    """Validate a (y_true, y_pred) pair and give both the same shape.

    Like Keras, a trailing axis of length 1 on one side is matched by adding it to the
    other side when that side is 1-D, and by dropping it otherwise.
    """
    y_pred = as_float_array(y_pred, "y_pred", min_ndim=1)
    check_non_empty(y_pred, "y_pred")
    y_true = as_float_array(y_true, "y_true")
    check_finite(y_true, "y_true")
    y_true = y_true.astype(y_pred.dtype)
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

def _bce_terms(y_true, y_pred, from_logits):
    """The binary cross-entropy of every entry and its derivative (no mean over the last axis)."""
    from nnlib.activations import sigmoid

    if from_logits:
        z = y_pred
        values = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
        return values, sigmoid(z) - y_true
    # tf.clip_by_value passes the gradient at the bounds themselves: inclusive
    inside = (y_pred >= EPSILON) & (y_pred <= 1.0 - EPSILON)
    p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
    values = -(y_true * np.log(p) + (1.0 - y_true) * np.log(1.0 - p))
    return values, np.where(inside, (p - y_true) / (p * (1.0 - p)), 0.0)


def _smooth_binary(y_true, label_smoothing):
    """Keras's order and constants: y (1 - s) + s/2."""
    return y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing if label_smoothing else y_true


def _per_sample_bce(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    values, gradient = _bce_terms(_smooth_binary(y_true, label_smoothing), y_pred, from_logits)
    return np.mean(values, axis=-1), gradient / _width(y_pred)


def _per_sample_focal(y_true, y_pred, from_logits=False, label_smoothing=0.0, gamma=2.0,
                      apply_class_balancing=False, alpha=0.25):
    r"""Keras's ``binary_focal_crossentropy``: :math:`w\,(1-p_t)^\gamma\,\mathrm{bce}`, averaged over the last axis.

    :math:`q = 1 - p_t = y(1-p) + (1-y)p` uses the unclipped probability :math:`p` (the
    sigmoid of the logits), the cross-entropy term is :func:`_bce_terms`'s (stable from
    logits, clipped from probabilities), and :math:`w = \alpha y + (1-\alpha)(1-y)` with
    balancing, else 1. By the product rule, with :math:`dq/dp = 1 - 2y`,

    .. math:: \frac{\partial \ell}{\partial p} = w\left[\gamma q^{\gamma-1}(1-2y)\,\mathrm{bce}
              + q^\gamma \frac{\partial\,\mathrm{bce}}{\partial p}\right],

    and from logits :math:`dp/dz = p(1-p)` multiplies the first term (the second is already
    :math:`q^\gamma(p - y)`). :math:`\gamma q^{\gamma-1}` is taken as 0 where :math:`q = 0`.
    """
    from nnlib.activations import sigmoid

    y_true = _smooth_binary(y_true, label_smoothing)
    bce, bce_gradient = _bce_terms(y_true, y_pred, from_logits)
    p = sigmoid(y_pred) if from_logits else y_pred
    q = y_true + p - 2.0 * y_true * p
    weight = alpha * y_true + (1.0 - alpha) * (1.0 - y_true) if apply_class_balancing else 1.0
    factor = q ** gamma
    if gamma == 0:
        slope = np.zeros_like(q)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(q > 0, gamma * q ** (gamma - 1.0), 0.0)
    dfactor = slope * (1.0 - 2.0 * y_true) * (p * (1.0 - p) if from_logits else 1.0)
    gradient = weight * (dfactor * bce + factor * bce_gradient)
    return np.mean(weight * factor * bce, axis=-1), gradient / _width(y_pred)


def _log_softmax(z):
    """:math:`z - \\log\\sum e^{z}` by the log-sum-exp trick (shift by the maximum first)."""
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _per_sample_cce(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    if label_smoothing:  # Keras's order and constants: y (1 - s) + s/K, s/K in y_pred's dtype
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.dtype.type(_width(y_pred))
    if from_logits:
        log_p = _log_softmax(y_pred)
        values = -np.sum(y_true * log_p, axis=-1)
        # the true derivative, softmax * sum(y) - y; TensorFlow's softmax_cross_entropy_with_logits
        # returns softmax - y, which equals it only for label rows that sum to 1
        gradient = np.exp(log_p) * np.sum(y_true, axis=-1, keepdims=True) - y_true
        return values, gradient
    total = np.sum(y_pred, axis=-1, keepdims=True)
    p = y_pred / total  # Keras renormalises rows, then clips
    inside = (p >= EPSILON) & (p <= 1.0 - EPSILON)  # inclusive, as tf.clip_by_value
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
    # at margin 0 the gradient goes through, as TensorFlow's gradient of maximum (x >= y) sends it
    return values, np.where(margin >= 0, -y_true, 0.0) / _width(y_pred)


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
    check_non_empty(y_pred, "y_pred")
    y_true = as_float_array(y_true, "y_true", min_ndim=1)
    check_finite(y_true, "y_true")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"{name} expected one label per row of y_pred. "
            f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
        )
    return _one_hot(y_true, y_pred.shape[1], y_pred.dtype), y_pred


# --- reductions and the public functions ----------------------------------------------

def _sample_weight(sample_weight, shape, dtype, name):
    """Validate ``sample_weight`` against the per-sample values' ``shape``.

    Accepted: a scalar, an array of ``shape`` (one weight per sample), or ``shape + (1,)``
    (Keras's ``squeeze_or_expand_to_same_rank`` drops that axis). Weights are data: finite
    and >= 0.
    """
    weights = as_float_array(sample_weight, "sample_weight")
    check_finite(weights, "sample_weight")
    if weights.ndim == len(shape) + 1 and weights.shape[-1] == 1:
        weights = weights[..., 0]
    if weights.ndim and not shape:
        raise ValueError(
            f"{name} expected a scalar sample_weight: a 1-D y_pred is one sample, as in Keras (give y_pred the "
            f"shape (batch, 1) for one weight per row). Received: sample_weight.shape={np.shape(sample_weight)}"
        )
    if weights.ndim and weights.shape != tuple(shape):
        raise ValueError(
            f"{name} expected sample_weight of shape {tuple(shape)} (one weight per sample) or a scalar. "
            f"Received: sample_weight.shape={np.shape(sample_weight)}"
        )
    if np.any(weights < 0):
        raise ValueError(f"{name} expected sample weights >= 0. Received: min(sample_weight)={float(np.min(weights))}")
    return weights.astype(dtype, copy=False)


def _reduce(per_sample, y_true, y_pred, reduction, *, sparse=False, name="loss", sample_weight=None, **options):
    """Per-sample values and gradient, weighted and reduced as Keras does it.

    ``values * sample_weight``, then ``"sum_over_batch_size"``: their sum over the number of
    samples (Keras divides by the batch size, not by the sum of the weights).
    """
    y_true, paired = (_sparse_pair if sparse else _pair)(y_true, y_pred, name)
    values, gradient = per_sample(y_true, paired, **options)
    if sample_weight is not None:
        weights = _sample_weight(sample_weight, values.shape, values.dtype, name)
        values = values * weights
        gradient = gradient * (weights[..., None] if weights.ndim else weights)
    gradient = gradient.reshape(np.shape(y_pred))  # undo _pair's matching of a trailing axis
    if reduction == "none":
        return values, gradient
    if reduction == "sum":
        return float(np.sum(values)), gradient
    count = max(np.size(values), 1)
    return float(np.sum(values)) / count, gradient / count


_SAMPLE_WEIGHT_DOC = """

    ``sample_weight`` (optional, keyword): one weight >= 0 per sample (or a scalar); the
    per-sample values are multiplied by it and the sum is still divided by the number of
    samples, as in Keras."""


def _define(per_sample, name, *, sparse=False, doc=""):
    """Make the function pair ``name`` / ``name_gradient`` (batch mean) for one loss."""

    def value(y_true, y_pred, *, sample_weight=None, **options) -> float:
        return _reduce(per_sample, y_true, y_pred, "sum_over_batch_size", sparse=sparse, name=name,
                       sample_weight=sample_weight, **options)[0]

    def gradient(y_true, y_pred, *, sample_weight=None, **options):
        return _reduce(per_sample, y_true, y_pred, "sum_over_batch_size", sparse=sparse, name=name,
                       sample_weight=sample_weight, **options)[1]

    value.__name__, gradient.__name__ = name, f"{name}_gradient"
    value.__doc__ = doc + _SAMPLE_WEIGHT_DOC if doc else doc
    gradient.__doc__ = f"Gradient of :func:`{name}` (the batch mean) with respect to ``y_pred``." + _SAMPLE_WEIGHT_DOC
    return value, gradient


mean_squared_error, mean_squared_error_gradient = _define(
    _per_sample_mse, "mean_squared_error",
    doc=r"Mean squared error :math:`\frac{1}{ND}\sum_{n,d}(\hat y_{nd}-y_{nd})^2`, as ``keras.losses.MeanSquaredError``.")
mean_absolute_error, mean_absolute_error_gradient = _define(
    _per_sample_mae, "mean_absolute_error",
    doc=r"Mean absolute error :math:`\frac{1}{ND}\sum_{n,d}|\hat y_{nd}-y_{nd}|`; its gradient is the sign of the error (0 at 0).")
_huber, _huber_gradient = _define(_per_sample_huber, "huber")


def huber(y_true, y_pred, delta: float = 1.0, *, sample_weight=None) -> float:
    r"""Huber loss: :math:`\tfrac12 e^2` for :math:`|e| \le \delta`, else :math:`\delta|e| - \tfrac12\delta^2`
    (:math:`e = \hat y - y`), averaged like MSE; ``keras.losses.Huber(delta)``."""
    return _huber(y_true, y_pred, delta=positive_float(delta, "delta"), sample_weight=sample_weight)


def huber_gradient(y_true, y_pred, delta: float = 1.0, *, sample_weight=None):
    r""":math:`e` inside :math:`[-\delta, \delta]`, :math:`\delta\,\mathrm{sign}(e)` outside, over :math:`ND`."""
    return _huber_gradient(y_true, y_pred, delta=positive_float(delta, "delta"), sample_weight=sample_weight)


_bce, _bce_gradient = _define(_per_sample_bce, "binary_crossentropy")
_cce, _cce_gradient = _define(_per_sample_cce, "categorical_crossentropy")
_scce, _scce_gradient = _define(_per_sample_sparse_cce, "sparse_categorical_crossentropy", sparse=True)
_focal, _focal_gradient = _define(_per_sample_focal, "binary_focal_crossentropy")


def _logits_flag(from_logits):
    if not isinstance(from_logits, (bool, np.bool_)):
        raise TypeError(f"from_logits expected a bool. Received: {from_logits!r}")
    return bool(from_logits)


def _smoothing(label_smoothing) -> float:
    """Keras's ``label_smoothing``: a number in [0, 1]."""
    return fraction(label_smoothing, "label_smoothing")


def binary_crossentropy(y_true, y_pred, *, from_logits: bool = False, label_smoothing: float = 0.0,
                        sample_weight=None) -> float:
    r"""Mean of :math:`-[y\log p + (1-y)\log(1-p)]`.

    With ``from_logits=True``, ``y_pred`` holds logits :math:`z` and the stable form
    :math:`\max(z,0) - z y + \log(1+e^{-|z|})` is used. Probabilities are clipped to
    :math:`[10^{-7}, 1 - 10^{-7}]` (a model's sigmoid output is not: see the module notes).

    ``label_smoothing`` :math:`s \in [0, 1]` replaces the targets by :math:`y(1 - s) + s/2`,
    as ``keras.losses.BinaryCrossentropy(label_smoothing=s)``.
    """
    return _bce(y_true, y_pred, from_logits=_logits_flag(from_logits), label_smoothing=_smoothing(label_smoothing),
                sample_weight=sample_weight)


def binary_crossentropy_gradient(y_true, y_pred, *, from_logits: bool = False, label_smoothing: float = 0.0,
                                 sample_weight=None):
    r"""From logits: :math:`(\sigma(z) - y)/n`. From probabilities:
    :math:`(p - y)/(p(1-p)\,n)`, and 0 where Keras's clipping is active (strictly beyond the
    bounds; at :math:`p = 10^{-7}` or :math:`1 - 10^{-7}` the gradient passes, as in TensorFlow)."""
    return _bce_gradient(y_true, y_pred, from_logits=_logits_flag(from_logits),
                         label_smoothing=_smoothing(label_smoothing), sample_weight=sample_weight)


def _focal_options(from_logits, label_smoothing, gamma, apply_class_balancing, alpha) -> dict:
    return {"from_logits": _logits_flag(from_logits), "label_smoothing": _smoothing(label_smoothing),
            "gamma": positive_float(gamma, "gamma", allow_zero=True),
            "apply_class_balancing": flag(apply_class_balancing, "apply_class_balancing"),
            "alpha": fraction(alpha, "alpha")}


def binary_focal_crossentropy(y_true, y_pred, *, gamma: float = 2.0, apply_class_balancing: bool = False,
                              alpha: float = 0.25, from_logits: bool = False, label_smoothing: float = 0.0,
                              sample_weight=None) -> float:
    r"""Focal loss (Lin et al., 2017), as ``keras.losses.BinaryFocalCrossentropy``.

    The mean of :math:`w\,(1 - p_t)^\gamma\,\mathrm{bce}(y, p)` with
    :math:`p_t = y p + (1-y)(1-p)`: the factor :math:`(1-p_t)^\gamma` scales down the loss
    of examples that are already classified well, so training concentrates on the hard
    ones; :math:`\gamma = 0` is the plain :func:`binary_crossentropy`. With
    ``apply_class_balancing=True`` each entry is also weighted by
    :math:`w = \alpha` for positives and :math:`1 - \alpha` for negatives (Keras's default
    :math:`\alpha = 0.25` is the paper's, which weights the *negatives* more, because the
    focal factor has already down-weighted the many easy ones).

    Keras's choices, followed here: ``label_smoothing`` :math:`s` first turns the targets into
    :math:`y(1-s) + s/2`; the cross-entropy term is clipped to :math:`[10^{-7}, 1-10^{-7}]`
    from probabilities and the stable logits form from logits, but :math:`p_t` uses the
    unclipped probability. A :class:`~nnlib.model.Sequential` with a sigmoid last layer
    computes it from that layer's logits, as Keras does.
    """
    return _focal(y_true, y_pred, sample_weight=sample_weight,
                  **_focal_options(from_logits, label_smoothing, gamma, apply_class_balancing, alpha))


def binary_focal_crossentropy_gradient(y_true, y_pred, *, gamma: float = 2.0, apply_class_balancing: bool = False,
                                       alpha: float = 0.25, from_logits: bool = False, label_smoothing: float = 0.0,
                                       sample_weight=None):
    r"""Gradient of :func:`binary_focal_crossentropy` with respect to ``y_pred``.

    With :math:`q = 1 - p_t` and :math:`dq/dp = 1 - 2y`, from logits it is
    :math:`w\,[\gamma q^{\gamma-1}(1-2y)\,p(1-p)\,\mathrm{bce} + q^\gamma (p - y)] / n`;
    from probabilities the last factor is :math:`(p - y)/(p(1-p))` (0 where the clip is
    active) and :math:`p(1-p)` drops out of the first term.
    """
    return _focal_gradient(y_true, y_pred, sample_weight=sample_weight,
                           **_focal_options(from_logits, label_smoothing, gamma, apply_class_balancing, alpha))


def class_weight_to_sample_weight(y, class_weight) -> np.ndarray:
    """One weight per sample from a ``{class index: weight}`` dict, as Keras's ``model.fit(class_weight=...)``.

    Labels are read as Keras's ``class_weight_to_sample_weights`` reads them: a one-hot (or
    probability) row by its arg-max, a column ``(n, 1)`` or a vector ``(n,)`` by rounding
    (``np.round``); a class missing from the dict gets weight 1. The result is the
    ``sample_weight`` Keras then uses: each batch's loss is ``sum(w * loss) / batch_size``.

    Parameters
    ----------
    y : array (n,), (n, 1) or (n, classes) of targets (data: numeric, finite, non-empty)
    class_weight : dict mapping int class indices to weights >= 0

    Returns
    -------
    ndarray (n,), float64
    """
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight expected a dict {{class index: weight}}. Received: {type(class_weight).__name__}")
    table = {}
    for key, weight in class_weight.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
            raise TypeError(f"class_weight expected integer class indices as keys. Received: key {key!r}")
        if isinstance(weight, (bool, np.bool_)) or not isinstance(weight, (int, float, np.integer, np.floating)):
            raise TypeError(f"class_weight expected numbers as weights. Received: class_weight[{key}]={weight!r}")
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"class_weight expected finite weights >= 0. Received: class_weight[{key}]={weight}")
        table[int(key)] = float(weight)
    labels = as_float_array(y, "y", min_ndim=1)
    check_non_empty(labels, "y")
    check_finite(labels, "y")
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    labels = np.round(labels).astype(np.int64).reshape(len(labels), -1)[:, 0] if labels.ndim > 1 else np.round(labels).astype(np.int64)
    return np.array([table.get(int(label), 1.0) for label in labels], dtype=np.float64)


def categorical_crossentropy(y_true, y_pred, *, from_logits: bool = False, label_smoothing: float = 0.0,
                             sample_weight=None) -> float:
    r"""Batch mean of :math:`-\sum_k y_k \log p_k` (one-hot or soft targets).

    Probabilities are first renormalised to sum to 1 and clipped, as in Keras; logits go
    through a log-softmax (log-sum-exp), which cannot overflow. ``label_smoothing``
    :math:`s \in [0, 1]` replaces the targets by :math:`y(1 - s) + s/K` for :math:`K`
    classes, as ``keras.losses.CategoricalCrossentropy(label_smoothing=s)``.
    """
    return _cce(y_true, y_pred, from_logits=_logits_flag(from_logits), label_smoothing=_smoothing(label_smoothing),
                sample_weight=sample_weight)


def categorical_crossentropy_gradient(y_true, y_pred, *, from_logits: bool = False, label_smoothing: float = 0.0,
                                      sample_weight=None):
    r"""From logits: :math:`(\mathrm{softmax}(z)\sum_k y_k - y)/N`. From probabilities: the
    gradient through the renormalisation :math:`p/\sum p` and the clipping.

    Notes
    -----
    From logits this is the true derivative of the loss, whatever the targets. TensorFlow's
    ``softmax_cross_entropy_with_logits`` (behind Keras's loss) returns
    :math:`\mathrm{softmax}(z) - y` instead, which assumes every target row sums to 1: for
    rows that do not (unnormalised soft targets), Keras's gradient differs from the
    derivative of Keras's own loss value by :math:`\mathrm{softmax}(z)(\sum_k y_k - 1)/N`.
    nnlib keeps the true derivative. One-hot targets, and smoothed ones, sum to 1, where the
    two agree. With TensorFlow's op determinism on (``tf.config.experimental.enable_op_determinism``,
    which :func:`nnlib.keras_bridge.seed_backend` turns on for the whole process), TensorFlow
    differentiates a deterministic composite instead and returns the true derivative too.
    """
    return _cce_gradient(y_true, y_pred, from_logits=_logits_flag(from_logits),
                         label_smoothing=_smoothing(label_smoothing), sample_weight=sample_weight)


def sparse_categorical_crossentropy(y_true, y_pred, *, from_logits: bool = False, sample_weight=None) -> float:
    """Categorical cross-entropy with integer labels ``y_true`` of shape ``(batch,)``."""
    return _scce(y_true, y_pred, from_logits=_logits_flag(from_logits), sample_weight=sample_weight)


def sparse_categorical_crossentropy_gradient(y_true, y_pred, *, from_logits: bool = False, sample_weight=None):
    """Gradient of :func:`sparse_categorical_crossentropy` with respect to ``y_pred``."""
    return _scce_gradient(y_true, y_pred, from_logits=_logits_flag(from_logits), sample_weight=sample_weight)


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

    Calling ``loss(y_true, y_pred, sample_weight=None)`` and
    ``loss.gradient(y_true, y_pred, sample_weight=None)``: ``sample_weight`` holds one
    weight >= 0 per sample (or a scalar), which multiplies the per-sample values before the
    reduction, as Keras's ``Loss.__call__``.
    """

    name = "loss"
    _per_sample = None
    _sparse = False

    def __init__(self, *, reduction: str = "sum_over_batch_size"):
        self.reduction = one_of(reduction, "reduction", REDUCTIONS)

    def _options(self) -> dict:
        return {}

    def __call__(self, y_true, y_pred, sample_weight=None):
        return self._evaluate(y_true, y_pred, sample_weight)[0]

    def gradient(self, y_true, y_pred, sample_weight=None):
        """Derivative of the reduced loss with respect to ``y_pred`` (same shape as ``y_pred``)."""
        return self._evaluate(y_true, y_pred, sample_weight)[1]

    def _evaluate(self, y_true, y_pred, sample_weight=None):
        """``(value, gradient)`` in one pass (what a training step needs)."""
        return _reduce(type(self)._per_sample, y_true, y_pred, self.reduction, sparse=self._sparse, name=self.name,
                       sample_weight=sample_weight, **self._options())

    def __repr__(self):
        options = [f"{key}={value!r}" for key, value in self._options().items()
                   if not (key == "label_smoothing" and value == 0)]
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
    """A cross-entropy: ``from_logits`` says whether ``y_pred`` holds logits or probabilities."""

    def __init__(self, *, from_logits: bool = False, reduction: str = "sum_over_batch_size"):
        super().__init__(reduction=reduction)
        self.from_logits = _logits_flag(from_logits)

    def _options(self):
        return {"from_logits": self.from_logits}

    def with_logits(self) -> _WithLogits:
        """The same loss (reduction, label smoothing) computed from logits.

        :class:`~nnlib.model.Sequential` uses it for a sigmoid or softmax last layer, as Keras
        uses the logits it caches on such a layer's output.
        """
        twin = copy.copy(self)
        twin.from_logits = True
        return twin


class _SmoothedCrossentropy(_WithLogits):
    def __init__(self, *, from_logits: bool = False, label_smoothing: float = 0.0, reduction: str = "sum_over_batch_size"):
        super().__init__(from_logits=from_logits, reduction=reduction)
        self.label_smoothing = _smoothing(label_smoothing)

    def _options(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


class BinaryCrossentropy(_SmoothedCrossentropy):
    """Binary cross-entropy, as ``keras.losses.BinaryCrossentropy``.

    Parameters
    ----------
    from_logits : bool, default False
    label_smoothing : float in [0, 1], default 0
        Targets become :math:`y(1 - s) + s/2`.
    reduction : see :class:`Loss`
    """

    name = "binary_crossentropy"
    _per_sample = staticmethod(_per_sample_bce)


class BinaryFocalCrossentropy(_SmoothedCrossentropy):
    """Focal loss, as ``keras.losses.BinaryFocalCrossentropy`` (see :func:`binary_focal_crossentropy`).

    Parameters
    ----------
    apply_class_balancing : bool, default False
    alpha : float in [0, 1], default 0.25
        Weight of the positives when balancing (``1 - alpha`` for the negatives).
    gamma : float >= 0, default 2
        The focusing parameter; 0 gives :class:`BinaryCrossentropy`.
    from_logits : bool, default False
    label_smoothing : float in [0, 1], default 0
    reduction : see :class:`Loss`
    """

    name = "binary_focal_crossentropy"
    _per_sample = staticmethod(_per_sample_focal)

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0, *,
                 from_logits: bool = False, label_smoothing: float = 0.0, reduction: str = "sum_over_batch_size"):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, reduction=reduction)
        options = _focal_options(from_logits, label_smoothing, gamma, apply_class_balancing, alpha)
        self.gamma, self.apply_class_balancing, self.alpha = options["gamma"], options["apply_class_balancing"], options["alpha"]

    def _options(self):
        return {**super()._options(), "gamma": self.gamma, "apply_class_balancing": self.apply_class_balancing,
                "alpha": self.alpha}


class CategoricalCrossentropy(_SmoothedCrossentropy):
    r"""Categorical cross-entropy, as ``keras.losses.CategoricalCrossentropy``.

    Parameters
    ----------
    from_logits : bool, default False
    label_smoothing : float in [0, 1], default 0
        Targets become :math:`y(1 - s) + s/K` for :math:`K` classes.
    reduction : see :class:`Loss`

    Notes
    -----
    From logits, the gradient is the true derivative :math:`\mathrm{softmax}(z)\sum_k y_k - y`;
    TensorFlow's is :math:`\mathrm{softmax}(z) - y`, equal only for target rows that sum to 1
    (see :func:`categorical_crossentropy_gradient`).
    """

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
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
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


# --- contrastive: InfoNCE ------------------------------------------------------------

def _embedding_pair(z_a, z_b, name):
    """Two embedding batches of one shape ``(N, D)``, ``N >= 2`` (one positive, at least one negative).

    Embeddings are computed values (an encoder's output): checked for type and shape only.
    """
    z_a = as_float_array(z_a, "z_a", ndim=2)
    z_b = as_float_array(z_b, "z_b", ndim=2)
    if z_a.shape != z_b.shape:
        raise ValueError(f"{name} expected z_a and z_b of the same shape (N, D). "
                         f"Received: z_a.shape={z_a.shape}, z_b.shape={z_b.shape}")
    if z_a.shape[0] < 2 or z_a.shape[1] < 1:
        raise ValueError(f"{name} expected at least 2 rows (a positive and a negative) and 1 column. "
                         f"Received: z_a.shape={z_a.shape}")
    dtype = np.result_type(z_a.dtype, z_b.dtype)
    return z_a.astype(dtype, copy=False), z_b.astype(dtype, copy=False)


def _info_nce(z_a, z_b, temperature, normalize, symmetric, name="info_nce"):
    """Loss value and gradients ``(loss, d_z_a, d_z_b)``; the derivation is in :func:`info_nce_gradient`."""
    z_a, z_b = _embedding_pair(z_a, z_b, name)
    temperature = positive_float(temperature, "temperature")
    normalize, symmetric = _flag(normalize, "normalize"), _flag(symmetric, "symmetric")
    if normalize:
        norm_a = np.linalg.norm(z_a, axis=1, keepdims=True)
        norm_b = np.linalg.norm(z_b, axis=1, keepdims=True)
        if np.any(norm_a == 0) or np.any(norm_b == 0):
            raise ValueError(f"{name} expected no all-zero rows with normalize=True (they have no direction). "
                             f"Received: {int(np.sum(norm_a == 0) + np.sum(norm_b == 0))} zero rows")
        u, v = z_a / norm_a, z_b / norm_b
    else:
        u, v = z_a, z_b
    n = u.shape[0]
    logits = (u @ v.T) / z_a.dtype.type(temperature)  # logits[i, j] = sim(a_i, b_j) / tau
    eye = np.eye(n, dtype=logits.dtype)
    log_p_rows = _log_softmax(logits)  # a_i picks its b among all b_j
    loss = -np.mean(np.diag(log_p_rows))
    d_logits = (np.exp(log_p_rows) - eye) / n
    if symmetric:  # and b_j picks its a among all a_i (CLIP), averaged
        log_p_cols = _log_softmax(logits.T)
        loss = 0.5 * (loss - np.mean(np.diag(log_p_cols)))
        d_logits = 0.5 * (d_logits + (np.exp(log_p_cols).T - eye) / n)
    d_u = d_logits @ v / temperature
    d_v = d_logits.T @ u / temperature
    if normalize:  # through u = z / |z|: (I - u u^T) / |z|
        d_u = (d_u - u * np.sum(u * d_u, axis=1, keepdims=True)) / norm_a
        d_v = (d_v - v * np.sum(v * d_v, axis=1, keepdims=True)) / norm_b
    return float(loss), d_u.astype(z_a.dtype, copy=False), d_v.astype(z_a.dtype, copy=False)


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} expected a bool. Received: {value!r}")
    return bool(value)


def info_nce(z_a, z_b, *, temperature: float = 0.1, normalize: bool = True, symmetric: bool = False) -> float:
    r"""InfoNCE contrastive loss with in-batch negatives (Oord et al. 2018; used in chapter 39).

    Row :math:`i` of ``z_a`` and row :math:`i` of ``z_b`` are two views of one sample (the
    positive pair); the other :math:`N-1` rows of ``z_b`` are the negatives of :math:`a_i`.
    With :math:`u_i = a_i/\lVert a_i\rVert`, :math:`v_j = b_j/\lVert b_j\rVert` (cosine
    similarity; ``normalize=False`` uses the raw dot product) and temperature :math:`\tau`,

    .. math::

        s_{ij} = \frac{u_i^\top v_j}{\tau}, \qquad
        L_{a\to b} = \frac1N \sum_{i=1}^{N}
            \Bigl[-s_{ii} + \log \sum_{j=1}^{N} e^{s_{ij}}\Bigr],

    the mean cross-entropy of an :math:`N`-way classification whose logits are row
    :math:`i` of :math:`S` and whose correct class is :math:`i`: exactly
    ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)(arange(N), S)`` (or
    ``tf.nn.softmax_cross_entropy_with_logits(eye(N), S)`` averaged).

    Parameters
    ----------
    z_a, z_b : array of shape (N, D), N >= 2
        Embeddings of the two views; float32 stays float32. Computed values: checked for
        type and shape only (an all-zero row is refused when ``normalize=True``).
    temperature : float > 0, default 0.1
    normalize : bool, default True
        L2-normalise the rows first (cosine similarity), as SimCLR and CLIP do.
    symmetric : bool, default False
        ``False``: the one-directional :math:`L_{a\to b}` above (CPC's InfoNCE: each
        :math:`a_i` has :math:`N-1` negatives, all from ``z_b``). ``True``:
        :math:`\tfrac12 (L_{a\to b} + L_{b\to a})`, where :math:`L_{b\to a}` uses the
        columns of :math:`S` (:math:`b_j` picks its :math:`a`): CLIP's loss (Radford et al. 2021).

    Returns
    -------
    float
        The mean loss. It lies in :math:`[0, \infty)`; for identical embeddings (all
        :math:`s_{ij}` equal) it is exactly :math:`\log N`, and InfoNCE bounds the mutual
        information of the views by :math:`I \ge \log N - L`.

    Notes
    -----
    *Relation to SimCLR's NT-Xent* (Chen et al. 2020). NT-Xent stacks the :math:`2N`
    views and gives each anchor :math:`2N-2` negatives: the other sample's views from
    *both* ``z_a`` and ``z_b``. Its denominator for anchor :math:`a_i` is
    :math:`\sum_{j} e^{s^{ab}_{ij}} + \sum_{k\ne i} e^{s^{aa}_{ik}}`, which also holds the
    same-view similarities :math:`s^{aa}_{ik} = u_i^\top u_k/\tau`, and the loss averages
    over all :math:`2N` anchors. This function with ``symmetric=True`` averages over the
    same :math:`2N` anchors but uses only the :math:`N-1` cross-view negatives of each:
    NT-Xent is it with the same-view logits (diagonal masked) appended to each row. The two
    are equal only if those same-view terms are dropped; NT-Xent's loss is always the larger
    one (its denominators have more terms).
    """
    return _info_nce(z_a, z_b, temperature, normalize, symmetric)[0]


def info_nce_gradient(z_a, z_b, *, temperature: float = 0.1, normalize: bool = True, symmetric: bool = False):
    r"""Gradients ``(dL/dz_a, dL/dz_b)`` of :func:`info_nce`, each of shape (N, D).

    With :math:`P = \mathrm{softmax}_\text{rows}(S)` the gradient with respect to the logits
    is :math:`G = (P - I)/N` (``symmetric=True``: the mean of that and
    :math:`(\mathrm{softmax}_\text{columns}(S) - I)/N`), so

    .. math::

        \frac{\partial L}{\partial u} = \frac{G V}{\tau}, \qquad
        \frac{\partial L}{\partial v} = \frac{G^\top U}{\tau},

    and through the normalisation :math:`u = a/\lVert a\rVert`, whose Jacobian is
    :math:`(I - u u^\top)/\lVert a\rVert`,
    :math:`\partial L/\partial a_i = (g_i - u_i (u_i^\top g_i))/\lVert a_i\rVert` with
    :math:`g_i = \partial L/\partial u_i` (the part along :math:`a_i` vanishes: the loss does
    not depend on the length of an embedding). Equal to ``tf.GradientTape`` on the TF form.
    """
    _, d_a, d_b = _info_nce(z_a, z_b, temperature, normalize, symmetric)
    return d_a, d_b
