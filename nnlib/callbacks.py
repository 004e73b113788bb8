r"""Callbacks for :meth:`nnlib.model.Sequential.fit`, with Keras's semantics (chapter 20).

``fit`` calls ``on_train_begin(model)`` once, ``on_train_batch_end(model, batch, logs)``
after every batch (``logs["loss"]``: the running mean of the epoch's batch losses, as in
Keras), ``on_epoch_end(model, epoch, logs)`` after every epoch (``logs`` holds that epoch's
``loss``, ``val_loss``, ...), and ``on_train_end(model)`` once; a callback stops training by
setting ``model.stop_training = True`` (in a batch hook: after that batch).
"""
from __future__ import annotations

import math

import numpy as np

from nnlib._validation import flag, non_negative_int, one_of, positive_float, real_number


class Callback:
    """Hooks called by ``fit``; every hook does nothing unless overridden."""

    def on_train_begin(self, model) -> None:
        pass

    def on_train_batch_end(self, model, batch: int, logs: dict) -> None:
        pass

    def on_epoch_end(self, model, epoch: int, logs: dict) -> None:
        pass

    def on_train_end(self, model) -> None:
        pass


class EarlyStopping(Callback):
    r"""Stop when a monitored quantity has stopped improving, as ``keras.callbacks.EarlyStopping``.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of ``fit``'s logs.
    min_delta : float >= 0, default 0
        An improvement must beat the best value so far by more than this.
    patience : int >= 0, default 0
        Epochs without improvement to wait before stopping.
    mode : {"auto", "min", "max"}, default "auto"
        ``"auto"`` minimises losses and maximises accuracy.
    baseline : float, optional
        A finite number; improvements that do not beat it do not reset the patience counter.
    restore_best_weights : bool, default False
        At the end of training, put back the weights of the best epoch.
    start_from_epoch : int >= 0, default 0
        Epochs to ignore at the start (warm-up).

    Attributes
    ----------
    best, best_epoch : the best value and its (0-based) epoch
    stopped_epoch : int, the epoch at which training stopped (0 if it did not)

    Notes
    -----
    Keras's bookkeeping, followed exactly: after each epoch ``wait`` grows by one; an
    improvement (``current < best - min_delta`` in min mode) records ``best`` and, with
    ``restore_best_weights``, a copy of the weights, and resets ``wait`` to 0; training
    stops when ``wait >= patience`` (never after the first epoch). The weights of the first
    monitored epoch are kept even when it never improves, so restoring always restores
    something.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, mode: str = "auto",
                 baseline: float | None = None, restore_best_weights: bool = False, start_from_epoch: int = 0):
        if not isinstance(monitor, str):
            raise TypeError(f"monitor expected the name of a logged quantity. Received: {monitor!r}")
        self.monitor = monitor
        self.min_delta = positive_float(min_delta, "min_delta", allow_zero=True)
        self.patience = non_negative_int(patience, "patience")
        mode = one_of(mode, "mode", ("auto", "min", "max"))
        if mode == "auto":
            mode = "max" if monitor.removeprefix("val_") in ("accuracy", "acc") else "min"
        self.mode = mode
        self.baseline = None if baseline is None else real_number(baseline, "baseline")
        self.restore_best_weights = flag(restore_best_weights, "restore_best_weights")
        self.start_from_epoch = non_negative_int(start_from_epoch, "start_from_epoch")
        self.on_train_begin(None)

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, model) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, model, epoch: int, logs: dict) -> None:
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping expected {self.monitor!r} in the logs. Received: {sorted(logs)}")
        if epoch < self.start_from_epoch:
            return
        current = float(logs[self.monitor])
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            model.stop_training = True

    def on_train_end(self, model) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            model.set_weights(self.best_weights)

    def __repr__(self):
        return (f"EarlyStopping(monitor={self.monitor!r}, min_delta={self.min_delta}, patience={self.patience}, "
                f"mode={self.mode!r}, restore_best_weights={self.restore_best_weights})")


class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or inf, as ``keras.callbacks.TerminateOnNaN``.

    Parameters
    ----------
    raise_error : bool, default False
        False: print ``"Batch {batch}: Invalid loss, terminating training"`` and set
        ``model.stop_training``, so that the epoch ends after this batch, its logs (the
        non-finite loss included) are recorded in the :class:`~nnlib.model.History`, and
        every callback's ``on_train_end`` runs. True: raise ``RuntimeError`` at once
        instead (no ``on_train_end``), as Keras's ``raise_error=True``.

    Notes
    -----
    Keras's rule, checked after every batch: the batch logs' ``loss`` (the running mean of
    the epoch's batch losses, weighted by batch size, the same in nnlib) is NaN or inf.
    A running mean is non-finite from the first non-finite batch loss on, so the batch at
    which training stops is the same as in Keras given the same batch losses.
    """

    def __init__(self, raise_error: bool = False):
        self.raise_error = flag(raise_error, "raise_error")

    def on_train_batch_end(self, model, batch: int, logs: dict) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. Terminating training immediately.")
        print(f"Batch {batch}: Invalid loss, terminating training")
        model.stop_training = True

    def __repr__(self):
        return f"TerminateOnNaN(raise_error={self.raise_error})"


