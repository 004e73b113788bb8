r"""Batch normalization over the last axis (chapters 14, 16)."""
from __future__ import annotations

import numbers

import numpy as np

from nnlib._validation import as_float_array, flag as _flag, positive_float, positive_int
from nnlib.layers.base import Layer, float_dtype


class BatchNormalization(Layer):
    r"""Batch normalization of the last (feature) axis, as ``keras.layers.BatchNormalization``.

    Used in chapters 14 and 16.

    Parameters
    ----------
    num_features : int
        :math:`C`, the size of the last axis of the input.
    momentum : float in [0, 1], default 0.99
        Keras's convention: the weight of the *old* moving statistics (PyTorch's
        ``momentum`` is :math:`1 -` this).
    epsilon : float > 0, default 1e-3
        Added to the variance before the square root (Keras's default; PyTorch uses 1e-5).
    center : bool, default True
        Learn the shift :math:`\beta`; False fixes it at 0 and drops the parameter.
    scale : bool, default True
        Learn the scale :math:`\gamma`; False fixes it at 1 and drops the parameter.
    dtype : str, default "float64"
        float64 for gradient checks; float32 to compute like Keras.
    name : str, optional

    Attributes
    ----------
    params : dict
        The trainable parameters, ``{"gamma": (C,), "beta": (C,)}`` (either one absent
        when ``scale``/``center`` is False), initialised to ones and zeros.
    non_trainable : dict
        ``{"moving_mean": (C,), "moving_variance": (C,)}``, initialised to zeros and ones,
        updated in place by every training-mode forward pass. They are not in ``params``,
        so optimizers (and :meth:`nnlib.model.Sequential.parameters`) never touch them.

    Notes
    -----
    Input ``x`` of shape :math:`(N, C)`, or :math:`(N, \dots, C)` with the features last
    (then the statistics are taken over all axes but the last, :math:`m` values per
    feature). In training mode (``forward(x, training=True)``), with :math:`m = N`:

    .. math::

        \mu = \frac1m \sum_n x_n, \quad
        \sigma^2 = \frac1m \sum_n (x_n - \mu)^2, \quad
        \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \quad
        y = \gamma \odot \hat x + \beta ,

    with the *biased* variance (divided by :math:`m`, as Keras and TensorFlow's
    ``tf.nn.moments`` do), and the moving statistics become

    .. math::

        \mu_{\text{mov}} \leftarrow \rho\, \mu_{\text{mov}} + (1 - \rho)\, \mu, \qquad
        \sigma^2_{\text{mov}} \leftarrow \rho\, \sigma^2_{\text{mov}} + (1 - \rho)\, \sigma^2

    (:math:`\rho` = ``momentum``; Keras also stores the biased variance here). In
    inference mode (the default, ``training=False``) :math:`\mu_{\text{mov}}` and
    :math:`\sigma^2_{\text{mov}}` replace :math:`\mu` and :math:`\sigma^2` and nothing is
    updated.

    Backward in training mode, the compact form (upstream :math:`G = \partial L/\partial y`,
    sums over the :math:`m` rows):

    .. math::

        \frac{\partial L}{\partial \beta} = \sum_n G_n, \quad
        \frac{\partial L}{\partial \gamma} = \sum_n G_n \odot \hat x_n, \quad
        \frac{\partial L}{\partial x} = \frac{\gamma}{m\sqrt{\sigma^2 + \epsilon}} \odot
        \Bigl(m\,G - \sum_n G_n - \hat x \odot \sum_n G_n \odot \hat x_n\Bigr).

    In inference mode the layer is affine, and :math:`\partial L/\partial x = G\,\gamma /
    \sqrt{\sigma^2_{\text{mov}} + \epsilon}`.

    Weights: :meth:`get_weights` and :meth:`set_weights` use Keras's list
    ``[gamma, beta, moving_mean, moving_variance]`` (without ``gamma``/``beta`` when
    ``scale``/``center`` is False), so ``keras_layer.set_weights(layer.get_weights())``
    works both ways; they therefore hold more arrays than ``params``.
    :meth:`count_params` counts all of them, as Keras's ``count_params`` does
    (:math:`4C`, of which :math:`2C` are trainable).
    """

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        dtype: str = "float64",
        name: str | None = None,
    ):
        super().__init__(name)
        self.num_features = positive_int(num_features, "num_features")
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
            raise TypeError(f"momentum expected a number in [0, 1]. Received: {momentum!r}")
        self.momentum = positive_float(momentum, "momentum", allow_zero=True)
        if self.momentum > 1:
            raise ValueError(f"momentum expected a number in [0, 1]. Received: momentum={self.momentum}")
        self.epsilon = positive_float(epsilon, "epsilon")
        self.center = _flag(center, "center")
        self.scale = _flag(scale, "scale")
        self.dtype = float_dtype(dtype)
        if self.scale:
            self.params["gamma"] = np.ones(self.num_features, dtype=self.dtype)
        if self.center:
            self.params["beta"] = np.zeros(self.num_features, dtype=self.dtype)
        self.non_trainable: dict[str, np.ndarray] = {
            "moving_mean": np.zeros(self.num_features, dtype=self.dtype),
            "moving_variance": np.ones(self.num_features, dtype=self.dtype),
        }
        self._cache = None

    # --- named weights -------------------------------------------------------------

    @property
    def gamma(self) -> np.ndarray:
        return self.params["gamma"] if self.scale else np.ones(self.num_features, dtype=self.dtype)

    @property
    def beta(self) -> np.ndarray:
        return self.params["beta"] if self.center else np.zeros(self.num_features, dtype=self.dtype)

    @property
    def moving_mean(self) -> np.ndarray:
        return self.non_trainable["moving_mean"]

    @property
    def moving_variance(self) -> np.ndarray:
        return self.non_trainable["moving_variance"]

    def _weights(self) -> dict[str, np.ndarray]:
        return {**self.params, **self.non_trainable}

    def get_weights(self) -> list[np.ndarray]:
        """Copies of ``[gamma, beta, moving_mean, moving_variance]`` (Keras's order)."""
        return [value.copy() for value in self._weights().values()]

    def set_weights(self, weights) -> None:
        """Overwrite ``[gamma, beta, moving_mean, moving_variance]`` in place (Keras's order)."""
        if isinstance(weights, (str, bytes, np.ndarray)) or not hasattr(weights, "__iter__"):
            raise TypeError(f"{self.name}.set_weights expected a list of arrays. Received: {type(weights).__name__}")
        weights, current = list(weights), self._weights()
        if len(weights) != len(current):
            raise ValueError(
                f"{self.name}.set_weights expected {len(current)} arrays {list(current)}. Received: {len(weights)}"
            )
        new_by_key = {}
        for key, new in zip(current, weights):
            new = as_float_array(new, f"{self.name}.set_weights {key}")
            if new.shape != current[key].shape:
                raise ValueError(f"{self.name}.set_weights expected {key} of shape {current[key].shape}. Received: shape={new.shape}")
            new_by_key[key] = new
        if np.any(new_by_key["moving_variance"] < 0):
            raise ValueError(
                f"{self.name}.set_weights expected moving_variance >= 0. Received: min={new_by_key['moving_variance'].min()}"
            )
        for key, new in new_by_key.items():
            current[key][...] = new  # in place: optimizers hold references to params

    def count_params(self) -> int:
        """All weights, moving statistics included (as Keras counts): ``4 * num_features``."""
        return int(sum(value.size for value in self._weights().values()))

    # --- forward and backward ------------------------------------------------------

    def _input(self, x) -> np.ndarray:
        x = as_float_array(x, "x")
        if x.ndim < 2 or x.shape[-1] != self.num_features:
            raise ValueError(
                f"BatchNormalization layer {self.name!r} expected input of shape (batch, ..., {self.num_features}). "
                f"Received: x.shape={x.shape}"
            )
        return x.astype(self.dtype, copy=False)

    def forward(self, x, training: bool = False):
        x = self._input(x)
        axes = tuple(range(x.ndim - 1))
        if training:
            if x.size == 0:  # the batch statistics of nothing are NaN, and would poison the moving ones
                raise ValueError(
                    f"BatchNormalization layer {self.name!r} expected at least one example in training mode. Received: x.shape={x.shape}"
                )
            mean = x.mean(axis=axes)
            variance = np.square(x - mean).mean(axis=axes)  # biased, as tf.nn.moments
            # both factors rounded from Python floats, as Keras does (1 - momentum first)
            keep, new = self.dtype.type(self.momentum), self.dtype.type(1.0 - self.momentum)
            for key, batch_value in (("moving_mean", mean), ("moving_variance", variance)):
                moving = self.non_trainable[key]
                moving[...] = moving * keep + batch_value * new
        else:
            mean, variance = self.moving_mean, self.moving_variance
        inverse_std = 1 / np.sqrt(variance + self.dtype.type(self.epsilon))
        x_hat = (x - mean) * inverse_std
        self._cache = (x_hat, inverse_std, bool(training))
        return self.gamma * x_hat + self.beta

    def backward(self, dout):
        self._require_cache("_cache")
        x_hat, inverse_std, training = self._cache
        dout = as_float_array(dout, "dout")
        if dout.shape != x_hat.shape:
            raise ValueError(
                f"BatchNormalization layer {self.name!r} backward expected dout of shape {x_hat.shape}. Received: dout.shape={dout.shape}"
            )
        dout = dout.astype(self.dtype, copy=False)
        axes = tuple(range(dout.ndim - 1))
        if self.scale:
            self.grads["gamma"] = np.sum(dout * x_hat, axis=axes)
        if self.center:
            self.grads["beta"] = np.sum(dout, axis=axes)
        dx_hat = dout * self.gamma
        if not training:
            return dx_hat * inverse_std
        count = x_hat.size // self.num_features  # m, the values behind each mean
        return (inverse_std / count) * (
            count * dx_hat - dx_hat.sum(axis=axes) - x_hat * np.sum(dx_hat * x_hat, axis=axes)
        )

    def multiply_adds(self) -> int:
        """Per example at inference: one multiply-add per feature (the folded :math:`a x + b`)."""
        return self.num_features

    def __repr__(self):
        return f"BatchNormalization({self.num_features}, momentum={self.momentum}, epsilon={self.epsilon})"
