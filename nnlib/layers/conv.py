r"""Two-dimensional convolution, channels-last, as ``keras.layers.Conv2D`` (chapters 24, 25).

:class:`Conv2D` computes with one matrix product over all patches (im2col built with
:func:`numpy.lib.stride_tricks.sliding_window_view`); :func:`conv2d_reference` and
:func:`conv2d_reference_backward` are the same computation as plain loops, kept beside it as
the readable definition, and the tests check that both agree.

The padding arithmetic (:func:`same_padding`, :func:`output_length`) is TensorFlow's and
Keras's, shared with :mod:`nnlib.layers.pooling`.
"""
from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nnlib import activations, initializers, regularizers
from nnlib._validation import as_float_array, flag, generator, one_of, positive_int
from nnlib.layers.base import Layer, float_dtype

PADDINGS = ("valid", "same")


def pair(value, name: str) -> tuple[int, int]:
    """A positive int or a pair of positive ints (Keras's ``kernel_size=3`` or ``(3, 2)``)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} expected a positive integer or a pair of them. Received: {name}={value!r}")
        first, second = value
    else:
        first = second = value
    for item in (first, second):
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise TypeError(f"{name} expected a positive integer or a pair of them. Received: {name}={value!r}")
        if item < 1:
            raise ValueError(f"{name} expected a positive integer or a pair of them. Received: {name}={value!r}")
    return int(first), int(second)


def output_length(size: int, window: int, stride: int, padding: str) -> int:
    r"""Output length along one axis: :math:`\lceil n/s\rceil` ("same") or
    :math:`\lfloor (n-k)/s\rfloor + 1` ("valid", 0 when :math:`n < k`)."""
    if padding == "same":
        return -(-size // stride)
    return max((size - window) // stride + 1, 0)


def same_padding(size: int, window: int, stride: int) -> tuple[int, int]:
    r"""TensorFlow's "same" padding along one axis: ``(before, after)``.

    The total is :math:`\max((\lceil n/s\rceil - 1)s + k - n, 0)`; ``before`` gets half of it
    rounded down, so an odd total puts the extra cell at the end (bottom or right), as
    TensorFlow and Keras do (PyTorch's ``padding="same"`` also pads at the end, but only
    for stride 1).
    """
    total = max((output_length(size, window, stride, "same") - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def paddings(shape, window, strides, padding: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((top, bottom), (left, right))`` for an input of spatial ``shape`` (height, width)."""
    if padding == "valid":
        return (0, 0), (0, 0)
    return tuple(same_padding(n, k, s) for n, k, s in zip(shape, window, strides))


