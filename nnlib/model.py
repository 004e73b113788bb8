"""A small Keras-like ``Sequential`` model for nnlib layers.

``compile`` / ``fit`` / ``evaluate`` / ``predict`` behave like their Keras namesakes so
that a chapter can run the same experiment on both sides; ``forward`` / ``backward``
expose the mechanism.
"""
from __future__ import annotations

import numpy as np

from nnlib import callbacks as callbacks_module
from nnlib import losses as losses_module
from nnlib import optimizers as optimizers_module
from nnlib._validation import as_float_array, generator, positive_int
from nnlib.layers.base import Layer


class History:
    """What ``fit`` returns: ``history`` maps each metric to one value per epoch (as in Keras)."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def _record(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


Callback = callbacks_module.Callback  # kept here too: `from nnlib.model import Callback` still works


def accuracy(y_true, y_pred, loss=None) -> float:
    """Accuracy, resolved as Keras resolves its ``"accuracy"`` metric, with one difference.

    One output column (or a 1-D output): binary accuracy, threshold 0.5 on probabilities.
    On logits (``loss`` a from-logits cross-entropy) the threshold is 0, the logit of 0.5;
    Keras keeps 0.5 there, which is not what the threshold means. Several columns: argmax,
    against integer labels (shape ``(batch,)`` or ``(batch, 1)``) or one-hot rows.
    """
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true)
    if y_pred.ndim == 1 or y_pred.shape[-1] == 1:
        threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
        predicted = (y_pred.reshape(-1) > threshold).astype(float)
        return float(np.mean(predicted == y_true.reshape(-1)))
    predicted = np.argmax(y_pred, axis=-1)
    one_hot = y_true.ndim == y_pred.ndim and y_true.shape[-1] == y_pred.shape[-1]
    labels = np.argmax(y_true, axis=-1) if one_hot else y_true.reshape(-1)
    return float(np.mean(predicted == labels))


class Sequential:
    """A stack of layers applied in order.

    Parameters
    ----------
    layers : list of Layer
        For example ``[Dense(2, 2, "tanh"), Dense(2, 1, "sigmoid")]``.
    """

    def __init__(self, layers):
        layers = list(layers)
        if not layers:
            raise ValueError("Sequential expected at least one layer. Received: an empty list")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential expected nnlib layers. Received: {type(layer).__name__} at position {index}")
        widths = [getattr(layer, "units", getattr(layer, "num_features", None)) for layer in layers]
        for index, (previous, current) in enumerate(zip(layers, layers[1:])):
            # the width flowing into `current`: the last layer before it that sets one
            units = next((width for width in reversed(widths[:index + 1]) if width is not None), None)
            expected = getattr(current, "in_features", getattr(current, "num_features", None))
            if units is not None and expected is not None and units != expected:
                raise ValueError(
                    f"Sequential expected each layer's in_features to equal the previous layer's units. "
                    f"Received: {previous!r} followed by {current!r}"
                )
        self.layers = layers
        self.loss = None
        self.optimizer = None
        self.metrics: tuple[str, ...] = ()
        self.stop_training = False

    # --- the mechanism -------------------------------------------------------------

    def forward(self, x, training: bool = False):
        """Apply every layer in order; layers cache what ``backward`` needs."""
        out = as_float_array(x, "x")
        for layer in self.layers:
            out = layer.forward(out, training=training)
        return out

    def backward(self, dout):
        """Back-propagate ``dout`` (gradient w.r.t. the output); returns the input gradient."""
        grad = as_float_array(dout, "dout")
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def layer_outputs(self, x) -> list[np.ndarray]:
        """The output of every layer for input ``x``, in order (used in chapter 05)."""
        outputs, out = [], as_float_array(x, "x")
        for layer in self.layers:
            out = layer.forward(out)
            outputs.append(out)
        return outputs

    def predict(self, x, batch_size: int | None = None):
        """Outputs for ``x`` in inference mode."""
        x = as_float_array(x, "x")
        if batch_size is None:
            return self.forward(x)
        batch_size = positive_int(batch_size, "batch_size")
        return np.concatenate([self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])

    __call__ = predict

    # --- parameters ----------------------------------------------------------------

    def parameters(self) -> list[np.ndarray]:
        """The trainable arrays of all layers (references, updated in place)."""
        return [value for layer in self.layers for value in layer.params.values()]

    def gradients(self) -> list[np.ndarray]:
        """The gradients from the last ``backward``, in the order of :meth:`parameters`."""
        return [layer.grads[key] for layer in self.layers for key in layer.params]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights, in Keras's order (kernel, bias per Dense layer; gamma, beta,
        moving mean, moving variance per batch-normalisation layer)."""
        return [value for layer in self.layers for value in layer.get_weights()]

    def set_weights(self, weights) -> None:
        weights = list(weights)
        counts = [len(layer.get_weights()) for layer in self.layers]
        if len(weights) != sum(counts):
            raise ValueError(f"set_weights expected {sum(counts)} arrays. Received: {len(weights)}")
        position = 0
        for layer, count in zip(self.layers, counts):
            layer.set_weights(weights[position:position + count])
            position += count

    def compute_gradients(self, x, y) -> tuple[float, list[np.ndarray]]:
        """Loss and gradients on ``(x, y)`` without updating anything (chapters 06, 11, 12).

        One forward pass in training mode, the compiled loss, one backward pass. Returns
        ``(loss, grads)`` with ``grads`` in the order of :meth:`parameters`; every layer's
        ``grads`` dict holds the same arrays afterwards.
        """
        self._require_compiled()
        x = as_float_array(x, "x")
        y = np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"compute_gradients expected as many targets as inputs. Received: x has {len(x)} rows, y has {len(y)}")
        predictions = self.forward(x, training=True)
        value = self.loss(y, predictions) + self.regularization_loss()
        self.backward(self.loss.gradient(y, predictions))
        self._add_regularization_gradients()
        return value, self.gradients()

    def gradient_norms(self, key: str = "kernel") -> np.ndarray:
        """The L2 (Frobenius) norm of ``grads[key]`` of every layer that has ``key``, first layer first.

        Reads the gradients of the last :meth:`backward`; chapters 11 and 12 plot them
        layer by layer.
        """
        layers = [layer for layer in self.layers if key in layer.params]
        if not layers:
            raise ValueError(f"gradient_norms expected layers with a parameter {key!r}. Received: {self!r}")
        missing = [layer.name for layer in layers if key not in layer.grads]
        if missing:
            raise RuntimeError("gradient_norms called before backward (or compute_gradients)")
        return np.array([np.linalg.norm(layer.grads[key]) for layer in layers])

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def multiply_adds(self) -> list[int]:
        """Multiply-adds per example for each layer (chapter 05)."""
        return [layer.multiply_adds() if hasattr(layer, "multiply_adds") else 0 for layer in self.layers]

    def summary(self) -> str:
        """A table of layers, output widths and parameter counts."""
        rows = [f"{'layer':<40}{'output':>10}{'params':>10}"]
        for layer in self.layers:
            width = getattr(layer, "units", "same")
            rows.append(f"{layer!r:<40}{str(width):>10}{layer.count_params():>10}")
        rows.append(f"{'total':<40}{'':>10}{self.count_params():>10}")
        return "\n".join(rows)

    # --- training ------------------------------------------------------------------

    def compile(self, loss="mse", optimizer="sgd", metrics=()) -> None:
        """Choose the loss, the optimizer and the metrics (only ``"accuracy"`` is known)."""
        self.loss = losses_module.get(loss)
        self.optimizer = optimizers_module.get(optimizer)
        metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
        for metric in metrics:
            if metric != "accuracy":
                raise ValueError(f"metrics expected only 'accuracy'. Received: {metric!r}")
        self.metrics = metrics

    def _require_compiled(self):
        if self.loss is None:
            raise RuntimeError("call compile(loss=..., optimizer=...) before fit or evaluate")

    def train_step(self, x_batch, y_batch) -> float:
        """One forward pass, one backward pass and one optimizer step; returns the batch loss."""
        predictions = self.forward(x_batch, training=True)
        value = self.loss(y_batch, predictions) + self.regularization_loss()
        self.backward(self.loss.gradient(y_batch, predictions))
        self._add_regularization_gradients()
        self.optimizer.step(self.parameters(), self.gradients())
        return value

    def regularization_loss(self) -> float:
        """The sum of every layer's weight penalty (0 without regularizers; chapters 13, 19).

        Added to the loss in training and in :meth:`evaluate`, as Keras adds ``model.losses``.
        """
        return float(sum(layer.regularization_loss() for layer in self.layers if hasattr(layer, "regularization_loss")))

    def _add_regularization_gradients(self) -> None:
        for layer in self.layers:
            if hasattr(layer, "add_regularization_gradients"):
                layer.add_regularization_gradients()

    def fit(
        self,
        x,
        y,
        *,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        rng: np.random.Generator | None = None,
        validation_data=None,
        callbacks=(),
    ) -> History:
        """Mini-batch training.

        Returns a :class:`History` whose ``loss`` (and ``accuracy``) are measured on the
        whole training set after each epoch, and ``val_*`` likewise on ``validation_data``.
        (Keras instead reports the running mean over the epoch's batches.)
        """
        self._require_compiled()
        x = as_float_array(x, "x")
        y = np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"fit expected as many targets as inputs. Received: x has {len(x)} rows, y has {len(y)}")
        epochs = positive_int(epochs, "epochs")
        batch_size = positive_int(batch_size, "batch_size")
        rng = generator(rng)
        history = History()
        self.stop_training = False
        for callback in callbacks:
            callback.on_train_begin(self)
        for epoch in range(epochs):
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            for start in range(0, len(x), batch_size):
                batch = order[start:start + batch_size]
                self.train_step(x[batch], y[batch])
            logs = self.evaluate(x, y)
            if validation_data is not None:
                logs.update({f"val_{key}": value for key, value in self.evaluate(*validation_data).items()})
            history._record(epoch, logs)
            for callback in callbacks:
                callback.on_epoch_end(self, epoch, logs)
            if self.stop_training:
                break
        for callback in callbacks:
            callback.on_train_end(self)
        return history

    def evaluate(self, x, y) -> dict[str, float]:
        """Loss (and metrics) on ``(x, y)`` in inference mode."""
        self._require_compiled()
        predictions = self.predict(x)
        logs = {"loss": self.loss(y, predictions) + self.regularization_loss()}
        if "accuracy" in self.metrics:
            logs["accuracy"] = accuracy(y, predictions, self.loss)
        return logs

    def __repr__(self):
        return "Sequential([" + ", ".join(repr(layer) for layer in self.layers) + "])"
