"""The interface every nnlib layer implements."""
from __future__ import annotations

import numpy as np

from nnlib._validation import as_float_array


def float_dtype(dtype) -> np.dtype:
    """A layer's ``dtype``: ``"float32"`` or ``"float64"`` (or those NumPy dtypes)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or dtype is None or resolved not in (np.float32, np.float64):
        raise ValueError(f"dtype expected 'float32' or 'float64'. Received: dtype={dtype!r}")
    return resolved


class Layer:
    """Base class: a layer with named parameters and gradients.

    Attributes
    ----------
    params : dict[str, ndarray]
        Trainable arrays, updated in place by optimizers.
    grads : dict[str, ndarray]
        Gradients of the loss with respect to ``params``, filled by ``backward``.
    """

    def __init__(self, name: str | None = None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name expected a string or None. Received: name={name!r}")
        self.name = name or type(self).__name__.lower()
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x, training: bool = False):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x, training: bool = False):
        return self.forward(x, training=training)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters, in Keras's order."""
        return [value.copy() for value in self.params.values()]

    def set_weights(self, weights) -> None:
        """Overwrite the parameters in place (Keras's order and shapes).

        Weights are numeric arrays of the right shapes; inf and NaN are accepted (a diverged
        model's weights can be saved and put back).
        """
        if isinstance(weights, (str, bytes, np.ndarray)) or not hasattr(weights, "__iter__"):
            raise TypeError(f"{self.name}.set_weights expected a list of arrays. Received: {type(weights).__name__}")
        weights = list(weights)
        if len(weights) != len(self.params):
            raise ValueError(f"{self.name}.set_weights expected {len(self.params)} arrays. Received: {len(weights)}")
        checked = []
        for (key, current), new in zip(self.params.items(), weights):
            new = as_float_array(new, f"{self.name}.set_weights {key}")
            if new.shape != current.shape:
                raise ValueError(f"{self.name}.set_weights expected {key} of shape {current.shape}. Received: shape={new.shape}")
            checked.append(new)
        for current, new in zip(self.params.values(), checked):  # all checked first: nothing half-written
            current[...] = new

    def count_params(self) -> int:
        return int(sum(value.size for value in self.params.values()))

    def _require_cache(self, attribute: str):
        if getattr(self, attribute, None) is None:
            raise RuntimeError(f"{self.name}.backward called before forward")


class KernelLayer(Layer):
    """What Dense and Conv2D share: a ``kernel`` and an optional ``bias`` (output width last),
    an elementwise activation, weight penalties, and a backward pass split at the
    pre-activation :math:`Z`.

    A subclass sets ``params``, ``use_bias``, ``activation``, ``kernel_regularizer`` and
    ``bias_regularizer``, caches ``_z`` in ``forward``, and implements
    ``_backward_delta(delta)``: fill ``grads`` from :math:`\\delta = \\partial L/\\partial Z`
    and return the gradient for the input.
    """

    @property
    def kernel(self) -> np.ndarray:
        return self.params["kernel"]

    @property
    def bias(self) -> np.ndarray:
        if not self.use_bias:
            return np.zeros(self.kernel.shape[-1], dtype=self.dtype)
        return self.params["bias"]

    def backward(self, dout):
        self._require_cache("_z")
        dout = as_float_array(dout, "dout")
        if dout.shape != self._z.shape:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} backward expected dout of shape {self._z.shape}. "
                f"Received: dout.shape={dout.shape}"
            )
        return self._backward_delta(self.activation.backward(self._z, dout))

    def cached_pre_activation(self) -> np.ndarray:
        """:math:`Z`, the logits of the last forward pass (what the activation received)."""
        self._require_cache("_z")
        return self._z

    def backward_pre_activation(self, delta):
        r"""Back-propagate :math:`\delta = \partial L/\partial Z` directly, skipping the activation.

        Used by :class:`~nnlib.model.Sequential` for a cross-entropy computed from the logits
        of a sigmoid or softmax output layer. Fills ``grads``; returns the input's gradient.
        """
        self._require_cache("_z")
        delta = as_float_array(delta, "delta")
        if delta.shape != self._z.shape:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} backward_pre_activation expected delta of shape "
                f"{self._z.shape}. Received: delta.shape={delta.shape}"
            )
        return self._backward_delta(delta.astype(self.dtype, copy=False))

    def _backward_delta(self, delta):  # pragma: no cover - abstract
        raise NotImplementedError

    def _penalties(self):
        pairs = [("kernel", self.kernel_regularizer), ("bias", self.bias_regularizer if self.use_bias else None)]
        return [(key, regularizer) for key, regularizer in pairs if regularizer is not None]

    def regularization_loss(self) -> float:
        """The weight penalties' total, for example :math:`\\lambda\\sum w^2` for ``L2(lambda)``."""
        return float(sum(regularizer(self.params[key]) for key, regularizer in self._penalties()))

    def add_regularization_gradients(self) -> None:
        """Add the penalties' gradients to ``grads`` (called by the model after :meth:`backward`)."""
        for key, regularizer in self._penalties():
            self.grads[key] = self.grads[key] + regularizer.gradient(self.params[key])
