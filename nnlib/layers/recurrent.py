r"""Recurrent layers: SimpleRNN, LSTM and GRU with backpropagation through time (chapters 26, 27).

Each layer reads a batch of sequences ``x`` of shape ``(batch, time, in_features)``, starts
from a zero state and applies the same cell at every time step. With
``return_sequences=False`` (Keras's default) it returns the last hidden state
``(batch, units)`` (many-to-one); with ``True`` every hidden state ``(batch, time, units)``
(many-to-many).

Weights have Keras's names, order and shapes: ``kernel`` ``(in_features, G * units)``,
``recurrent_kernel`` ``(units, G * units)`` and ``bias`` ``(G * units,)`` (GRU:
``(2, 3 * units)``), with ``G`` = 1 (SimpleRNN), 4 (LSTM, gates i, f, c, o) or 3 (GRU,
gates z, r, h), so ``keras_bridge`` copies them without transposes. The input projection
:math:`x_t W + b` of all time steps is one matrix product before the loop; only
:math:`h_{t-1} U` is computed step by step. :meth:`backward` runs the loop in reverse
(backpropagation through time) and forms the weight gradients as single matrix products
over all steps afterwards.

Differences from Keras: no ``dropout``/``recurrent_dropout``, masking, ``initial_state``,
``return_state``, ``go_backwards`` or ``stateful``; no weight regularizers or constraints;
GRU only in its ``reset_after=True`` form (Keras's default). ``keras_bridge.from_keras``
refuses a Keras layer that uses any of these. The logistic sigmoid is computed as
:math:`(1 + \tanh(z/2))/2`, equal to Keras's within rounding. ``multiply_adds`` counts the
two matrix products of every step (see :meth:`SimpleRNN.multiply_adds`).
"""
from __future__ import annotations

import numpy as np

from nnlib import activations, initializers
from nnlib._validation import as_float_array, flag, generator, positive_int
from nnlib.layers.base import Layer, float_dtype


def _fast_sigmoid(z):
    # 1/(1+e^-z) = (1 + tanh(z/2))/2: no overflow, and one ufunc call instead of masks
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class _Fn:
    """An elementwise activation with its derivative from the output (tanh, sigmoid) or the input."""

    def __init__(self, activation, name: str):
        self.activation = activations.get(activation)
        if self.activation.name == "softmax":
            raise ValueError(f"{name} expected an elementwise activation. Received: {name}='softmax'")
        self.name = self.activation.name
        self.by_output = self.name in ("tanh", "sigmoid") and type(self.activation) is type(activations.get(self.name))

    def __call__(self, z):
        if self.by_output:
            return np.tanh(z) if self.name == "tanh" else _fast_sigmoid(z)
        return self.activation.forward(z)

    def derivative(self, z, a):
        """:math:`\\varphi'(z)`; for tanh and sigmoid computed from the output ``a``."""
        if self.by_output:
            return 1.0 - a * a if self.name == "tanh" else a * (1.0 - a)
        return self.activation.derivative(z)


