"""A small Keras-like ``Sequential`` model for nnlib layers.

``compile`` / ``fit`` / ``evaluate`` / ``predict`` behave like their Keras namesakes so
that a chapter can run the same experiment on both sides; ``forward`` / ``backward``
expose the mechanism.

Bad input (CONTRIBUTING, "Bad input"): the data handed to ``fit``, ``evaluate``,
``predict``, ``train_step`` and ``compute_gradients`` (``x``, ``y``, ``sample_weight``,
``validation_data``) must be numeric, non-empty, finite and of matching lengths; what
training computes (predictions, gradients, weights) may become inf or NaN, which
``History`` records and :class:`~nnlib.callbacks.TerminateOnNaN` can stop on. ``forward``
and ``backward`` are the mechanism and check types and shapes only.
"""
from __future__ import annotations

import numpy as np

from nnlib import callbacks as callbacks_module
from nnlib import losses as losses_module
from nnlib import optimizers as optimizers_module
from nnlib import activations as activations_module
from nnlib._validation import as_float_array, data_array, flag, generator, positive_int, same_length
from nnlib.layers.base import Layer


def _leaf_layers(layers):
    """The layers in order, with those inside blocks (a ``layers`` list, as Residual's) in their place."""
    for layer in layers:
        inner = getattr(layer, "layers", None)
        if isinstance(inner, list):
            yield from _leaf_layers(inner)
        else:
            yield layer


class History:
    """What ``fit`` returns: ``history`` maps each metric to one value per epoch (as in Keras).

    A loss that became inf or NaN (training diverged) is recorded as such, as Keras records
    it; it is not an error.
    """

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


def accuracy(y_true, y_pred, loss=None, *, sample_weight=None) -> float:
    r"""Accuracy, resolved as Keras resolves its ``"accuracy"`` metric, with one difference.

    One output column (or a 1-D output): binary accuracy, threshold 0.5 on probabilities.
    On logits (``loss`` a from-logits cross-entropy) the threshold is 0, the logit of 0.5;
    Keras keeps 0.5 there, which is not what the threshold means. Several columns: argmax,
    against integer labels (shape ``(batch,)`` or ``(batch, 1)``) or one-hot rows.

    With ``sample_weight`` (one weight >= 0 per sample), the weighted mean
    :math:`\sum_n w_n [\hat c_n = c_n] / \sum_n w_n`, as Keras's weighted metrics.

    Raises
    ------
    TypeError, ValueError
        ``y_true`` or ``sample_weight`` not numeric, empty or non-finite (they are data),
        ``y_pred`` not numeric or empty (it may hold NaN, as a diverged model's predictions do),
        or a number of labels that does not match the predictions.
    """
    y_pred = as_float_array(y_pred, "y_pred", min_ndim=1)
    if y_pred.size == 0:
        raise ValueError(f"accuracy expected at least one prediction. Received: y_pred.shape={y_pred.shape}")
    y_true = data_array(y_true, "y_true", min_ndim=1)
    if y_pred.ndim == 1 or y_pred.shape[-1] == 1:
        threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
        predicted = (y_pred.reshape(-1) > threshold).astype(float)
        labels = y_true.reshape(-1)
    else:
        predicted = np.argmax(y_pred, axis=-1).reshape(-1)
        one_hot = y_true.ndim == y_pred.ndim and y_true.shape[-1] == y_pred.shape[-1]
        labels = (np.argmax(y_true, axis=-1) if one_hot else y_true).reshape(-1)
    if labels.shape != predicted.shape:
        raise ValueError(
            f"accuracy expected one label per prediction. Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
        )
    correct = predicted == labels
    if sample_weight is None:
        return float(np.mean(correct))
    weights = data_array(sample_weight, "sample_weight").reshape(-1)
    if weights.shape != correct.shape:
        raise ValueError(
            f"accuracy expected one sample weight per prediction. Received: sample_weight.shape={np.shape(sample_weight)}, "
            f"y_pred.shape={y_pred.shape}"
        )
    if np.any(weights < 0):
        raise ValueError(f"accuracy expected sample weights >= 0. Received: min(sample_weight)={float(weights.min())}")
    total = float(np.sum(weights))
    return float(np.sum(weights * correct)) / total if total > 0 else 0.0


