r"""Residual (skip) connections: :math:`y = x + f(x)` around a stack of layers (chapter 23)."""
from __future__ import annotations

import numpy as np

from nnlib._validation import as_float_array
from nnlib.layers.base import Layer


def _width_in(layer):
    return getattr(layer, "in_features", getattr(layer, "num_features", None))


def _width_out(layer):
    return getattr(layer, "units", getattr(layer, "num_features", None))


class Residual(Layer):
    r"""A residual block: the input plus the output of a stack of layers, :math:`y = x + f(x)`.

    Used in chapter 23 (He et al. 2016). ``Residual([Dense(16, 16, "relu"), Dense(16, 16)])``
    is one layer of a :class:`~nnlib.model.Sequential`: forward, backward, ``fit``,
    optimizers, regularizers, ``get_weights``/``set_weights``, ``count_params``,
    ``multiply_adds``, ``summary`` and ``gradient_norms`` see the inner layers' parameters.

    Parameters
    ----------
    layers : list of Layer
        :math:`f`, applied in order. They must give back the input's shape: the widths that
        Dense and BatchNormalization layers declare are checked here (the first layer's
        ``in_features`` must equal the last one's ``units``, and each layer's input width
        the previous one's output width); any other mismatch is refused at the first forward.
        A layer may appear only once (a repeated layer would be updated twice per step).
    name : str, optional

    Attributes
    ----------
    layers : list of Layer
    params, grads : dict
        Views of the inner layers' dicts under the keys ``"<index>/<key>"`` (``"0/kernel"``,
        ``"0/bias"``, ``"1/kernel"``, ...; nested blocks give ``"0/1/kernel"``). The arrays
        in ``params`` are the inner layers' own, so an optimizer updating them in place trains
        the inner layers; ``grads`` always shows the inner layers' current gradients.
    in_features, units : int
        The block's width, when a Dense or BatchNormalization layer inside declares it
        (absent otherwise, as for an Activation layer).

    Notes
    -----
    With upstream gradient :math:`G = \partial L/\partial y` the skip adds the identity to
    the Jacobian:

    .. math::

        y = x + f(x), \qquad
        \frac{\partial L}{\partial x} = G + \Bigl(\frac{\partial f}{\partial x}\Bigr)^{\!\top} G,

    so the gradient reaching the block's input is never smaller than what passes the skip,
    however small the stack's own Jacobian is (the point of chapter 23). The inner layers'
    ``backward`` fill their ``grads`` as usual.

    Counts: :meth:`count_params` is the sum over the inner layers (Keras's ``Add`` layer has
    no weights); :meth:`multiply_adds` is their sum too, per example, e.g.
    :math:`2w^2` for two ``Dense(w, w)`` layers (the :math:`w` additions of the skip are not
    multiply-adds, as a bias is not).

    Keras correspondence: :func:`nnlib.keras_bridge.to_keras` builds the functional graph
    ``h = x; h = layer(h) ...; y = keras.layers.Add()([x, h])``. Weights
    (:meth:`get_weights`) are the inner layers' lists concatenated, in that graph's order.
    ``dtype`` is the inner layers' (float64 unless they say float32); the output has the
    dtype of :math:`f(x)`.
    """

    def __init__(self, layers, *, name: str | None = None):
        super().__init__(name)
        if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
            raise TypeError(f"Residual expected a list of nnlib layers. Received: {type(layers).__name__}")
        layers = list(layers)
        if not layers:
            raise ValueError("Residual expected at least one layer. Received: an empty list")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Residual expected nnlib layers. Received: {type(layer).__name__} at position {index}")
        for index, layer in enumerate(layers):
            if any(layer is other for other in layers[:index]):
                raise ValueError(f"Residual expected each layer once (a repeated layer shares its weights). Received: {layer!r} at position {index} again")
        width, first = None, None
        for index, layer in enumerate(layers):
            expected = _width_in(layer)
            if expected is not None:
                if width is not None and expected != width:
                    raise ValueError(
                        f"Residual expected each layer's input width to equal the previous layer's output width. "
                        f"Received: {layers[index - 1]!r} followed by {layer!r}"
                    )
                first = expected if first is None else first
            width = _width_out(layer) if _width_out(layer) is not None else width
        if first is not None and width != first:
            raise ValueError(
                f"Residual expected its layers to give back the input's width (y = x + f(x)). "
                f"Received: input width {first}, output width {width} from {layers!r}"
            )
        self.layers = layers
        if first is not None:
            self.in_features = self.units = first
        dtypes = [np.dtype(layer.dtype) for layer in layers if hasattr(layer, "dtype")]
        self.dtype = dtypes[0] if dtypes else np.dtype(np.float64)
        self._shape = None

    # params and grads are views of the inner layers' dicts (the base class sets them to {})

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{index}/{key}": value for index, layer in enumerate(self.layers) for key, value in layer.params.items()}

    @params.setter
    def params(self, value):
        if value:
            raise AttributeError("Residual.params is a view of its layers' params: set those")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{index}/{key}": value for index, layer in enumerate(self.layers) for key, value in layer.grads.items()}

    @grads.setter
    def grads(self, value):
        if value:
            raise AttributeError("Residual.grads is a view of its layers' grads: set those")

    def forward(self, x, training: bool = False):
        """:math:`x + f(x)`; every inner layer caches what its ``backward`` needs."""
        x = as_float_array(x, "x", min_ndim=1)
        out = x
        for layer in self.layers:
            out = layer.forward(out, training=training)
        if out.shape != x.shape:
            raise ValueError(
                f"Residual block {self.name!r} expected its layers to give back the input's shape {x.shape}. "
                f"Received: output shape {out.shape}"
            )
        self._shape = x.shape
        return out + x.astype(out.dtype, copy=False)

    def backward(self, dout):
        """:math:`G + (\\partial f/\\partial x)^\\top G`: the skip's gradient plus the stack's."""
        self._require_cache("_shape")
        dout = as_float_array(dout, "dout")
        if dout.shape != self._shape:
            raise ValueError(
                f"Residual block {self.name!r} backward expected dout of shape {self._shape}. Received: dout.shape={dout.shape}"
            )
        grad = dout
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad + dout.astype(grad.dtype, copy=False)

    def get_weights(self) -> list[np.ndarray]:
        """The inner layers' weights, concatenated in order (Keras's order for the block)."""
        return [value for layer in self.layers for value in layer.get_weights()]

    def set_weights(self, weights) -> None:
        """The inverse of :meth:`get_weights`; on any error nothing is changed."""
        if isinstance(weights, (str, bytes, np.ndarray)) or not hasattr(weights, "__iter__"):
            raise TypeError(f"{self.name}.set_weights expected a list of arrays. Received: {type(weights).__name__}")
        weights = list(weights)
        counts = [len(layer.get_weights()) for layer in self.layers]
        if len(weights) != sum(counts):
            raise ValueError(f"{self.name}.set_weights expected {sum(counts)} arrays. Received: {len(weights)}")
        saved = self.get_weights()
        try:
            position = 0
            for layer, count in zip(self.layers, counts):
                layer.set_weights(weights[position:position + count])
                position += count
        except Exception:
            position = 0
            for layer, count in zip(self.layers, counts):
                layer.set_weights(saved[position:position + count])
                position += count
            raise

    def count_params(self) -> int:
        """The inner layers' counts summed (their non-trainable weights included, as in Keras)."""
        return int(sum(layer.count_params() for layer in self.layers))

    def multiply_adds(self) -> int:
        """Multiply-adds per example: the inner layers' summed (the skip's additions are not counted)."""
        return int(sum(layer.multiply_adds() if hasattr(layer, "multiply_adds") else 0 for layer in self.layers))

    def regularization_loss(self) -> float:
        """The inner layers' weight penalties summed."""
        return float(sum(layer.regularization_loss() for layer in self.layers if hasattr(layer, "regularization_loss")))

    def add_regularization_gradients(self) -> None:
        """Add the inner layers' penalty gradients to their ``grads``."""
        for layer in self.layers:
            if hasattr(layer, "add_regularization_gradients"):
                layer.add_regularization_gradients()

    def __repr__(self):
        return "Residual([" + ", ".join(repr(layer) for layer in self.layers) + "])"