class _Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share: arguments, weights, input checks, the output."""

    _gates = 1
    _bias_rows = None  # GRU's bias has two rows

    def __init__(self, in_features, units, activation, recurrent_activation, *, return_sequences, use_bias, rng,
                 kernel_initializer, recurrent_initializer, bias_initializer, dtype, name):
        super().__init__(name)
        self.in_features = positive_int(in_features, "in_features")
        self.units = positive_int(units, "units")
        self._activation = _Fn(activation, "activation")
        self._recurrent_activation = None if recurrent_activation is None else _Fn(recurrent_activation, "recurrent_activation")
        self.return_sequences = flag(return_sequences, "return_sequences")
        self.use_bias = flag(use_bias, "use_bias")
        self.dtype = float_dtype(dtype)
        rng = generator(rng)
        width = self._gates * self.units
        kernel = initializers.get(kernel_initializer)((self.in_features, width), rng)
        recurrent = initializers.get(recurrent_initializer)((self.units, width), rng)
        self.params["kernel"] = np.asarray(kernel, dtype=self.dtype)
        self.params["recurrent_kernel"] = np.asarray(recurrent, dtype=self.dtype)
        if self.use_bias:
            self.params["bias"] = np.asarray(self._initial_bias(initializers.get(bias_initializer), rng), dtype=self.dtype)
        self._cache = None
        self._timesteps = None

    def _initial_bias(self, initializer, rng):
        shape = (self._gates * self.units,) if self._bias_rows is None else (self._bias_rows, self._gates * self.units)
        return initializer(shape, rng)

    @property
    def activation(self):
        return self._activation.activation

    @property
    def recurrent_activation(self):
        return None if self._recurrent_activation is None else self._recurrent_activation.activation

    def _input(self, x):
        x = as_float_array(x, "x")
        kind = type(self).__name__
        if x.ndim != 3 or x.shape[2] != self.in_features or x.shape[1] < 1:
            raise ValueError(
                f"{kind} layer {self.name!r} expected input of shape (batch, time >= 1, {self.in_features}). Received: x.shape={x.shape}"
            )
        self._timesteps = x.shape[1]
        # time-major and contiguous: the loop reads x_t W + b as xw[t]
        return np.ascontiguousarray(x.astype(self.dtype, copy=False).transpose(1, 0, 2))

    def _projection(self, xt, bias):
        steps, batch, _ = xt.shape
        xw = (xt.reshape(steps * batch, self.in_features) @ self.params["kernel"]).reshape(steps, batch, -1)
        if bias is not None:
            xw += bias
        return xw

    def _output(self, hs):
        return hs.transpose(1, 0, 2).copy() if self.return_sequences else hs[-1].copy()

    def _upstream(self, dout):
        self._require_cache("_cache")
        dout = as_float_array(dout, "dout")
        steps, batch = self._cache["x"].shape[:2]
        expected = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if dout.shape != expected:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} backward expected dout of shape {expected}. Received: dout.shape={dout.shape}"
            )
        dout = dout.astype(self.dtype, copy=False)
        if self.return_sequences:
            return np.ascontiguousarray(dout.transpose(1, 0, 2)), True
        return dout, False

    def _weight_gradients(self, xt, dxw, hprev, dhu):
        """dW = sum_t x_t^T dZ_t, dU = sum_t h_{t-1}^T dZ'_t, one matrix product each; returns dx."""
        steps, batch, _ = xt.shape
        width = dxw.shape[-1]
        flat = dxw.reshape(steps * batch, width)
        self.grads["kernel"] = xt.reshape(steps * batch, self.in_features).T @ flat
        self.grads["recurrent_kernel"] = hprev.reshape(steps * batch, self.units).T @ dhu.reshape(steps * batch, width)
        dx = (flat @ self.params["kernel"].T).reshape(steps, batch, self.in_features)
        return dx.transpose(1, 0, 2).copy()

    def multiply_adds(self, timesteps: int | None = None) -> int:
        """Multiply-adds per example: ``timesteps * G * units * (in_features + units)``.

        The two matrix products of every step, :math:`x_t W` and :math:`h_{t-1} U`, with
        ``G`` = 1 (SimpleRNN), 4 (LSTM) or 3 (GRU); biases, activations and the elementwise
        gate products are not counted. ``timesteps`` defaults to the length of the last
        input ``forward`` saw, or 1 (one step) before any.
        """
        if timesteps is None:
            timesteps = self._timesteps or 1
        timesteps = positive_int(timesteps, "timesteps")
        return timesteps * self._gates * self.units * (self.in_features + self.units)

    def __repr__(self):
        return f"{type(self).__name__}({self.in_features}, {self.units}, return_sequences={self.return_sequences})"


