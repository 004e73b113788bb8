r"""Pooling and flattening, channels-last, as Keras's layers of the same names (chapters 24, 25).

Padding arithmetic is TensorFlow's (:func:`nnlib.layers.conv.same_padding`): "same" pads
:math:`\max((\lceil n/s\rceil - 1)s + k - n, 0)` cells per axis, the odd one at the end.
"""
from __future__ import annotations


import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nnlib._validation import as_float_array, flag
from nnlib.layers.base import Layer
from nnlib.layers.conv import _check_padding, image_shape, output_length, pair, paddings


class _Pooling2D(Layer):
    """Shared by max and average pooling: arguments, shapes, windows."""

    kind = ""

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", name: str | None = None):
        super().__init__(name)
        self.pool_size = pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else pair(strides, "strides")
        self.padding = _check_padding(padding)
        self.input_shape = None
        self._x_shape = None

    def output_shape(self, input_shape) -> tuple[int, int, int]:
        """``(O_H, O_W, C)`` for an input of shape ``(H, W, C)``."""
        height, width, channels = self._spatial(input_shape, "output_shape")
        return (output_length(height, self.pool_size[0], self.strides[0], self.padding),
                output_length(width, self.pool_size[1], self.strides[1], self.padding), channels)

    def _spatial(self, input_shape, caller):
        return image_shape(self, input_shape, caller, self.pool_size, "pool")

    def _check_input(self, x):
        x = as_float_array(x, "x")
        if x.ndim != 4:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} expected input of shape (batch, height, width, channels). "
                f"Received: x.shape={x.shape}"
            )
        self._spatial(x.shape[1:], "forward")
        return x

    def _pads(self, shape):
        return paddings(shape, self.pool_size, self.strides, self.padding)

    def _windows(self, padded):
        """``(N, O_H, O_W, C, p_h, p_w)``: a read-only view of every window."""
        return sliding_window_view(padded, self.pool_size, axis=(1, 2))[:, ::self.strides[0], ::self.strides[1]]

    def _scatter(self, per_offset, out_shape):
        """Add ``per_offset(u, v)`` (an (N, O_H, O_W, C) array) onto the cells window offset
        ``(u, v)`` read, for every offset; return the gradient without the padding."""
        n, height, width, channels = self._x_shape
        (top, bottom), (left, right) = self._pads((height, width))
        dpadded = np.zeros((n, height + top + bottom, width + left + right, channels), dtype=per_offset(0, 0).dtype)
        out_h, out_w = out_shape[1:3]
        sh, sw = self.strides
        for u in range(self.pool_size[0]):
            for v in range(self.pool_size[1]):
                dpadded[:, u:u + sh * (out_h - 1) + 1:sh, v:v + sw * (out_w - 1) + 1:sw, :] += per_offset(u, v)
        return dpadded[:, top:top + height, left:left + width, :]

    def _check_dout(self, dout, shape):
        dout = as_float_array(dout, "dout")
        if dout.shape != shape:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} backward expected dout of shape {shape}. Received: dout.shape={dout.shape}"
            )
        return dout

    def count_params(self) -> int:
        """0: pooling has no weights (Keras's ``count_params()`` is 0 too)."""
        return 0

    def _input_shape_for_count(self, input_shape):
        if input_shape is None:
            if self.input_shape is None:
                raise ValueError(
                    f"{type(self).__name__} layer {self.name!r} multiply_adds expected input_shape=(height, width, channels) "
                    f"or a forward pass first. Received: input_shape=None before any forward pass"
                )
            input_shape = self.input_shape
        return self._spatial(input_shape, "multiply_adds")

    def __repr__(self):
        return f"{type(self).__name__}(pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r})"


