r"""Scaled dot-product attention and multi-head attention in Keras's weight layout.

Scaled dot-product attention (Vaswani et al., 2017) of queries :math:`Q` (T, d_k), keys
:math:`K` (S, d_k) and values :math:`V` (S, d_v):

.. math::

    A = \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right), \qquad
    \text{output} = A V,

the softmax taken over the S keys, so that each row of :math:`A` sums to 1. A boolean mask
follows Keras: ``True`` means *attend*; a masked score is replaced by :math:`-10^9` before
the softmax (``keras.layers.Softmax``'s rule), so its weight is exactly 0, and a row whose
keys are all masked gets uniform weights 1/S, as in Keras. ``causal=True`` lets query t
attend to keys s <= t only.

:class:`MultiHeadAttention` holds the eight arrays of ``keras.layers.MultiHeadAttention``,
in its ``get_weights`` order and shapes, so weights copy across with no transposes.
Used in chapter 38.
"""
from __future__ import annotations

import numpy as np

from nnlib._validation import as_float_array, check_finite, check_non_empty, flag, generator, positive_float, positive_int
from nnlib.autodiff import _unbroadcast  # sums a gradient back to a broadcast operand's shape
from nnlib.initializers import glorot_uniform
from nnlib.layers.base import Layer, float_dtype

MASKED_SCORE = -1e9  # keras.layers.Softmax replaces masked scores by this (float32 and float64)


def _data(value, name, *, min_ndim):
    array = as_float_array(value, name, min_ndim=min_ndim)
    check_non_empty(array, name)
    check_finite(array, name)
    return array


def _mask_array(mask, causal, scores_shape, caller):
    """The boolean mask broadcast to the scores' shape (..., T, S), or None."""
    causal = flag(causal, "causal")
    target_length, source_length = scores_shape[-2:]
    combined = None
    if mask is not None:
        array = np.asarray(mask) if not isinstance(mask, (str, bytes)) else None
        if array is None or array.dtype != np.bool_:
            received = type(mask).__name__ if array is None else f"dtype={array.dtype}"
            raise TypeError(f"mask expected a boolean array (True = attend). Received: {received}")
        try:
            combined = np.broadcast_to(array, scores_shape)
        except ValueError:
            raise ValueError(
                f"{caller} expected a mask broadcastable to the scores' shape {tuple(scores_shape)} (..., T, S). "
                f"Received: mask.shape={array.shape}"
            ) from None
    if causal:
        lower = np.tril(np.ones((target_length, source_length), dtype=bool))
        combined = lower if combined is None else combined & lower
    return None if combined is None else np.broadcast_to(combined, scores_shape)


def _softmax(scores):
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=-1, keepdims=True)