class Sequential:
    r"""A stack of layers applied in order.

    Parameters
    ----------
    layers : list of Layer
        For example ``[Dense(2, 2, "tanh"), Dense(2, 1, "sigmoid")]``.

    Notes
    -----
    **Cross-entropy from the logits.** When the last layer is a ``Dense`` or ``Activation``
    layer with a sigmoid activation and the compiled loss is a
    :class:`~nnlib.losses.BinaryCrossentropy`, or the activation is a softmax and the loss a
    :class:`~nnlib.losses.CategoricalCrossentropy` or
    :class:`~nnlib.losses.SparseCategoricalCrossentropy` (with ``from_logits=False``), the
    model computes the loss and its gradient from that layer's logits :math:`z` (its input
    to the activation) with the loss's ``from_logits=True`` form, and back-propagates
    :math:`\partial L/\partial z` from there. That is what Keras does with the logits a
    sigmoid or softmax caches on its output: nothing is clipped, a confidently wrong
    prediction costs its full :math:`|z|` and keeps a gradient of size 1 (the clipped
    form caps it near :math:`-\ln 10^{-7} \approx 16.1` with a zero gradient), and the
    numbers agree with Keras's ``fit``/``evaluate``/``GradientTape`` also beyond the clip.
    :meth:`predict` still returns probabilities, and ``self.loss`` called on them keeps
    the clipped form. Mixed pairs (a softmax with a binary cross-entropy, a sigmoid with a
    categorical one) use the probabilities; Keras instead feeds the cached logits to the
    other formula there. The logits path applies in :meth:`train_step`, :meth:`fit`,
    :meth:`evaluate` and :meth:`compute_gradients`; :meth:`backward` is the plain chain
    rule through every layer.
    """

    def __init__(self, layers):
        layers = list(layers)
        if not layers:
            raise ValueError("Sequential expected at least one layer. Received: an empty list")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential expected nnlib layers. Received: {type(layer).__name__} at position {index}")
        # a layer that reshapes (Flatten: resets_width) ends what earlier widths say: None after it
        widths = [None if getattr(layer, "resets_width", False) else getattr(layer, "units", getattr(layer, "num_features", None))
                  for layer in layers]
        resets = [getattr(layer, "resets_width", False) for layer in layers]
        for index, (previous, current) in enumerate(zip(layers, layers[1:])):
            # the width flowing into `current`: the last layer before it that sets one (not past a reset)
            units = next((width for width, reset in zip(reversed(widths[:index + 1]), reversed(resets[:index + 1]))
                          if width is not None or reset), None)
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
        """Outputs for ``x`` in inference mode.

        ``x`` is data: numeric, non-empty and finite (the outputs may still be inf or NaN
        when the weights are).
        """
        x = data_array(x, "x", min_ndim=1)
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

    def compute_gradients(self, x, y, sample_weight=None) -> tuple[float, list[np.ndarray]]:
        """Loss and gradients on ``(x, y)`` without updating anything (chapters 06, 11, 12).

        One forward pass in training mode, the compiled loss (from the logits for a sigmoid
        or softmax last layer with a cross-entropy: see the class notes), one backward pass. Returns
        ``(loss, grads)`` with ``grads`` in the order of :meth:`parameters`; every layer's
        ``grads`` dict holds the same arrays afterwards.
        """
        self._require_compiled()
        x, y, sample_weight = self._data(x, y, sample_weight, "compute_gradients")
        predictions = self.forward(x, training=True)
        value, gradient, from_logits = self._loss_and_gradient(y, predictions, sample_weight)
        self._backward_loss(gradient, from_logits)
        self._add_regularization_gradients()
        return value + self.regularization_loss(), self.gradients()

    def gradient_norms(self, key: str = "kernel") -> np.ndarray:
        """The L2 (Frobenius) norm of ``grads[key]`` of every layer that has ``key``, first layer first.

        The layers inside a block (:class:`~nnlib.layers.Residual`) count one by one.

        Reads the gradients of the last :meth:`backward`; chapters 11 and 12 plot them
        layer by layer.
        """
        layers = [layer for layer in _leaf_layers(self.layers) if key in layer.params]
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
        """A table of layers, output widths (channels for Conv2D and pooling; "same" for layers
        that keep their input's width, "flat" for Flatten, whose width depends on the input
        shape) and parameter counts."""
        rows = [f"{'layer':<40}{'output':>10}{'params':>10}"]
        for layer in self.layers:
            width = getattr(layer, "units", getattr(layer, "filters", "flat" if getattr(layer, "resets_width", False) else "same"))
            rows.append(f"{layer!r:<40}{str(width):>10}{layer.count_params():>10}")
        rows.append(f"{'total':<40}{'':>10}{self.count_params():>10}")
        return "\n".join(rows)

    # --- training ------------------------------------------------------------------

    def compile(self, loss="mse", optimizer="sgd", metrics=()) -> None:
        """Choose the loss, the optimizer and the metrics (only ``"accuracy"`` is known).

        A cross-entropy paired with a sigmoid or softmax last layer is computed from that
        layer's logits, as in Keras (see the class notes).
        """
        self.loss = losses_module.get(loss)
        self.optimizer = optimizers_module.get(optimizer)
        if isinstance(metrics, str):
            metrics = (metrics,)
        if not isinstance(metrics, (list, tuple)):
            raise TypeError(f"metrics expected a list of metric names. Received: {type(metrics).__name__}")
        metrics = tuple(metrics)
        for metric in metrics:
            if metric != "accuracy":
                raise ValueError(f"metrics expected only 'accuracy'. Received: {metric!r}")
        self.metrics = metrics

    def _require_compiled(self):
        if self.loss is None:
            raise RuntimeError("call compile(loss=..., optimizer=...) before fit or evaluate")

    def train_step(self, x_batch, y_batch, sample_weight=None) -> float:
        """One forward pass, one backward pass and one optimizer step; returns the batch loss.

        The loss includes the weight penalties (as Keras's batch loss does) and is computed
        from the logits for a sigmoid or softmax last layer with a cross-entropy (class notes).
        """
        self._require_compiled()
        x_batch, y_batch, sample_weight = self._data(x_batch, y_batch, sample_weight, "train_step")
        return self._train_step(x_batch, y_batch, sample_weight)

    def _train_step(self, x_batch, y_batch, sample_weight=None) -> float:
        predictions = self.forward(x_batch, training=True)
        value, gradient, from_logits = self._loss_and_gradient(y_batch, predictions, sample_weight)
        value += self.regularization_loss()  # the penalty at the weights the batch saw
        self._backward_loss(gradient, from_logits)
        self._add_regularization_gradients()
        self.optimizer.step(self.parameters(), self.gradients())
        return value

    # --- the loss, from the probabilities or from the logits -------------------------

    def _logits_loss(self):
        """The from-logits twin of the compiled loss when the last layer is its sigmoid or
        softmax (see the class notes), else None."""
        loss, last = self.loss, self.layers[-1]
        if not isinstance(loss, losses_module._WithLogits) or loss.from_logits:
            return None
        if not hasattr(last, "backward_pre_activation"):
            return None
        activation = getattr(last, "activation", None)
        sigmoid_pair = isinstance(loss, (losses_module.BinaryCrossentropy, losses_module.BinaryFocalCrossentropy)) and isinstance(activation, activations_module.Sigmoid)
        softmax_pair = isinstance(loss, (losses_module.CategoricalCrossentropy, losses_module.SparseCategoricalCrossentropy)) \
            and isinstance(activation, activations_module.Softmax)
        return loss.with_logits() if sigmoid_pair or softmax_pair else None

    def _loss_and_gradient(self, y, predictions, sample_weight=None):
        """``(value, gradient, from_logits)`` of the compiled loss after a forward pass; the
        gradient is with respect to the last layer's logits when ``from_logits``."""
        logits_loss = self._logits_loss()
        if logits_loss is None:
            value, gradient = self.loss._evaluate(y, predictions, sample_weight)
            return value, gradient, False
        value, gradient = logits_loss._evaluate(y, self.layers[-1].cached_pre_activation(), sample_weight)
        return value, gradient, True

    def _loss_value(self, y, predictions, sample_weight=None) -> float:
        logits_loss = self._logits_loss()
        if logits_loss is None:
            return self.loss(y, predictions, sample_weight)
        return logits_loss(y, self.layers[-1].cached_pre_activation(), sample_weight)

    def _backward_loss(self, gradient, from_logits: bool):
        if not from_logits:
            return self.backward(gradient)
        grad = self.layers[-1].backward_pre_activation(gradient)
        for layer in reversed(self.layers[:-1]):
            grad = layer.backward(grad)
        return grad

    def _data(self, x, y, sample_weight, caller: str):
        """Validate the data handed to a training or evaluation entry point."""
        x = data_array(x, "x", min_ndim=1)
        y = data_array(y, "y", min_ndim=1)
        same_length(x, y, caller)
        if sample_weight is not None:
            sample_weight = data_array(sample_weight, "sample_weight", min_ndim=1)
            same_length(x, sample_weight, caller, names=("x", "sample_weight"), what="one sample weight per input")
            if np.any(sample_weight < 0):
                raise ValueError(f"{caller} expected sample weights >= 0. Received: min(sample_weight)={float(sample_weight.min())}")
        return x, y, sample_weight

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
        sample_weight=None,
        class_weight=None,
    ) -> History:
        """Mini-batch training.

        Returns a :class:`History` whose ``loss`` (and ``accuracy``) are measured on the
        whole training set after each epoch, and ``val_*`` likewise on ``validation_data``.
        (Keras instead reports the running mean over the epoch's batches.)

        Parameters
        ----------
        x, y : arrays with the same number of rows (data: numeric, non-empty, finite)
        epochs, batch_size : int > 0
        shuffle : bool, default True
            A new order of the rows every epoch, drawn from ``rng``.
        rng : numpy.random.Generator, optional
        validation_data : tuple ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``, optional
        callbacks : list of :class:`nnlib.callbacks.Callback`
            ``on_train_begin``, ``on_train_batch_end`` (with ``logs["loss"]`` the running
            mean of the epoch's batch losses, weighted by batch size, as Keras's),
            ``on_epoch_end`` and ``on_train_end``. Setting ``model.stop_training`` in a batch
            hook ends the epoch after that batch, then training, as in Keras.
        sample_weight : array (n,), optional
            One weight >= 0 per row, applied to the loss of every batch (and to the logged
            loss and accuracy), as ``keras.Model.fit(sample_weight=...)``.
        class_weight : dict ``{class index: weight}``, optional
            As ``keras.Model.fit(class_weight=...)``: it becomes the sample weights
            :func:`nnlib.losses.class_weight_to_sample_weight` computes from ``y`` (a class
            missing from the dict weighs 1). Not together with ``sample_weight`` (Keras
            refuses that too).
        """
        self._require_compiled()
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("fit expected class_weight or sample_weight, not both (as in Keras). "
                                 "Received: both (multiply the class weights into sample_weight instead)")
            sample_weight = losses_module.class_weight_to_sample_weight(y, class_weight)
        x, y, sample_weight = self._data(x, y, sample_weight, "fit")
        epochs = positive_int(epochs, "epochs")
        batch_size = positive_int(batch_size, "batch_size")
        shuffle = flag(shuffle, "shuffle")
        rng = generator(rng)
        validation = self._validation_data(validation_data)
        callbacks = self._callbacks(callbacks)
        history = History()
        self.stop_training = False
        for callback in callbacks:
            callback.on_train_begin(self)
        for epoch in range(epochs):
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            total, seen = 0.0, 0
            for batch_index, start in enumerate(range(0, len(x), batch_size)):
                batch = order[start:start + batch_size]
                weights = None if sample_weight is None else sample_weight[batch]
                total += self._train_step(x[batch], y[batch], weights) * len(batch)
                seen += len(batch)
                batch_logs = {"loss": total / seen}
                for callback in callbacks:
                    callback.on_train_batch_end(self, batch_index, batch_logs)
                if self.stop_training:
                    break
            logs = self._evaluate(x, y, sample_weight)
            if validation is not None:
                logs.update({f"val_{key}": value for key, value in self._evaluate(*validation).items()})
            history._record(epoch, logs)
            for callback in callbacks:
                callback.on_epoch_end(self, epoch, logs)
            if self.stop_training:
                break
        for callback in callbacks:
            callback.on_train_end(self)
        return history

    def _validation_data(self, validation_data):
        if validation_data is None:
            return None
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            shown = f"{type(validation_data).__name__} of length {len(validation_data)}" if isinstance(validation_data, (tuple, list)) \
                else type(validation_data).__name__
            raise TypeError(
                f"validation_data expected a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val). Received: {shown}"
            )
        x_val, y_val, *weights = validation_data
        return self._data(x_val, y_val, weights[0] if weights else None, "validation_data")

    @staticmethod
    def _callbacks(callbacks):
        if isinstance(callbacks, callbacks_module.Callback):
            callbacks = [callbacks]
        if not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"callbacks expected a list of nnlib callbacks. Received: {type(callbacks).__name__}")
        for index, callback in enumerate(callbacks):
            if not isinstance(callback, callbacks_module.Callback):
                raise TypeError(
                    f"callbacks expected nnlib callbacks (subclasses of nnlib.callbacks.Callback). "
                    f"Received: {type(callback).__name__} at position {index}"
                )
        return list(callbacks)

    def evaluate(self, x, y, sample_weight=None) -> dict[str, float]:
        """Loss (and metrics) on ``(x, y)`` in inference mode.

        The loss includes the weight penalties, is weighted by ``sample_weight`` when it is
        given (as is the accuracy), and is computed from the logits for a sigmoid or softmax
        last layer with a cross-entropy (class notes).
        """
        self._require_compiled()
        x, y, sample_weight = self._data(x, y, sample_weight, "evaluate")
        return self._evaluate(x, y, sample_weight)

    def _evaluate(self, x, y, sample_weight=None) -> dict[str, float]:
        predictions = self.forward(x)
        logs = {"loss": self._loss_value(y, predictions, sample_weight) + self.regularization_loss()}
        if "accuracy" in self.metrics:
            logs["accuracy"] = accuracy(y, predictions, self.loss, sample_weight=sample_weight)
        return logs

    def __repr__(self):
        return "Sequential([" + ", ".join(repr(layer) for layer in self.layers) + "])"