class MaxPooling2D(_Pooling2D):
    r"""Max pooling: :math:`y_{n,i,j,c} = \max_{u<p_h,\,v<p_w} \tilde x_{n,\,is_h+u,\,js_w+v,\,c}`.

    As ``keras.layers.MaxPooling2D``; used in chapters 24 and 25.

    Parameters
    ----------
    pool_size : int or (int, int), default 2
    strides : int or (int, int), optional
        Defaults to ``pool_size`` (non-overlapping windows), as in Keras.
    padding : {"valid", "same"}, default "valid"
        "same" pads with :math:`-\infty` (a padded cell never wins), as TensorFlow does.

    Notes
    -----
    Shapes: ``x`` :math:`(N, H, W, C)`, output :math:`(N, O_H, O_W, C)` with
    :math:`O = \lfloor (H - p)/s\rfloor + 1` ("valid") or :math:`\lceil H/s\rceil` ("same").

    Backward routes each window's upstream gradient to the one cell that holds the window's
    maximum (the others get 0); with overlapping windows a cell adds up the gradients of
    every window it wins. **Ties**: when several cells of a window hold the maximum, the
    gradient goes to the first of them in row-major order of the window (top row first,
    then left to right), which is what TensorFlow's CPU ``MaxPoolGrad`` does (the tests
    check it against ``tf.GradientTape``). A subgradient either way: the function is not
    differentiable there.

    Counts: no weights; :meth:`multiply_adds` is 0 (comparisons only).
    """

    kind = "max"

    def forward(self, x, training: bool = False):
        x = self._check_input(x)
        (top, bottom), (left, right) = self._pads(x.shape[1:3])
        padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf) \
            if top or bottom or left or right else x
        windows = self._windows(padded)
        flat = windows.reshape(*windows.shape[:4], -1)
        self._argmax = np.argmax(flat, axis=-1)  # the first maximum in row-major order, as TF's MaxPoolGrad
        out = np.take_along_axis(flat, self._argmax[..., None], axis=-1)[..., 0]
        self._x_shape, self.input_shape = x.shape, x.shape[1:]
        self._out_shape = out.shape
        return out

    def backward(self, dout):
        self._require_cache("_x_shape")
        dout = self._check_dout(dout, self._out_shape)
        pool_w = self.pool_size[1]
        return self._scatter(lambda u, v: np.where(self._argmax == u * pool_w + v, dout, 0.0), self._out_shape)

    def multiply_adds(self, input_shape=None) -> int:
        """0 multiply-adds per example (a max pool compares; it does not multiply)."""
        self._input_shape_for_count(input_shape)
        return 0


class AveragePooling2D(_Pooling2D):
    r"""Average pooling: the mean of each window's *real* (non-padded) cells.

    As ``keras.layers.AveragePooling2D``; used in chapters 24 and 25.

    Parameters
    ----------
    pool_size : int or (int, int), default 2
    strides : int or (int, int), optional
        Defaults to ``pool_size``.
    padding : {"valid", "same"}, default "valid"

    Notes
    -----
    .. math::

        y_{n,i,j,c} = \frac{1}{m_{ij}} \sum_{(u,v)\ \text{real}} x_{n,\,is_h+u-t,\,js_w+v-l,\,c},

    with :math:`t, l` the top and left padding and :math:`m_{ij}` the number of real cells
    in window :math:`(i, j)`: :math:`p_h p_w` with "valid", fewer at the border with "same",
    where TensorFlow (``tf.nn.avg_pool``, so Keras) divides by the count of real cells, not
    by :math:`p_h p_w`; nnlib does the same (checked against Keras in the tests). Backward:
    each cell receives :math:`g_{ij}/m_{ij}` from every window that contains it.

    Counts: no weights. :meth:`multiply_adds` counts one multiply-add per real cell of every
    window and channel (the average as a weighted sum with weights :math:`1/m_{ij}`):
    :math:`C\,(\sum_i r_i)(\sum_j c_j)`, where :math:`r_i` (:math:`c_j`) is the number of real
    rows (columns) of window row :math:`i` (column :math:`j`); with "valid" padding that is
    :math:`O_H O_W\, p_h p_w\, C`.
    """

    kind = "average"

    def _real_counts(self, height, width):
        """Real cells per window along each axis: ``(rows (O_H,), cols (O_W,))``."""
        counts = []
        for size, window, stride, (before, _) in zip((height, width), self.pool_size, self.strides, self._pads((height, width))):
            starts = np.arange(output_length(size, window, stride, self.padding)) * stride - before
            counts.append(np.minimum(starts + window, size) - np.maximum(starts, 0))
        return counts

    def forward(self, x, training: bool = False):
        x = self._check_input(x)
        (top, bottom), (left, right) = self._pads(x.shape[1:3])
        padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0))) if top or bottom or left or right else x
        sums = self._windows(padded).sum(axis=(-2, -1))
        rows, cols = self._real_counts(*x.shape[1:3])
        self._counts = (rows[:, None] * cols[None, :])[None, :, :, None].astype(x.dtype)
        self._x_shape, self.input_shape = x.shape, x.shape[1:]
        self._out_shape = sums.shape
        return sums / self._counts

    def backward(self, dout):
        self._require_cache("_x_shape")
        share = self._check_dout(dout, self._out_shape) / self._counts
        return self._scatter(lambda u, v: share, self._out_shape)

    def multiply_adds(self, input_shape=None) -> int:
        r""":math:`C\,(\sum_i r_i)(\sum_j c_j)` per example (:math:`O_H O_W p_h p_w C` with "valid")."""
        height, width, channels = self._input_shape_for_count(input_shape)
        rows, cols = self._real_counts(height, width)
        return int(channels * rows.sum() * cols.sum())


