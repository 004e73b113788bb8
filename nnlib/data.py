"""Mini-batches streamed from an array that need not fit in memory (used in chapter 32).

:class:`BatchIterator` reads mini-batches from an ``np.memmap`` (or any array-like with
``len`` and integer-array indexing: an ndarray, an ``h5py`` dataset read by sorted indices)
and yields them as in-memory ndarrays; only one batch (and at most ``buffer_size`` indices)
is held at a time. Every sample appears exactly once per epoch.

Correspondence with ``tf.data``:

- ``shuffle="permutation"``: a fresh full permutation every epoch, what
  ``Dataset.shuffle(buffer_size=n, reshuffle_each_iteration=True)`` with ``n >= len(data)``
  gives (and what ``Sequential.fit(shuffle=True)`` and ``keras.Model.fit`` do on arrays);
- ``shuffle="buffer"``: ``Dataset.shuffle(buffer_size)``'s algorithm on the stream of
  indices 0, 1, ..., n-1: a buffer is filled with the first ``buffer_size`` indices; each
  output is a uniformly chosen buffer element, replaced by the next index of the stream.
  With ``buffer_size >= n`` this is a uniform random permutation; with a small buffer it is
  only a *local* shuffle (an index can move forward arbitrarily far but can come out at most
  ``buffer_size - 1`` positions *earlier* than its place in the file);
- ``shuffle=None``: the file's order, ``Dataset.batch`` without shuffle;
- ``drop_remainder``: as ``Dataset.batch(batch_size, drop_remainder=...)``.

Documented difference: tf.data draws from its own seeded generator, so the same seed does
not give the same order here and there; the rule, not the stream, is the same.
"""
from __future__ import annotations

import numpy as np

from nnlib._validation import flag, generator, positive_int, same_length

_SHUFFLES = ("permutation", "buffer")


def buffer_shuffle_order(n: int, buffer_size: int, rng: np.random.Generator) -> np.ndarray:
    """The order in which ``Dataset.shuffle(buffer_size)`` emits the stream 0, 1, ..., n-1.

    Returns an int64 permutation of ``range(n)``.
    """
    n = positive_int(n, "n")
    buffer_size = positive_int(buffer_size, "buffer_size")
    rng = generator(rng)
    buffer = list(range(min(buffer_size, n)))
    next_index = len(buffer)
    order = np.empty(n, dtype=np.int64)
    for position in range(n):
        slot = int(rng.integers(len(buffer)))
        order[position] = buffer[slot]
        if next_index < n:
            buffer[slot] = next_index
            next_index += 1
        else:
            buffer[slot] = buffer[-1]
            buffer.pop()
    return order


class BatchIterator:
    """Mini-batches of ``X`` (and ``y``), one pass per ``iter()``.

    Parameters
    ----------
    X : array-like (n, ...)
        An ``np.memmap``, ndarray or any object with ``len`` and integer-array indexing.
    y : array-like (n, ...), optional
        Indexed with the same rows; then each batch is a pair ``(X_batch, y_batch)``.
    batch_size : int > 0
    shuffle : {"permutation", "buffer", None}, default "permutation"
    buffer_size : int > 0, required with ``shuffle="buffer"`` (refused otherwise)
    drop_remainder : bool, default False
        Drop the last, smaller batch (then every sample appears at most once per epoch).
    rng : numpy.random.Generator, optional
        Each epoch draws its order from it, so epochs differ and the sequence of epochs is
        reproducible from the generator's seed.

    ``len(iterator)`` is the number of batches per epoch: ``ceil(n / batch_size)``, or
    ``floor(n / batch_size)`` with ``drop_remainder``. Rows are read in sorted order within a
    batch and put back in the shuffled order, which keeps memmap reads local.
    """

    def __init__(self, X, y=None, *, batch_size: int, shuffle: str | None = "permutation",
                 buffer_size: int | None = None, drop_remainder: bool = False, rng=None):
        self.X = _array_like(X, "X")
        self.y = None if y is None else _array_like(y, "y")
        if self.y is not None:
            same_length(self.X, self.y, "BatchIterator")
        self.batch_size = positive_int(batch_size, "batch_size")
        if shuffle is not None and (not isinstance(shuffle, str) or shuffle not in _SHUFFLES):
            kind = TypeError if not isinstance(shuffle, str) else ValueError
            raise kind(f"shuffle expected one of {list(_SHUFFLES)} or None. Received: shuffle={shuffle!r}")
        self.shuffle = shuffle
        if shuffle == "buffer":
            if buffer_size is None:
                raise ValueError("buffer_size expected a positive integer with shuffle='buffer'. Received: buffer_size=None")
            self.buffer_size = positive_int(buffer_size, "buffer_size")
        elif buffer_size is not None:
            raise ValueError(f"buffer_size expected None unless shuffle='buffer'. Received: buffer_size={buffer_size!r}, shuffle={shuffle!r}")
        else:
            self.buffer_size = None
        self.drop_remainder = flag(drop_remainder, "drop_remainder")
        self.rng = generator(rng)

    def __len__(self) -> int:
        n = len(self.X)
        return n // self.batch_size if self.drop_remainder else -(-n // self.batch_size)

    def order(self) -> np.ndarray:
        """The row order of one epoch (draws from ``rng``)."""
        n = len(self.X)
        if self.shuffle == "permutation":
            return self.rng.permutation(n)
        if self.shuffle == "buffer":
            return buffer_shuffle_order(n, self.buffer_size, self.rng)
        return np.arange(n)

    def __iter__(self):
        order = self.order()
        for batch_index in range(len(self)):
            rows = order[batch_index * self.batch_size:(batch_index + 1) * self.batch_size]
            sorted_rows = np.sort(rows)
            back = np.argsort(np.argsort(rows))  # position of each wanted row in sorted_rows
            x_batch = np.asarray(self.X[sorted_rows])[back]
            if self.y is None:
                yield x_batch
            else:
                yield x_batch, np.asarray(self.y[sorted_rows])[back]


def batches(X, y=None, *, batch_size: int, shuffle: str | None = "permutation", buffer_size: int | None = None,
            drop_remainder: bool = False, rng=None):
    """One epoch of :class:`BatchIterator` as a generator (same parameters)."""
    return iter(BatchIterator(X, y, batch_size=batch_size, shuffle=shuffle, buffer_size=buffer_size,
                              drop_remainder=drop_remainder, rng=rng))


def _array_like(value, name: str):
    if isinstance(value, (str, bytes)) or value is None or not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
        raise TypeError(f"{name} expected an array-like with len() and row indexing (ndarray, np.memmap). Received: {type(value).__name__}")
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    if isinstance(value, np.ndarray) and (value.ndim == 0 or value.dtype.kind not in "fiub"):
        raise TypeError(f"{name} expected an array of numbers with at least one axis. Received: dtype={value.dtype}, shape={value.shape}")
    if len(value) == 0:
        raise ValueError(f"{name} expected at least one row. Received: len({name})=0")
    return value