def image_shape(layer, input_shape, caller: str, window, window_name: str, channels=None) -> tuple[int, int, int]:
    """``input_shape`` checked as ``(H, W, C)`` of positive integers (with ``C == channels``
    when given) and, for ``padding="valid"``, at least as large as ``window``; the checks of
    Conv2D and the pooling layers, with their messages."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape
    where = f"{type(layer).__name__} layer {layer.name!r}"
    if not isinstance(shape, tuple) or len(shape) != 3 or (channels is not None and shape[2] != channels) or any(
            isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1 for n in shape):
        raise ValueError(
            f"{where} {caller} expected input_shape=(height, width, {'channels' if channels is None else channels}). "
            f"Received: input_shape={input_shape!r}"
        )
    if layer.padding == "valid" and (shape[0] < window[0] or shape[1] < window[1]):
        raise ValueError(
            f"{where} expected an input at least as large as the {window_name} {window} "
            f"with padding='valid'. Received: input_shape={shape}"
        )
    return shape


def _check_padding(padding) -> str:
    return one_of(padding, "padding", PADDINGS)


# --- the readable reference ---------------------------------------------------------------

def conv2d_reference(x, kernel, bias=None, strides=(1, 1), padding: str = "valid") -> np.ndarray:
    r"""Convolution (cross-correlation, as in every deep-learning library) by plain loops.

    .. math::

        y_{n,i,j,f} = b_f + \sum_{u=0}^{k_h-1}\sum_{v=0}^{k_w-1}\sum_{c}
        \tilde x_{n,\, i s_h + u,\, j s_w + v,\, c}\; W_{u,v,c,f}

    where :math:`\tilde x` is ``x`` zero-padded as :func:`same_padding` says (``"same"``)
    or unpadded (``"valid"``). Shapes: ``x`` (N, H, W, C), ``kernel`` (kh, kw, C, F), output
    (N, OH, OW, F). Slow; :class:`Conv2D` computes the same numbers with one matrix product.
    """
    x, kernel = np.asarray(x), np.asarray(kernel)
    kh, kw, _, filters = kernel.shape
    (top, bottom), (left, right) = paddings(x.shape[1:3], (kh, kw), strides, padding)
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out_h = output_length(x.shape[1], kh, strides[0], padding)
    out_w = output_length(x.shape[2], kw, strides[1], padding)
    out = np.zeros((x.shape[0], out_h, out_w, filters), dtype=np.result_type(x, kernel))
    for n in range(x.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                patch = padded[n, i * strides[0]:i * strides[0] + kh, j * strides[1]:j * strides[1] + kw, :]
                for f in range(filters):
                    out[n, i, j, f] = np.sum(patch * kernel[:, :, :, f])
    if bias is not None:
        out = out + bias
    return out


def conv2d_reference_backward(x, kernel, dout, strides=(1, 1), padding: str = "valid"):
    r"""Gradients of :func:`conv2d_reference` by plain loops: ``(dx, dkernel, dbias)``.

    Every output cell :math:`y_{n,i,j,f}` received :math:`W_{u,v,c,f}\,\tilde x_{n,is_h+u,js_w+v,c}`,
    so its upstream gradient :math:`g = \partial L/\partial y_{n,i,j,f}` adds
    :math:`g\,\tilde x` to :math:`\partial L/\partial W_{u,v,c,f}` and :math:`g\,W` to
    :math:`\partial L/\partial \tilde x`; the padded border of :math:`\partial L/\partial
    \tilde x` is then cut off, and :math:`\partial L/\partial b_f = \sum_{n,i,j} g`.
    """
    x, kernel, dout = np.asarray(x), np.asarray(kernel), np.asarray(dout)
    kh, kw, _, filters = kernel.shape
    (top, bottom), (left, right) = paddings(x.shape[1:3], (kh, kw), strides, padding)
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    dpadded = np.zeros_like(padded)
    dkernel = np.zeros_like(kernel)
    for n in range(dout.shape[0]):
        for i in range(dout.shape[1]):
            for j in range(dout.shape[2]):
                rows = slice(i * strides[0], i * strides[0] + kh)
                cols = slice(j * strides[1], j * strides[1] + kw)
                for f in range(filters):
                    g = dout[n, i, j, f]
                    dkernel[:, :, :, f] += g * padded[n, rows, cols, :]
                    dpadded[n, rows, cols, :] += g * kernel[:, :, :, f]
    dx = dpadded[:, top:top + x.shape[1], left:left + x.shape[2], :]
    return dx, dkernel, dout.sum(axis=(0, 1, 2))


# --- the layer ------------------------------------------------------------------------------

class Conv2D(Layer):
    r"""2-D convolution over channels-last images, :math:`A = \varphi(X * W + b)`.

    Used in chapters 24 and 25.

    Parameters
    ----------
    in_channels : int
        :math:`C`, the last axis of the input (nnlib layers know their input width, as
        :class:`~nnlib.layers.Dense` knows ``in_features``).
    filters : int
        :math:`F`, the number of output channels.
    kernel_size : int or (int, int)
        :math:`(k_h, k_w)`; odd and even sizes both work.
    strides : int or (int, int), default 1
    padding : {"valid", "same"}, default "valid"
        ``"valid"``: no padding, output :math:`\lfloor (H - k_h)/s_h\rfloor + 1`;
        ``"same"``: zero padding to an output of :math:`\lceil H/s_h\rceil`, with the total
        padding :math:`\max((\lceil H/s_h\rceil - 1)s_h + k_h - H, 0)` split as TensorFlow
        does (the odd cell at the bottom/right; :func:`same_padding`).
    activation : str or Activation, default "linear"
        As in :class:`~nnlib.layers.Dense`.
    use_bias : bool, default True
    rng : numpy.random.Generator, optional
        Source of the initial kernel; ``None`` uses nnlib's default generator.
    kernel_initializer, bias_initializer : str or callable
        Keras's defaults: Glorot uniform over fan-in :math:`k_h k_w C` and fan-out
        :math:`k_h k_w F` (:mod:`nnlib.initializers` computes the fans of a 4-D shape as
        Keras does), zeros.
    kernel_regularizer, bias_regularizer : str or Regularizer, optional
        As in :class:`~nnlib.layers.Dense`.
    dtype : str, default "float64"
        float64 for gradient checks; float32 to compute like Keras.

    Notes
    -----
    Shapes: ``x`` :math:`(N, H, W, C)`, ``kernel`` :math:`(k_h, k_w, C, F)` (Keras's layout),
    ``bias`` :math:`(F,)`, output :math:`(N, O_H, O_W, F)`. The forward pass is
    :func:`conv2d_reference`'s formula computed as one product: the patches
    :math:`P` (one row of :math:`k_h k_w C` values per output cell, :math:`N O_H O_W` rows)
    times the kernel reshaped to :math:`(k_h k_w C, F)`. Backward, with :math:`\delta =
    \varphi'(Z)\odot G` reshaped to :math:`(N O_H O_W, F)`:

    .. math::

        \frac{\partial L}{\partial W} = P^\top\delta,\qquad
        \frac{\partial L}{\partial b} = \textstyle\sum_{\text{rows}}\delta,\qquad
        \frac{\partial L}{\partial P} = \delta W^\top,

    and :math:`\partial L/\partial X` adds every row of :math:`\partial L/\partial P` back
    onto the input cells its patch came from ("col2im", one strided slice per kernel
    offset), then drops the padding.

    Counts: :meth:`count_params` :math:`= k_h k_w C F + F` (:math:`F` only with a bias),
    Keras's ``count_params()``; :meth:`multiply_adds` :math:`= O_H O_W \cdot k_h k_w C F` per
    example (biases and activation not counted, as for Dense).

    Differences from Keras: no ``dilation_rate``, ``groups`` or ``data_format="channels_first"``
    (:mod:`nnlib.keras_bridge` refuses such Keras layers); ``in_channels`` is given up front.
    """

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel_size,
        strides=1,
        padding: str = "valid",
        activation="linear",
        *,
        use_bias: bool = True,
        rng: np.random.Generator | None = None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        dtype: str = "float64",
        name: str | None = None,
    ):
        super().__init__(name)
        self.in_channels = positive_int(in_channels, "in_channels")
        self.filters = positive_int(filters, "filters")
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.padding = _check_padding(padding)
        self.activation = activations.get(activation)
        self.use_bias = flag(use_bias, "use_bias")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dtype = float_dtype(dtype)
        rng = generator(rng)
        shape = (*self.kernel_size, self.in_channels, self.filters)
        self.params["kernel"] = np.asarray(initializers.get(kernel_initializer)(shape, rng), dtype=self.dtype)
        if self.use_bias:
            bias = initializers.get(bias_initializer)((self.filters,), rng)
            self.params["bias"] = np.asarray(bias, dtype=self.dtype)
        self.input_shape = None  # (H, W, C) of the last forward pass
        self._patches = None
        self._z = None

    @property
    def kernel(self) -> np.ndarray:
        return self.params["kernel"]

    @property
    def bias(self) -> np.ndarray:
        if not self.use_bias:
            return np.zeros(self.filters, dtype=self.dtype)
        return self.params["bias"]

    def output_shape(self, input_shape) -> tuple[int, int, int]:
        """``(O_H, O_W, F)`` for an input of shape ``(H, W, C)`` (no batch axis)."""
        height, width = self._spatial(input_shape, "output_shape")
        return (output_length(height, self.kernel_size[0], self.strides[0], self.padding),
                output_length(width, self.kernel_size[1], self.strides[1], self.padding), self.filters)

    def _spatial(self, input_shape, caller):
        shape = image_shape(self, input_shape, caller, self.kernel_size, "kernel", self.in_channels)
        return shape[0], shape[1]

    def _check_input(self, x):
        x = as_float_array(x, "x")
        if x.ndim != 4 or x.shape[3] != self.in_channels:
            raise ValueError(
                f"Conv2D layer {self.name!r} expected input of shape (batch, height, width, {self.in_channels}). "
                f"Received: x.shape={x.shape}"
            )
        self._spatial(x.shape[1:], "forward")
        return x.astype(self.dtype, copy=False)

    def _patch_matrix(self, x):
        """Zero-pad ``x`` and return its patches as a (N*O_H*O_W, k_h*k_w*C) matrix."""
        kh, kw = self.kernel_size
        (top, bottom), (left, right) = paddings(x.shape[1:3], self.kernel_size, self.strides, self.padding)
        if top or bottom or left or right:
            x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::self.strides[0], ::self.strides[1]]
        # windows: (N, O_H, O_W, C, kh, kw) -> rows ordered (kh, kw, C) like the kernel
        n, out_h, out_w = windows.shape[:3]
        return windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * out_h * out_w, kh * kw * self.in_channels), (n, out_h, out_w)

    def pre_activation(self, x):
        """:math:`Z = X * W + b` for a batch ``x`` of shape ``(batch, height, width, in_channels)``."""
        z, _ = self._pre_activation(self._check_input(x))
        return z

    def _pre_activation(self, x):
        patches, (n, out_h, out_w) = self._patch_matrix(x)
        z = patches @ self.kernel.reshape(-1, self.filters)
        if self.use_bias:
            z += self.bias
        return z.reshape(n, out_h, out_w, self.filters), patches

    def forward(self, x, training: bool = False):
        x = self._check_input(x)
        self._z, self._patches = self._pre_activation(x)
        self.input_shape = x.shape[1:]
        return self.activation(self._z)

    def backward(self, dout):
        self._require_cache("_z")
        dout = as_float_array(dout, "dout")
        if dout.shape != self._z.shape:
            raise ValueError(
                f"Conv2D layer {self.name!r} backward expected dout of shape {self._z.shape}. Received: dout.shape={dout.shape}"
            )
        return self._backward_delta(self.activation.backward(self._z, dout))

    def cached_pre_activation(self) -> np.ndarray:
        """:math:`Z` of the last forward pass (what the activation received)."""
        self._require_cache("_z")
        return self._z

    def backward_pre_activation(self, delta):
        r"""Back-propagate :math:`\partial L/\partial Z` directly, skipping the activation (as Dense's)."""
        self._require_cache("_z")
        delta = as_float_array(delta, "delta")
        if delta.shape != self._z.shape:
            raise ValueError(
                f"Conv2D layer {self.name!r} backward_pre_activation expected delta of shape {self._z.shape}. "
                f"Received: delta.shape={delta.shape}"
            )
        return self._backward_delta(delta)

    def _backward_delta(self, delta):
        delta = np.asarray(delta, dtype=self.dtype)
        n, out_h, out_w, _ = delta.shape
        rows = delta.reshape(-1, self.filters)
        kh, kw = self.kernel_size
        self.grads["kernel"] = (self._patches.T @ rows).reshape(self.kernel.shape)
        if self.use_bias:
            self.grads["bias"] = rows.sum(axis=0)
        dpatches = (rows @ self.kernel.reshape(-1, self.filters).T).reshape(n, out_h, out_w, kh, kw, self.in_channels)
        height, width, _ = self.input_shape
        (top, bottom), (left, right) = paddings((height, width), self.kernel_size, self.strides, self.padding)
        dpadded = np.zeros((n, height + top + bottom, width + left + right, self.in_channels), dtype=self.dtype)
        sh, sw = self.strides
        for u in range(kh):  # col2im: each kernel offset adds its slice of the patch gradients back
            for v in range(kw):
                dpadded[:, u:u + sh * (out_h - 1) + 1:sh, v:v + sw * (out_w - 1) + 1:sw, :] += dpatches[:, :, :, u, v, :]
        return dpadded[:, top:top + height, left:left + width, :]

    def _penalties(self):
        pairs = [("kernel", self.kernel_regularizer), ("bias", self.bias_regularizer if self.use_bias else None)]
        return [(key, regularizer) for key, regularizer in pairs if regularizer is not None]

    def regularization_loss(self) -> float:
        """The weight penalties' total (as Dense's)."""
        return float(sum(regularizer(self.params[key]) for key, regularizer in self._penalties()))

    def add_regularization_gradients(self) -> None:
        """Add the penalties' gradients to ``grads`` (called by the model after :meth:`backward`)."""
        for key, regularizer in self._penalties():
            self.grads[key] = self.grads[key] + regularizer.gradient(self.params[key])

    def multiply_adds(self, input_shape=None) -> int:
        r"""Multiply-adds per example: :math:`O_H O_W \cdot k_h k_w C F`.

        ``input_shape`` is ``(H, W, C)``; ``None`` uses the last forward pass's input.
        Biases and the activation are not counted (as for Dense).
        """
        if input_shape is None:
            if self.input_shape is None:
                raise ValueError(
                    f"Conv2D layer {self.name!r} multiply_adds expected input_shape=(height, width, {self.in_channels}) "
                    f"or a forward pass first. Received: input_shape=None before any forward pass"
                )
            input_shape = self.input_shape
        self._spatial(input_shape, "multiply_adds")
        out_h, out_w, _ = self.output_shape(input_shape)
        return out_h * out_w * self.kernel_size[0] * self.kernel_size[1] * self.in_channels * self.filters

    def __repr__(self):
        return (f"Conv2D({self.in_channels}, {self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, "
                f"padding={self.padding!r}, activation={self.activation.name!r})")