def scaled_dot_product_attention(query, key, value, *, mask=None, causal: bool = False, scale=None):
    r"""Scaled dot-product attention, :math:`\operatorname{softmax}(s\,QK^\top) V` with :math:`s = 1/\sqrt{d_k}`.

    Parameters
    ----------
    query : ndarray (..., T, d_k)
    key : ndarray (..., S, d_k)
    value : ndarray (..., S, d_v)
        Leading axes (batch, heads) broadcast as in ``np.matmul``.
    mask : bool ndarray broadcastable to (..., T, S), optional
        ``True`` = attend (Keras's convention; ``torch`` uses the opposite for ``attn_mask``
        of ``nn.MultiheadAttention``). Masked scores become :math:`-10^9`.
    causal : bool
        Combine the mask with the lower-triangular one (query t sees keys 0..t).
    scale : positive float, optional
        Defaults to :math:`1/\sqrt{d_k}`.

    Returns
    -------
    output : ndarray (..., T, d_v)
    weights : ndarray (..., T, S), rows summing to 1

    Notes
    -----
    ``keras.ops.dot_product_attention`` computes the same with the layout (B, T, N, H)
    (heads third); here heads, if any, come before T, as in ``keras.layers.MultiHeadAttention``'s
    attention scores (B, N, T, S).
    """
    query = _data(query, "query", min_ndim=2)
    key = _data(key, "key", min_ndim=2)
    value = _data(value, "value", min_ndim=2)
    scale = _scale(scale, query)
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            "scaled_dot_product_attention expected query and key with the same last axis d_k. "
            f"Received: query.shape={query.shape}, key.shape={key.shape}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            "scaled_dot_product_attention expected as many keys as values (axis -2). "
            f"Received: key.shape={key.shape}, value.shape={value.shape}"
        )
    try:
        scores = (query * scale) @ np.swapaxes(key, -1, -2)
        np.broadcast_shapes(scores.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(
            "scaled_dot_product_attention expected leading (batch, head) axes that broadcast. "
            f"Received: query.shape={query.shape}, key.shape={key.shape}, value.shape={value.shape}"
        ) from None
    mask = _mask_array(mask, causal, scores.shape, "scaled_dot_product_attention")
    if mask is not None:
        scores = np.where(mask, scores, np.asarray(MASKED_SCORE, dtype=scores.dtype))
    weights = _softmax(scores)
    return weights @ value, weights


def _scale(scale, query):
    if scale is None:
        return 1.0 / np.sqrt(query.shape[-1])
    return positive_float(scale, "scale")


def scaled_dot_product_attention_backward(d_output, query, key, value, weights, *, mask=None, causal: bool = False,
                                          scale=None):
    r"""Gradients of :func:`scaled_dot_product_attention` with respect to query, key and value.

    With scores :math:`Z = s\,QK^\top`, :math:`A = \operatorname{softmax}(Z)` and upstream
    gradient :math:`G = \partial L/\partial(\text{output})`:

    .. math::

        \frac{\partial L}{\partial V} = A^\top G, \quad
        \frac{\partial L}{\partial A} = G V^\top, \quad
        \frac{\partial L}{\partial Z} = A \odot \Bigl(\frac{\partial L}{\partial A}
            - \operatorname{rowsum}\bigl(A \odot \frac{\partial L}{\partial A}\bigr)\Bigr),

    :math:`\partial L/\partial Q = s\,(\partial L/\partial Z) K`,
    :math:`\partial L/\partial K = s\,(\partial L/\partial Z)^\top Q`. Masked scores are
    constants (-1e9), so their gradient is 0. Leading axes that were broadcast are summed.

    Returns
    -------
    d_query, d_key, d_value : ndarrays of the shapes of query, key, value
    """
    query = as_float_array(query, "query", min_ndim=2)
    key = as_float_array(key, "key", min_ndim=2)
    value = as_float_array(value, "value", min_ndim=2)
    weights = as_float_array(weights, "weights", min_ndim=2)
    d_output = as_float_array(d_output, "d_output", min_ndim=2)
    expected = weights.shape[:-1] + value.shape[-1:]
    if d_output.shape != expected:
        raise ValueError(f"d_output expected shape {expected} (the output's). Received: d_output.shape={d_output.shape}")
    scale = _scale(scale, query)
    d_value = np.swapaxes(weights, -1, -2) @ d_output
    d_weights = d_output @ np.swapaxes(value, -1, -2)
    d_scores = weights * (d_weights - np.sum(d_weights * weights, axis=-1, keepdims=True))
    mask = _mask_array(mask, causal, weights.shape, "scaled_dot_product_attention_backward")
    if mask is not None:
        d_scores = np.where(mask, d_scores, 0.0)
    d_query = scale * (d_scores @ key)
    d_key = scale * (np.swapaxes(d_scores, -1, -2) @ query)
    return _unbroadcast(d_query, query.shape), _unbroadcast(d_key, key.shape), _unbroadcast(d_value, value.shape)


class MultiHeadAttention(Layer):
    r"""Multi-head attention with ``keras.layers.MultiHeadAttention``'s weights and maths.

    For each head n, with query input :math:`X_q` (B, T, query_dim) and key/value inputs
    :math:`X_k, X_v` (B, S, ·):

    .. math::

        Q_n = X_q W^Q_n + b^Q_n,\; K_n = X_k W^K_n + b^K_n,\; V_n = X_v W^V_n + b^V_n, \qquad
        O = \sum_n \operatorname{softmax}\!\bigl(Q_n K_n^\top/\sqrt{d_k}\bigr) V_n\, W^O_n + b^O.

    Parameters (``params``, in Keras's ``get_weights`` order)
    ----------------------------------------------------------
    query_kernel (query_dim, num_heads, key_dim), query_bias (num_heads, key_dim),
    key_kernel (key_input_dim, num_heads, key_dim), key_bias (num_heads, key_dim),
    value_kernel (value_input_dim, num_heads, value_dim), value_bias (num_heads, value_dim),
    output_kernel (num_heads, value_dim, output_dim), output_bias (output_dim,).
    Without biases (``use_bias=False``) the four kernels only, as in Keras.

    Notes
    -----
    ``keras.layers.MultiHeadAttention(num_heads, key_dim, value_dim, output_shape=output_dim)``
    with ``call(query, value, key=None, attention_mask=None, use_causal_mask=False,
    return_attention_scores=False)``. nnlib takes the input sizes first (``query_dim``; the key
    and value sizes default to it). Differences: no attention dropout, no ``attention_axes``
    other than the time axis, no Keras implicit masks from an ``Embedding(mask_zero=True)``
    (pass ``attention_mask`` explicitly), initial weights drawn from ``rng`` (Glorot uniform
    kernels with Keras's fan rule, zero biases), so copy weights to compare.
    """

    def __init__(self, query_dim: int, num_heads: int, key_dim: int, value_dim: int | None = None, *,
                 key_input_dim: int | None = None, value_input_dim: int | None = None, output_dim: int | None = None,
                 use_bias: bool = True, dtype="float64", rng=None, name: str | None = None):
        super().__init__(name)
        self.query_dim = positive_int(query_dim, "query_dim")
        self.num_heads = positive_int(num_heads, "num_heads")
        self.key_dim = positive_int(key_dim, "key_dim")
        self.value_dim = self.key_dim if value_dim is None else positive_int(value_dim, "value_dim")
        self.value_input_dim = self.query_dim if value_input_dim is None else positive_int(value_input_dim, "value_input_dim")
        self.key_input_dim = self.value_input_dim if key_input_dim is None else positive_int(key_input_dim, "key_input_dim")
        self.output_dim = self.query_dim if output_dim is None else positive_int(output_dim, "output_dim")
        self.use_bias = flag(use_bias, "use_bias")
        self.dtype = float_dtype(dtype)
        rng = generator(rng)
        heads = (self.num_heads,)
        shapes = {
            "query": ((self.query_dim, *heads, self.key_dim), heads + (self.key_dim,)),
            "key": ((self.key_input_dim, *heads, self.key_dim), heads + (self.key_dim,)),
            "value": ((self.value_input_dim, *heads, self.value_dim), heads + (self.value_dim,)),
            "output": ((*heads, self.value_dim, self.output_dim), (self.output_dim,)),
        }
        for part, (kernel_shape, bias_shape) in shapes.items():
            self.params[f"{part}_kernel"] = glorot_uniform(kernel_shape, rng).astype(self.dtype)
            if self.use_bias:
                self.params[f"{part}_bias"] = np.zeros(bias_shape, dtype=self.dtype)
        self._cache = None
        self.last_attention_scores = None

    def _bias(self, part):
        return self.params[f"{part}_bias"] if self.use_bias else 0.0

    def _input(self, array, name, size):
        array = as_float_array(array, name, ndim=3)
        if array.shape[-1] != size:
            raise ValueError(f"{self.name} expected {name} of shape (batch, time, {size}). Received: {name}.shape={array.shape}")
        return array.astype(self.dtype, copy=False)

    def forward(self, query, value=None, key=None, *, attention_mask=None, use_causal_mask: bool = False,
                return_attention_scores: bool = False, training: bool = False):
        """Attention of ``query`` (B, T, query_dim) over ``value`` (B, S, ·), keys default to values.

        ``value`` defaults to ``query`` (self-attention). ``attention_mask`` is boolean
        (B, T, S) or broadcastable, True = attend. Returns the output (B, T, output_dim) and,
        with ``return_attention_scores=True``, also the weights (B, num_heads, T, S).
        """
        flag(training, "training")
        return_attention_scores = flag(return_attention_scores, "return_attention_scores")
        query = self._input(query, "query", self.query_dim)
        key_is_value = key is None
        value_is_query = value is None
        value = query if value_is_query else self._input(value, "value", self.value_input_dim)
        key = value if key_is_value else self._input(key, "key", self.key_input_dim)
        if not (len(query) == len(value) == len(key)) or key.shape[1] != value.shape[1]:
            raise ValueError(
                f"{self.name} expected query, value and key with one batch size, and as many key as value steps. "
                f"Received: query.shape={query.shape}, value.shape={value.shape}, key.shape={key.shape}"
            )
        if attention_mask is not None:
            attention_mask = np.asarray(attention_mask)
            if attention_mask.dtype == np.bool_ and attention_mask.ndim == 3:
                attention_mask = attention_mask[:, None]  # (B, 1, T, S): one mask for every head
        projected = {}
        for part, array in (("query", query), ("key", key), ("value", value)):
            projected[part] = np.einsum("btd,dnh->bnth", array, self.params[f"{part}_kernel"]) + (
                self._bias(part)[None, :, None, :] if self.use_bias else 0.0
            )
        heads, weights = scaled_dot_product_attention(
            projected["query"], projected["key"], projected["value"], mask=attention_mask, causal=use_causal_mask
        )
        output = np.einsum("bnth,nho->bto", heads, self.params["output_kernel"]) + self._bias("output")
        self._cache = (query, key, value, projected, heads, weights, attention_mask, bool(use_causal_mask),
                       key_is_value, value_is_query)
        self.last_attention_scores = weights
        output = output.astype(self.dtype, copy=False)
        return (output, weights.astype(self.dtype, copy=False)) if return_attention_scores else output

    def __call__(self, query, value=None, key=None, **kwargs):
        return self.forward(query, value, key, **kwargs)

    def backward(self, dout):
        """Fill ``grads`` and return ``(d_query, d_value, d_key)``.

        When ``key`` was not given (keys are the values) its gradient is added to ``d_value``
        and ``d_key`` is None; when ``value`` was not given either (self-attention), all three
        are summed into ``d_query`` and the other two are None.
        """
        self._require_cache("_cache")
        query, key, value, projected, heads, weights, mask, causal, key_is_value, value_is_query = self._cache
        dout = as_float_array(dout, "dout", ndim=3)
        expected = query.shape[:2] + (self.output_dim,)
        if dout.shape != expected:
            raise ValueError(f"{self.name}.backward expected dout of shape {expected}. Received: dout.shape={dout.shape}")
        self.grads["output_kernel"] = np.einsum("bnth,bto->nho", heads, dout)
        if self.use_bias:
            self.grads["output_bias"] = dout.sum(axis=(0, 1))
        d_heads = np.einsum("bto,nho->bnth", dout, self.params["output_kernel"])
        d_projected = dict(zip(("query", "key", "value"), scaled_dot_product_attention_backward(
            d_heads, projected["query"], projected["key"], projected["value"], weights, mask=mask, causal=causal)))
        d_inputs = {}
        for part, array in (("query", query), ("key", key), ("value", value)):
            gradient = d_projected[part]
            self.grads[f"{part}_kernel"] = np.einsum("btd,bnth->dnh", array, gradient)
            if self.use_bias:
                self.grads[f"{part}_bias"] = gradient.sum(axis=(0, 2))
            d_inputs[part] = np.einsum("bnth,dnh->btd", gradient, self.params[f"{part}_kernel"])
        self.grads = {name: self.grads[name] for name in self.params}  # Keras's order
        d_query, d_key, d_value = d_inputs["query"], d_inputs["key"], d_inputs["value"]
        if key_is_value:
            d_value, d_key = d_value + d_key, None
        if value_is_query:
            d_query, d_value = d_query + d_value, None
        return d_query, d_value, d_key

    def count_params(self) -> int:
        return int(sum(value.size for value in self.params.values()))

    def __repr__(self):
        return (f"MultiHeadAttention(query_dim={self.query_dim}, num_heads={self.num_heads}, key_dim={self.key_dim}, "
                f"value_dim={self.value_dim}, output_dim={self.output_dim})")