class GlobalAveragePooling2D(Layer):
    r"""The mean over height and width: :math:`y_{n,c} = \frac{1}{HW}\sum_{i,j} x_{n,i,j,c}`.

    As ``keras.layers.GlobalAveragePooling2D``. Input :math:`(N, H, W, C)`; output
    :math:`(N, C)`, or :math:`(N, 1, 1, C)` with ``keepdims=True``. Backward spreads
    :math:`g_{n,c}/(HW)` over every cell. No weights; :meth:`multiply_adds` is
    :math:`HWC` per example (one multiply-add per input value).
    """

    def __init__(self, keepdims: bool = False, name: str | None = None):
        super().__init__(name)
        self.keepdims = flag(keepdims, "keepdims")
        self.input_shape = None
        self._x_shape = None

    def forward(self, x, training: bool = False):
        x = as_float_array(x, "x")
        if x.ndim != 4 or 0 in x.shape[1:]:
            raise ValueError(
                f"GlobalAveragePooling2D layer {self.name!r} expected input of shape (batch, height, width, channels). "
                f"Received: x.shape={x.shape}"
            )
        self._x_shape, self.input_shape = x.shape, x.shape[1:]
        return x.mean(axis=(1, 2), keepdims=self.keepdims)

    def backward(self, dout):
        self._require_cache("_x_shape")
        n, height, width, channels = self._x_shape
        expected = (n, 1, 1, channels) if self.keepdims else (n, channels)
        dout = as_float_array(dout, "dout")
        if dout.shape != expected:
            raise ValueError(
                f"GlobalAveragePooling2D layer {self.name!r} backward expected dout of shape {expected}. Received: dout.shape={dout.shape}"
            )
        return np.broadcast_to(dout.reshape(n, 1, 1, channels) / (height * width), self._x_shape).copy()

    def multiply_adds(self, input_shape=None) -> int:
        """:math:`HWC` per example (``input_shape`` (H, W, C); ``None``: the last forward's)."""
        shape = self.input_shape if input_shape is None else tuple(input_shape)
        if shape is None or len(shape) != 3:
            raise ValueError(
                f"GlobalAveragePooling2D layer {self.name!r} multiply_adds expected input_shape=(height, width, channels) "
                f"or a forward pass first. Received: input_shape={input_shape!r}"
            )
        return int(np.prod(shape))

    def __repr__(self):
        return f"GlobalAveragePooling2D(keepdims={self.keepdims})"


class Flatten(Layer):
    r"""Reshape :math:`(N, d_1, \dots, d_k)` to :math:`(N, d_1 \cdots d_k)` in row-major order.

    As ``keras.layers.Flatten`` (channels-last, so a flattened :math:`(H, W, C)` image lists
    the channels of each pixel together, pixel after pixel); a 1-D input :math:`(N,)`
    becomes :math:`(N, 1)`, as in Keras. Backward reshapes the gradient back. No weights and
    no multiply-adds.

    A :class:`~nnlib.model.Sequential` does not check the width after a Flatten against
    the next layer's ``in_features`` at construction (it is known only from an input); a
    mismatch is reported by the next layer's forward pass.
    """

    resets_width = True  # nnlib.model.Sequential: the widths before a Flatten say nothing about its output

    def __init__(self, name: str | None = None):
        super().__init__(name)
        self._x_shape = None

    def forward(self, x, training: bool = False):
        x = as_float_array(x, "x", min_ndim=1)
        self._x_shape = x.shape
        return x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1, 1)

    def backward(self, dout):
        self._require_cache("_x_shape")
        dout = as_float_array(dout, "dout")
        expected = (self._x_shape[0], int(np.prod(self._x_shape[1:], dtype=int)))
        if dout.shape != expected:
            raise ValueError(f"Flatten layer {self.name!r} backward expected dout of shape {expected}. Received: dout.shape={dout.shape}")
        return dout.reshape(self._x_shape)

    def multiply_adds(self, input_shape=None) -> int:
        """0: a reshape."""
        return 0

    def __repr__(self):
        return "Flatten()"
