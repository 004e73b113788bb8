r"""Attributions for nnlib models with analytic gradients: saliency, integrated gradients, occlusion.

An *attribution* gives every input element a number that says how much it contributed to one
chosen output :math:`f_c(x)` of a model (the *target*, e.g. a class score). Three methods,
used in chapter 35:

- :func:`saliency`: the input gradient :math:`\partial f_c/\partial x` (Simonyan et al. 2014),
  by one forward and one backward pass of the one-hot upstream gradient :math:`e_c`
  (:func:`input_gradient`, the hook the others build on);
- :func:`integrated_gradients`: the gradient averaged along the straight path from a baseline
  :math:`x'` to :math:`x`, times :math:`x - x'` (Sundararajan et al. 2017); its attributions
  sum to :math:`f_c(x) - f_c(x')` (*completeness*) up to the error of the quadrature;
- :func:`occlusion`: the drop of :math:`f_c` when a window of the input is replaced by a
  baseline value (Zeiler & Fergus 2014); no gradients needed.

Models are :class:`~nnlib.model.Sequential` stacks whose outputs have shape
``(batch, outputs)``; the inputs ``x`` have a batch axis first (``(batch, features)`` for an
MLP, ``(batch, height, width, channels)`` for a CNN). Inputs are run in inference mode
(``training=False``: dropout off, batch normalisation with its moving statistics), which is
what ``model(x, training=False)`` in Keras differentiates. With ``logits=True`` the target is
the last layer's pre-activation :math:`z_c` (the logit before a softmax or sigmoid) instead of
the output. Grad-CAM needs the feature maps of a convolutional layer and is written with
``tf.GradientTape`` on a Keras CNN in chapter 35.

Correspondence: ``tf.GradientTape`` on ``keras_bridge.to_keras(model)`` gives the same
saliency and, with the same path points, the same integrated gradients (tested); Captum's
``Saliency(abs=True)``, ``IntegratedGradients`` (``method="riemann_trapezoid"``, ...) and
``Occlusion`` (window averages as here) are the PyTorch namesakes.

Bad input (CONTRIBUTING, "Bad input"): ``x`` and ``baseline`` are data (numeric, non-empty,
finite); ``target``, ``steps``, ``method``, ``window`` and ``strides`` are parameters and are
validated, never coerced.
"""
from __future__ import annotations

import numbers
import itertools

import numpy as np

from nnlib._validation import data_array, flag, one_of, positive_int
from nnlib.model import Sequential

METHODS = ("left", "right", "midpoint", "trapezoid")


# --- checks ------------------------------------------------------------------------------

def _model(model, caller: str) -> Sequential:
    if not isinstance(model, Sequential):
        raise TypeError(f"{caller} expected an nnlib Sequential model. Received: {type(model).__name__}")
    return model


def _inputs(x, caller: str) -> np.ndarray:
    x = data_array(x, "x", min_ndim=2)
    if x.shape[0] == 0:  # pragma: no cover - data_array refuses empty arrays already
        raise ValueError(f"{caller} expected at least one input. Received: x.shape={x.shape}")
    return x


def _outputs(model, x, logits: bool, caller: str) -> np.ndarray:
    """Forward ``x`` (inference mode); the outputs, or the last layer's logits."""
    out = model.forward(x, training=False)
    if logits:
        last = model.layers[-1]
        if not hasattr(last, "cached_pre_activation") or not hasattr(last, "backward_pre_activation"):
            raise ValueError(
                f"{caller} expected a last layer with an activation (Dense) for logits=True. "
                f"Received: {last!r}"
            )
        out = last.cached_pre_activation()
    if out.ndim != 2:
        raise ValueError(f"{caller} expected a model with outputs of shape (batch, outputs). Received: outputs of shape {out.shape}")
    return out


def _targets(target, out: np.ndarray, caller: str) -> np.ndarray:
    """One output index per sample: ``target`` an int or one int per sample; None is the arg-max."""
    n, width = out.shape
    if target is None:
        return np.argmax(out, axis=1)
    if isinstance(target, (bool, np.bool_)):
        raise TypeError(f"target expected an integer output index or one per input. Received: target={target!r}")
    if isinstance(target, numbers.Integral):
        indices = np.full(n, int(target))
    else:
        try:
            indices = np.asarray(target)
        except Exception as error:  # pragma: no cover - numpy raises many types here
            raise TypeError(f"target expected an integer output index or one per input. Received: {type(target).__name__}") from error
        if indices.dtype.kind not in "iu":
            raise TypeError(f"target expected an integer output index or one per input. Received: dtype={indices.dtype}")
        if indices.shape != (n,):
            raise ValueError(f"target expected one output index per input. Received: target.shape={indices.shape}, {n} inputs")
    if np.any(indices < 0) or np.any(indices >= width):
        raise ValueError(
            f"target expected output indices in [0, {width}). Received: target in [{int(indices.min())}, {int(indices.max())}]"
        )
    return indices.astype(np.intp)