class SimpleRNN(_Recurrent):
    r"""Fully connected recurrent layer :math:`h_t = \varphi(x_t W + h_{t-1} U + b)`, :math:`h_0 = 0`.

    Parameters
    ----------
    in_features : int
        Features per time step (last axis of ``x``).
    units : int
        Size of the hidden state.
    activation : str or Activation, default "tanh"
        :math:`\varphi`, elementwise (Keras's default, tanh).
    return_sequences : bool, default False
        Return every :math:`h_t`, shape ``(batch, time, units)``, instead of the last one
        ``(batch, units)``.
    use_bias : bool, default True
    rng : numpy.random.Generator, optional
        Source of the initial weights.
    kernel_initializer, recurrent_initializer, bias_initializer : str or callable
        Keras's defaults: Glorot uniform, orthogonal, zeros.
    dtype : str, default "float64"

    Notes
    -----
    ``keras.layers.SimpleRNN(units)`` with the same weights computes the same function
    (no dropout, masking, state input or ``go_backwards``). Backpropagation through time, with
    :math:`\delta_t = \varphi'(z_t) \odot (\partial L/\partial h_t + \delta_{t+1} U^\top)`:

    .. math::

        \frac{\partial L}{\partial W} = \sum_t x_t^\top \delta_t,\quad
        \frac{\partial L}{\partial U} = \sum_t h_{t-1}^\top \delta_t,\quad
        \frac{\partial L}{\partial b} = \sum_t \textstyle\sum_n \delta_{t,n},\quad
        \frac{\partial L}{\partial x_t} = \delta_t W^\top.
    """

    _gates = 1

    def __init__(self, in_features: int, units: int, activation="tanh", *, return_sequences: bool = False,
                 use_bias: bool = True, rng: np.random.Generator | None = None, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", dtype: str = "float64",
                 name: str | None = None):
        super().__init__(in_features, units, activation, None, return_sequences=return_sequences, use_bias=use_bias,
                         rng=rng, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, dtype=dtype, name=name)

    def forward(self, x, training: bool = False):
        xt = self._input(x)
        steps, batch, _ = xt.shape
        z = self._projection(xt, self.params.get("bias"))  # becomes z_t = x_t W + b + h_{t-1} U in the loop
        U = self.params["recurrent_kernel"]
        hs = np.empty((steps, batch, self.units), dtype=self.dtype)
        h = np.zeros((batch, self.units), dtype=self.dtype)
        for t in range(steps):
            z[t] += h @ U
            h = hs[t] = self._activation(z[t])
        self._cache = {"x": xt, "z": z, "h": hs}
        return self._output(hs)

    def backward(self, dout):
        dh_out, every_step = self._upstream(dout)
        c = self._cache
        steps, batch = c["x"].shape[:2]
        U = self.params["recurrent_kernel"]
        dz = np.empty_like(c["z"])
        dh = dh_out if not every_step else np.zeros((batch, self.units), dtype=self.dtype)
        for t in range(steps - 1, -1, -1):
            if every_step:
                dh = dh + dh_out[t]
            dz[t] = dh * self._activation.derivative(c["z"][t], c["h"][t])
            dh = dz[t] @ U.T
        hprev = np.concatenate([np.zeros((1, batch, self.units), dtype=self.dtype), c["h"][:-1]])
        dx = self._weight_gradients(c["x"], dz, hprev, dz)
        if self.use_bias:
            self.grads["bias"] = dz.sum(axis=(0, 1))
        return dx