def lr_range_test(model, x, y, *, min_lr: float = 1e-5, max_lr: float = 1.0, steps: int = 100, batch_size: int = 32,
                  rng: np.random.Generator | None = None, stop_factor: float | None = 4.0):
    r"""The learning-rate range test: train while the rate grows geometrically.

    After Smith (2017), who raised the rate linearly over a few epochs and read accuracy
    against it; the geometric ramp that records the loss and stops when it blows up is the
    variant of fastai's ``lr_find``.

    Takes ``steps`` mini-batch steps of the compiled model, the rate at step :math:`t` being
    :math:`\eta_t = \eta_{\min}(\eta_{\max}/\eta_{\min})^{t/(\text{steps}-1)}`, and records each
    batch's loss. Stops early when the loss exceeds ``stop_factor`` times the lowest seen (or
    is not finite). The model's weights and its optimizer are put back afterwards, so the
    test leaves the model as it found it (chapter 22).

    Returns
    -------
    learning_rates, losses : ndarray (n,), with n <= steps
    """
    from nnlib._validation import generator, positive_int
    from nnlib.model import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"lr_range_test expected an nnlib Sequential. Received: {type(model).__name__}")
    model._require_compiled()
    x, y, _ = model._data(x, y, None, "lr_range_test")
    min_lr, max_lr = positive_float(min_lr, "min_lr"), positive_float(max_lr, "max_lr")
    if min_lr >= max_lr:
        raise ValueError(f"lr_range_test expected min_lr < max_lr. Received: min_lr={min_lr}, max_lr={max_lr}")
    steps, batch_size = positive_int(steps, "steps"), positive_int(batch_size, "batch_size")
    stop_factor = None if stop_factor is None else positive_float(stop_factor, "stop_factor")
    rng = generator(rng)
    import copy

    saved_weights, saved_optimizer = model.get_weights(), copy.deepcopy(model.optimizer)
    rates = min_lr * (max_lr / min_lr) ** (np.arange(steps) / max(steps - 1, 1))
    order = np.concatenate([rng.permutation(len(x)) for _ in range(-(-steps * batch_size // len(x)))])
    learning_rates, losses = [], []
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for step, rate in enumerate(rates):
                model.optimizer.learning_rate = float(rate)
                batch = order[step * batch_size:(step + 1) * batch_size]
                loss = model._train_step(x[batch], y[batch])
                learning_rates.append(float(rate))
                losses.append(float(loss))
                if not np.isfinite(loss) or (stop_factor is not None and loss > stop_factor * min(losses)):
                    break
    finally:
        model.set_weights(saved_weights)
        model.optimizer = saved_optimizer
    return np.array(learning_rates), np.array(losses)