def _baseline(baseline, x: np.ndarray) -> np.ndarray:
    """The baseline as an array of ``x``'s shape: a number, one sample's shape, or ``x``'s shape."""
    value = data_array(baseline, "baseline")
    if value.shape not in ((), x.shape[1:], x.shape):
        raise ValueError(
            f"baseline expected a number or an array of shape {x.shape[1:]} or {x.shape}. Received: baseline.shape={value.shape}"
        )
    return np.broadcast_to(value, x.shape).astype(x.dtype if x.dtype == np.float32 else np.float64)


def _window(value, name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """An int (the same size on every axis of a sample) or one positive int per axis."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} expected a positive integer or a tuple of {len(shape)}. Received: {name}={value!r}")
    if isinstance(value, numbers.Integral):
        sizes = (value,) * len(shape)
    elif isinstance(value, (tuple, list)):
        sizes = tuple(value)
        if len(sizes) != len(shape):
            raise ValueError(f"{name} expected {len(shape)} sizes, one per axis of an input of shape {shape}. Received: {name}={value!r}")
    else:
        raise TypeError(f"{name} expected a positive integer or a tuple of {len(shape)}. Received: {type(value).__name__}")
    sizes = tuple(positive_int(size, name) for size in sizes)
    return sizes


# --- the hook: one forward, one backward ------------------------------------------------

def target_output(model: Sequential, x, target=None, *, logits: bool = False) -> np.ndarray:
    """The target output :math:`f_c(x_n)` of every input, shape ``(batch,)``.

    ``target`` is an output index (int), one per input, or None for each input's arg-max;
    with ``logits=True``, the last layer's pre-activation :math:`z_c` instead of the output.
    Used to check completeness: ``target_output(model, x, c) - target_output(model, x0, c)``.
    """
    model = _model(model, "target_output")
    x = _inputs(x, "target_output")
    logits = flag(logits, "logits")
    out = _outputs(model, x, logits, "target_output")
    return out[np.arange(len(x)), _targets(target, out, "target_output")].copy()


def input_gradient(model: Sequential, x, target=None, *, logits: bool = False) -> np.ndarray:
    r"""The gradient of the target output of each input with respect to that input.

    .. math:: g_n = \frac{\partial f_{c_n}(x_n)}{\partial x_n},

    computed as the back-propagation of the one-hot upstream gradient :math:`e_{c_n}` (row
    :math:`n`) through every layer after a forward pass in inference mode: one forward and one
    backward pass for the whole batch, since sample :math:`n`'s output depends on sample
    :math:`n`'s input only (in inference mode). ``tf.GradientTape`` on the Keras twin with
    ``tape.gradient(tf.reduce_sum(y * one_hot), x)`` computes the same.

    Parameters
    ----------
    model : Sequential
        Outputs of shape ``(batch, outputs)``.
    x : ndarray, shape (batch, ...)
        Inputs as the model takes them.
    target : int, ndarray of int of shape (batch,), or None
        The output index :math:`c_n` per input; None uses each input's arg-max output.
    logits : bool, default False
        Differentiate the last layer's pre-activation :math:`z_c` instead of its output.

    Returns
    -------
    ndarray, shape of ``x``
        The input gradients. The layers' ``grads`` are overwritten (a side effect of the
        backward pass; nothing is trained).
    """
    model = _model(model, "input_gradient")
    x = _inputs(x, "input_gradient")
    logits = flag(logits, "logits")
    return _input_gradient(model, x, target, logits, "input_gradient")[1]


def _input_gradient(model, x, target, logits, caller):
    out = _outputs(model, x, logits, caller)
    indices = _targets(target, out, caller)
    upstream = np.zeros_like(out)
    upstream[np.arange(len(x)), indices] = 1.0
    if logits:
        grad = model.layers[-1].backward_pre_activation(upstream)
        for layer in reversed(model.layers[:-1]):
            grad = layer.backward(grad)
    else:
        grad = model.backward(upstream)
    return out[np.arange(len(x)), indices], np.asarray(grad).reshape(x.shape), indices


# --- the three methods ------------------------------------------------------------------

def saliency(model: Sequential, x, target=None, *, logits: bool = False, absolute: bool = True) -> np.ndarray:
    r"""Gradient saliency (Simonyan, Vedaldi & Zisserman 2014): :math:`|\partial f_c/\partial x|`.

    Parameters
    ----------
    model, x, target, logits
        As in :func:`input_gradient`.
    absolute : bool, default True
        The magnitude of the gradient, as in Simonyan et al.; ``False`` returns the signed
        gradient (:func:`input_gradient`). For images with several channels, Simonyan et al.
        take the maximum of the magnitudes over the channels: ``saliency(...).max(axis=-1)``.

    Returns
    -------
    ndarray, shape of ``x``
    """
    model = _model(model, "saliency")
    x = _inputs(x, "saliency")
    logits = flag(logits, "logits")
    absolute = flag(absolute, "absolute")
    gradient = _input_gradient(model, x, target, logits, "saliency")[1]
    return np.abs(gradient) if absolute else gradient


def path_weights(steps: int, method: str = "trapezoid") -> tuple[np.ndarray, np.ndarray]:
    r"""The points :math:`\alpha_k \in [0, 1]` and weights :math:`w_k` of the path quadrature
    :math:`\int_0^1 g(\alpha)\,d\alpha \approx \sum_k w_k\, g(\alpha_k)` with ``steps`` intervals.

    ``"left"`` :math:`\alpha_k = k/m,\ k = 0..m-1`; ``"right"`` :math:`k = 1..m` (Sundararajan
    et al.'s sum); ``"midpoint"`` :math:`(k - 1/2)/m`; all with :math:`w_k = 1/m`.
    ``"trapezoid"``: :math:`\alpha_k = k/m,\ k = 0..m`, weights :math:`1/m` with half weight
    at both ends (:math:`m + 1` gradient evaluations). The trapezoid and midpoint rules have
    error :math:`O(1/m^2)` for a smooth path, the left and right sums :math:`O(1/m)`.
    """
    steps = positive_int(steps, "steps")
    method = one_of(method, "method", METHODS)
    k = np.arange(steps, dtype=np.float64)
    if method == "left":
        return k / steps, np.full(steps, 1.0 / steps)
    if method == "right":
        return (k + 1) / steps, np.full(steps, 1.0 / steps)
    if method == "midpoint":
        return (k + 0.5) / steps, np.full(steps, 1.0 / steps)
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] = 0.5 / steps
    return np.arange(steps + 1, dtype=np.float64) / steps, weights


def integrated_gradients(
    model: Sequential,
    x,
    target=None,
    *,
    baseline=0.0,
    steps: int = 50,
    method: str = "trapezoid",
    logits: bool = False,
) -> np.ndarray:
    r"""Integrated gradients (Sundararajan, Taly & Yan 2017) along the straight path from ``baseline``.

    .. math::

        \mathrm{IG}_i(x) = (x_i - x'_i) \int_0^1
            \frac{\partial f_c\bigl(x' + \alpha (x - x')\bigr)}{\partial x_i}\, d\alpha
        \approx (x_i - x'_i) \sum_k w_k\, \frac{\partial f_c(x' + \alpha_k (x - x'))}{\partial x_i},

    with the points and weights of :func:`path_weights`. By the fundamental theorem of
    calculus for path integrals, the exact attributions sum to :math:`f_c(x) - f_c(x')`
    (*completeness*); the quadrature's sum misses it by :math:`O(1/m^2)` for the trapezoid
    rule (:math:`O(1/m)` for the left/right sums) where the path is smooth. A ReLU network is
    only piecewise smooth along the path; the error still falls as ``steps`` grows.

    Parameters
    ----------
    model, x, logits
        As in :func:`input_gradient`.
    target : int, ndarray of int of shape (batch,), or None
        The output index per input; None uses each input's arg-max at ``x`` (not along the path).
    baseline : float or ndarray
        :math:`x'`: a number, one sample's shape or ``x``'s shape. 0 (a black image, an
        all-zero feature vector) is the common choice; the attributions depend on it.
    steps : int, default 50
        :math:`m`, the number of intervals.
    method : {"trapezoid", "left", "right", "midpoint"}
        The quadrature rule (:func:`path_weights`).

    Returns
    -------
    ndarray, shape of ``x``

    Notes
    -----
    All ``batch * len(alphas)`` path points go through one forward and one backward pass.
    Keras/TF: the same sum of ``tape.gradient`` at the same points (tested); Captum's
    ``method="riemann_trapezoid"`` is the same rule.
    """
    model = _model(model, "integrated_gradients")
    x = _inputs(x, "integrated_gradients")
    logits = flag(logits, "logits")
    origin = _baseline(baseline, x)
    alphas, weights = path_weights(steps, method)
    targets = _targets(target, _outputs(model, x, logits, "integrated_gradients"), "integrated_gradients")
    shape = (1, -1) + (1,) * (x.ndim - 1)
    points = origin[:, None] + alphas.reshape(shape) * (x - origin)[:, None]     # (batch, points, ...)
    flat = points.reshape((-1,) + x.shape[1:])
    _, gradients, _ = _input_gradient(model, flat, np.repeat(targets, len(alphas)), logits, "integrated_gradients")
    gradients = gradients.reshape(points.shape)
    average = np.tensordot(weights, np.moveaxis(gradients, 1, 0), axes=1)         # (batch, ...)
    return (x - origin) * average


def _positions(length: int, size: int, stride: int) -> list[int]:
    """Window starts along one axis: every ``stride``, plus one flush with the end so that every
    element is covered."""
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] != length - size:
        starts.append(length - size)
    return starts


def occlusion(
    model: Sequential,
    x,
    target=None,
    *,
    window=1,
    strides=None,
    baseline=0.0,
    logits: bool = False,
) -> np.ndarray:
    r"""Occlusion sensitivity (Zeiler & Fergus 2014): the drop of the target output when a window
    of the input is replaced by the baseline.

    For every window position :math:`W` (a box of ``window`` elements of one sample, moved by
    ``strides``), :math:`\Delta_W = f_c(x) - f_c(x \text{ with } x_W \leftarrow x'_W)`; an
    element's attribution is the mean of :math:`\Delta_W` over the windows that contain it.
    With ``window=1`` every element is occluded alone and its attribution is
    :math:`f_c(x) - f_c(x_{i \leftarrow x'_i})`; for a linear model :math:`f = w^\top x + b`
    that is exactly :math:`w_i (x_i - x'_i)`.

    Parameters
    ----------
    model, x, target, logits
        As in :func:`input_gradient` (the target is fixed at the unoccluded input).
    window : int or tuple of int
        The window's size along each axis of one sample (``(2, 2, 1)`` for 2×2 patches of a
        one-channel image); an int is that size on every axis. Each size is at most the axis
        length.
    strides : int, tuple of int or None
        The step between windows along each axis; None is ``window`` (non-overlapping). Where
        the steps do not reach the end of an axis, one more window is placed flush with it.
    baseline : float or ndarray
        The value the occluded elements take: a number, one sample's shape or ``x``'s shape.

    Returns
    -------
    ndarray, shape of ``x``
        Positive where occlusion lowers the target output.
    """
    model = _model(model, "occlusion")
    x = _inputs(x, "occlusion")
    logits = flag(logits, "logits")
    origin = _baseline(baseline, x)
    sample_shape = x.shape[1:]
    sizes = _window(window, "window", sample_shape)
    steps = sizes if strides is None else _window(strides, "strides", sample_shape)
    for axis, (size, length) in enumerate(zip(sizes, sample_shape)):
        if size > length:
            raise ValueError(
                f"window expected sizes at most the input's shape {sample_shape}. Received: window={sizes} (axis {axis})"
            )
    out = _outputs(model, x, logits, "occlusion")
    targets = _targets(target, out, "occlusion")
    reference = out[np.arange(len(x)), targets]
    boxes = [tuple(slice(start, start + size) for start, size in zip(corner, sizes))
             for corner in itertools.product(*[_positions(n, s, t) for n, s, t in zip(sample_shape, sizes, steps)])]
    total = np.zeros(x.shape, dtype=np.float64)
    count = np.zeros(sample_shape, dtype=np.float64)
    for box in boxes:
        occluded = x.copy()
        occluded[(slice(None),) + box] = origin[(slice(None),) + box]
        scores = _outputs(model, occluded, logits, "occlusion")[np.arange(len(x)), targets]
        total[(slice(None),) + box] += (reference - scores).reshape((-1,) + (1,) * len(sample_shape))
        count[box] += 1
    return (total / count).astype(x.dtype, copy=False)