class LSTM(_Recurrent):
    r"""Long short-term memory layer (Hochreiter and Schmidhuber, 1997), Keras's formulation.

    With :math:`\sigma` the recurrent activation (sigmoid) and :math:`\varphi` the activation
    (tanh), and the four column blocks of ``kernel``, ``recurrent_kernel`` and ``bias`` in
    Keras's order i, f, c, o:

    .. math::

        i_t = \sigma(x_t W_i + h_{t-1} U_i + b_i),\quad
        f_t = \sigma(x_t W_f + h_{t-1} U_f + b_f),\quad
        g_t = \varphi(x_t W_c + h_{t-1} U_c + b_c),\quad
        o_t = \sigma(x_t W_o + h_{t-1} U_o + b_o),

        c_t = f_t \odot c_{t-1} + i_t \odot g_t,\qquad h_t = o_t \odot \varphi(c_t),

    from :math:`h_0 = c_0 = 0`. :math:`g_t` is the *candidate* cell value (Keras's block "c");
    the input gate :math:`i_t` decides how much of it is written.

    Parameters
    ----------
    in_features, units : int
    activation : default "tanh"; recurrent_activation : default "sigmoid"
        Elementwise activations (Keras's defaults; Keras 3's sigmoid is the logistic, not
        the hard sigmoid).
    return_sequences : bool, default False
    use_bias : bool, default True
    unit_forget_bias : bool, default True
        As in Keras: the forget block of the initial bias is 1 (the others from
        ``bias_initializer``), so a new LSTM starts by keeping its cell.
    rng, kernel_initializer, recurrent_initializer, bias_initializer, dtype
        As :class:`SimpleRNN` (Glorot uniform, orthogonal, zeros).

    Notes
    -----
    Equal to ``keras.layers.LSTM(units)`` with copied weights (no dropout, masking, state
    input, ``return_state`` or ``go_backwards``). :meth:`backward` passes the gradients of
    :math:`h` and :math:`c` back through time:
    :math:`\bar c_t \mathrel{+}= \bar h_t \odot o_t \odot \varphi'(c_t)`,
    :math:`\bar c_{t-1} = \bar c_t \odot f_t`, and
    :math:`\bar h_{t-1} = \delta_t U^\top` with :math:`\delta_t` the four gates'
    pre-activation gradients.
    """

    _gates = 4

    def __init__(self, in_features: int, units: int, activation="tanh", recurrent_activation="sigmoid", *,
                 return_sequences: bool = False, use_bias: bool = True, unit_forget_bias: bool = True,
                 rng: np.random.Generator | None = None, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", dtype: str = "float64",
                 name: str | None = None):
        self.unit_forget_bias = flag(unit_forget_bias, "unit_forget_bias")
        super().__init__(in_features, units, activation, recurrent_activation, return_sequences=return_sequences,
                         use_bias=use_bias, rng=rng, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer, dtype=dtype,
                         name=name)

    def _initial_bias(self, initializer, rng):
        u = self.units
        if not self.unit_forget_bias:
            return initializer((4 * u,), rng)
        return np.concatenate([initializer((u,), rng), np.ones(u), initializer((2 * u,), rng)])

    def forward(self, x, training: bool = False):
        xt = self._input(x)
        steps, batch, _ = xt.shape
        u = self.units
        z = self._projection(xt, self.params.get("bias"))
        U = self.params["recurrent_kernel"]
        sigma, phi = self._recurrent_activation, self._activation
        keep_z = not (sigma.by_output and phi.by_output)
        gates = np.empty_like(z)  # i, f, g, o after their activations
        cs = np.empty((steps, batch, u), dtype=self.dtype)
        tcs = np.empty_like(cs)
        hs = np.empty_like(cs)
        h = np.zeros((batch, u), dtype=self.dtype)
        c = np.zeros((batch, u), dtype=self.dtype)
        for t in range(steps):
            zt = z[t]
            zt += h @ U
            a = gates[t]
            a[:, :2 * u] = sigma(zt[:, :2 * u])
            a[:, 2 * u:3 * u] = phi(zt[:, 2 * u:3 * u])
            a[:, 3 * u:] = sigma(zt[:, 3 * u:])
            c = cs[t] = a[:, u:2 * u] * c + a[:, :u] * a[:, 2 * u:3 * u]
            tc = tcs[t] = phi(c)
            h = hs[t] = a[:, 3 * u:] * tc
        self._cache = {"x": xt, "z": z if keep_z else None, "gates": gates, "c": cs, "tc": tcs, "h": hs}
        return self._output(hs)

    def backward(self, dout):
        dh_out, every_step = self._upstream(dout)
        k = self._cache
        steps, batch = k["x"].shape[:2]
        u = self.units
        U_T = self.params["recurrent_kernel"].T.copy()
        sigma, phi = self._recurrent_activation, self._activation
        z = k["z"]
        gates, cs, tcs = k["gates"], k["c"], k["tc"]
        dz = np.empty_like(gates)
        dh = dh_out if not every_step else np.zeros((batch, u), dtype=self.dtype)
        dc = np.zeros((batch, u), dtype=self.dtype)
        zeros = np.zeros((batch, u), dtype=self.dtype)
        for t in range(steps - 1, -1, -1):
            if every_step:
                dh = dh + dh_out[t]
            a = gates[t]
            i, f, g, o = a[:, :u], a[:, u:2 * u], a[:, 2 * u:3 * u], a[:, 3 * u:]
            zt = None if z is None else z[t]
            part = (lambda lo, hi: None) if zt is None else (lambda lo, hi: zt[:, lo:hi])
            dc = dc + dh * o * phi.derivative(cs[t], tcs[t])
            c_prev = cs[t - 1] if t > 0 else zeros
            d = dz[t]
            d[:, :u] = dc * g * sigma.derivative(part(0, u), i)
            d[:, u:2 * u] = dc * c_prev * sigma.derivative(part(u, 2 * u), f)
            d[:, 2 * u:3 * u] = dc * i * phi.derivative(part(2 * u, 3 * u), g)
            d[:, 3 * u:] = dh * tcs[t] * sigma.derivative(part(3 * u, 4 * u), o)
            dc = dc * f
            dh = d @ U_T
        hprev = np.concatenate([np.zeros((1, batch, u), dtype=self.dtype), k["h"][:-1]])
        dx = self._weight_gradients(k["x"], dz, hprev, dz)
        if self.use_bias:
            self.grads["bias"] = dz.sum(axis=(0, 1))
        return dx


class GRU(_Recurrent):
    r"""Gated recurrent unit (Cho et al., 2014) in Keras's ``reset_after=True`` form.

    The column blocks of ``kernel``, ``recurrent_kernel`` and both bias rows are in Keras's
    order z (update), r (reset), h (candidate); ``bias[0]`` is added to the input
    projection and ``bias[1]`` to the recurrent one, so the reset gate multiplies
    :math:`h_{t-1} U_h + b^{(r)}_h` after the matrix product ("reset after"):

    .. math::

        z_t = \sigma(x_t W_z + b^{(x)}_z + h_{t-1} U_z + b^{(r)}_z),\quad
        r_t = \sigma(x_t W_r + b^{(x)}_r + h_{t-1} U_r + b^{(r)}_r),

        \tilde h_t = \varphi\bigl(x_t W_h + b^{(x)}_h + r_t \odot (h_{t-1} U_h + b^{(r)}_h)\bigr),\qquad
        h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t,

    from :math:`h_0 = 0`. Note Keras's convention: :math:`z_t` is the share of the *old*
    state kept, as in Cho et al. (2014); Chung et al. (2014) write the interpolation the other way round.

    Parameters
    ----------
    in_features, units : int
    activation : default "tanh"; recurrent_activation : default "sigmoid"
    return_sequences : bool, default False
    use_bias : bool, default True
        The bias has shape ``(2, 3 * units)`` (input row, recurrent row), as Keras's.
    rng, kernel_initializer, recurrent_initializer, bias_initializer, dtype
        As :class:`SimpleRNN`.

    Notes
    -----
    Equal to ``keras.layers.GRU(units)`` (``reset_after=True``, its default) with copied
    weights; ``reset_after=False`` (the original GRU) is not implemented.
    """

    _gates = 3
    _bias_rows = 2

    def __init__(self, in_features: int, units: int, activation="tanh", recurrent_activation="sigmoid", *,
                 return_sequences: bool = False, use_bias: bool = True, rng: np.random.Generator | None = None,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 dtype: str = "float64", name: str | None = None):
        super().__init__(in_features, units, activation, recurrent_activation, return_sequences=return_sequences,
                         use_bias=use_bias, rng=rng, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer, dtype=dtype,
                         name=name)

    def forward(self, x, training: bool = False):
        xt = self._input(x)
        steps, batch, _ = xt.shape
        u = self.units
        bias = self.params.get("bias")
        xw = self._projection(xt, None if bias is None else bias[0])
        U = self.params["recurrent_kernel"]
        sigma, phi = self._recurrent_activation, self._activation
        keep_z = not (sigma.by_output and phi.by_output)
        pre = np.empty_like(xw) if keep_z else None  # pre-activations of z, r, h
        gates = np.empty_like(xw)  # z, r, candidate after their activations
        hu = np.empty_like(xw)  # h_{t-1} U + b_rec
        hs = np.empty((steps, batch, u), dtype=self.dtype)
        h = np.zeros((batch, u), dtype=self.dtype)
        for t in range(steps):
            rec = hu[t]
            np.matmul(h, U, out=rec)
            if bias is not None:
                rec += bias[1]
            a = gates[t]
            zr = xw[t, :, :2 * u] + rec[:, :2 * u]
            a[:, :2 * u] = sigma(zr)
            zh = xw[t, :, 2 * u:] + a[:, u:2 * u] * rec[:, 2 * u:]
            a[:, 2 * u:] = phi(zh)
            if keep_z:
                pre[t, :, :2 * u], pre[t, :, 2 * u:] = zr, zh
            h = hs[t] = a[:, :u] * h + (1.0 - a[:, :u]) * a[:, 2 * u:]
        self._cache = {"x": xt, "pre": pre, "gates": gates, "hu": hu, "h": hs}
        return self._output(hs)

    def backward(self, dout):
        dh_out, every_step = self._upstream(dout)
        k = self._cache
        steps, batch = k["x"].shape[:2]
        u = self.units
        U_T = self.params["recurrent_kernel"].T.copy()
        sigma, phi = self._recurrent_activation, self._activation
        gates, hu, hs, pre = k["gates"], k["hu"], k["h"], k["pre"]
        dxw = np.empty_like(gates)
        dhu = np.empty_like(gates)
        dh = dh_out if not every_step else np.zeros((batch, u), dtype=self.dtype)
        zeros = np.zeros((batch, u), dtype=self.dtype)
        for t in range(steps - 1, -1, -1):
            if every_step:
                dh = dh + dh_out[t]
            a = gates[t]
            zg, r, cand = a[:, :u], a[:, u:2 * u], a[:, 2 * u:]
            part = (lambda lo, hi: None) if pre is None else (lambda lo, hi, t=t: pre[t, :, lo:hi])
            h_prev = hs[t - 1] if t > 0 else zeros
            da_h = dh * (1.0 - zg) * phi.derivative(part(2 * u, 3 * u), cand)
            d = dxw[t]
            d[:, :u] = dh * (h_prev - cand) * sigma.derivative(part(0, u), zg)
            d[:, u:2 * u] = da_h * hu[t, :, 2 * u:] * sigma.derivative(part(u, 2 * u), r)
            d[:, 2 * u:] = da_h
            e = dhu[t]
            e[:, :2 * u] = d[:, :2 * u]
            e[:, 2 * u:] = da_h * r
            dh = dh * zg + e @ U_T
        hprev = np.concatenate([np.zeros((1, batch, u), dtype=self.dtype), hs[:-1]])
        dx = self._weight_gradients(k["x"], dxw, hprev, dhu)
        if self.use_bias:
            self.grads["bias"] = np.stack([dxw.sum(axis=(0, 1)), dhu.sum(axis=(0, 1))])
        return dx
