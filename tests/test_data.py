"""nnlib.data: every sample once per epoch (Hypothesis), drop_remainder, memmap input,
determinism from rng, the buffer shuffle's semantics, training batch by batch, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nnlib
from nnlib import layers
from nnlib.data import BatchIterator, batches, buffer_shuffle_order

from bad_input import check, table  # tests/bad_input.py


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), shuffle=st.sampled_from(["permutation", "buffer", None]),
       buffer_size=st.integers(1, 80), drop=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_every_sample_exactly_once_per_epoch(n, batch_size, shuffle, buffer_size, drop, seed):
    X = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 2))
    y = np.arange(n)
    iterator = BatchIterator(X, y, batch_size=batch_size, shuffle=shuffle,
                             buffer_size=buffer_size if shuffle == "buffer" else None,
                             drop_remainder=drop, rng=np.random.default_rng(seed))
    for _ in range(2):
        seen = [(x_batch, y_batch) for x_batch, y_batch in iterator]
        assert len(seen) == len(iterator)
        assert all(len(x_batch) == batch_size for x_batch, _ in seen[:-1])
        rows = np.concatenate([y_batch for _, y_batch in seen]) if seen else np.array([], dtype=int)
        for x_batch, y_batch in seen:  # X and y stay paired
            np.testing.assert_array_equal(x_batch[:, 0], y_batch)
        if drop:
            assert len(rows) == (n // batch_size) * batch_size
            assert len(set(rows.tolist())) == len(rows)
        else:
            np.testing.assert_array_equal(np.sort(rows), np.arange(n))


@pytest.mark.parametrize("n, batch_size, drop, expected", [(10, 3, False, 4), (10, 3, True, 3), (9, 3, True, 3),
                                                           (2, 5, True, 0), (2, 5, False, 1)])
def test_drop_remainder_counts(n, batch_size, drop, expected):
    iterator = BatchIterator(np.zeros((n, 1)), batch_size=batch_size, drop_remainder=drop, rng=np.random.default_rng(1))
    assert len(iterator) == expected == len(list(iterator))


def test_memmap_input(tmp_path):
    path = tmp_path / "x.dat"
    data = np.random.default_rng(2).standard_normal((50, 3)).astype(np.float32)
    stored = np.memmap(path, dtype=np.float32, mode="w+", shape=data.shape)
    stored[:] = data
    stored.flush()
    del stored
    X = np.memmap(path, dtype=np.float32, mode="r", shape=data.shape)
    out = list(batches(X, np.arange(50), batch_size=8, shuffle="buffer", buffer_size=10, rng=np.random.default_rng(3)))
    for x_batch, rows in out:
        assert type(x_batch) is np.ndarray and x_batch.dtype == np.float32
        np.testing.assert_array_equal(x_batch, data[rows])
    np.testing.assert_array_equal(np.sort(np.concatenate([rows for _, rows in out])), np.arange(50))


@pytest.mark.parametrize("shuffle", ["permutation", "buffer"])
def test_determinism_from_rng(shuffle):
    def epochs(seed):
        iterator = BatchIterator(np.arange(30.0), batch_size=4, shuffle=shuffle, buffer_size=5 if shuffle == "buffer" else None,
                                 rng=np.random.default_rng(seed))
        return [np.concatenate(list(iterator)) for _ in range(2)]
    first, again, other = epochs(7), epochs(7), epochs(8)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1])  # a new order every epoch
    assert not np.array_equal(first[0], other[0])


def test_unshuffled_is_the_file_order():
    np.testing.assert_array_equal(np.concatenate(list(batches(np.arange(7.0), batch_size=3, shuffle=None))), np.arange(7))


def test_large_buffer_is_a_full_shuffle_in_distribution():
    # buffer_size >= n: every index equally likely at every position (chi-square-free check: counts within 25 %)
    rng = np.random.default_rng(4)
    n, trials = 6, 6000
    counts = np.zeros((n, n))
    for _ in range(trials):
        counts[np.arange(n), buffer_shuffle_order(n, n, rng)] += 1
    np.testing.assert_allclose(counts, trials / n, rtol=0.12)


def test_small_buffer_is_only_a_local_shuffle():
    n, buffer_size = 1000, 10
    order = buffer_shuffle_order(n, buffer_size, np.random.default_rng(5))
    position = np.empty(n, dtype=int)
    position[order] = np.arange(n)
    # an index can come out at most buffer_size - 1 places earlier than in the file
    assert np.all(np.arange(n) - position <= buffer_size - 1)
    first_batch = order[:32]
    assert first_batch.max() < 32 + buffer_size  # the first batch holds only the file's start
    full = np.random.default_rng(6).permutation(n)
    assert np.abs(np.corrcoef(order, np.arange(n))[0, 1]) > 0.99 > np.abs(np.corrcoef(full, np.arange(n))[0, 1])


def test_trains_a_model_batch_by_batch():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((200, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.float64)[:, None]
    model = nnlib.Sequential([layers.Dense(2, 1, activation="sigmoid", rng=rng)])
    model.compile(loss="binary_crossentropy", optimizer=nnlib.optimizers.Adam(learning_rate=0.05))
    before = model.evaluate(X, y)["loss"]
    iterator = BatchIterator(X, y, batch_size=16, rng=rng)
    for _ in range(5):
        for x_batch, y_batch in iterator:
            model.train_step(x_batch, y_batch)
    assert model.evaluate(X, y)["loss"] < 0.7 * before


BAD = [
    ("x-string", lambda: BatchIterator("abc", batch_size=2), TypeError, "X expected an array-like"),
    ("x-none", lambda: BatchIterator(None, batch_size=2), TypeError, "X expected an array-like"),
    ("x-empty", lambda: BatchIterator(np.zeros((0, 2)), batch_size=2), ValueError, "X expected at least one row. Received: len(X)=0"),
    ("x-strings", lambda: BatchIterator(np.array(["a", "b"]), batch_size=2), TypeError, "X expected an array of numbers"),
    ("x-scalar", lambda: BatchIterator(np.float64(1.0), batch_size=2), TypeError, "X expected an array-like"),
    ("lengths", lambda: BatchIterator(np.zeros((3, 1)), np.zeros(2), batch_size=2), ValueError,
     "BatchIterator expected as many targets as inputs. Received: x has 3 rows, y has 2"),
    ("batch-zero", lambda: BatchIterator(np.zeros(3), batch_size=0), ValueError, "batch_size expected a positive integer. Received: batch_size=0"),
    ("batch-float", lambda: BatchIterator(np.zeros(3), batch_size=2.0), TypeError, "batch_size expected a positive integer"),
    ("shuffle-true", lambda: BatchIterator(np.zeros(3), batch_size=2, shuffle=True), TypeError, "shuffle expected one of"),
    ("shuffle-word", lambda: BatchIterator(np.zeros(3), batch_size=2, shuffle="random"), ValueError, "Received: shuffle='random'"),
    ("buffer-missing", lambda: BatchIterator(np.zeros(3), batch_size=2, shuffle="buffer"), ValueError, "buffer_size expected a positive integer"),
    ("buffer-zero", lambda: BatchIterator(np.zeros(3), batch_size=2, shuffle="buffer", buffer_size=0), ValueError, "buffer_size=0"),
    ("buffer-unused", lambda: BatchIterator(np.zeros(3), batch_size=2, buffer_size=4), ValueError, "buffer_size expected None"),
    ("drop-int", lambda: BatchIterator(np.zeros(3), batch_size=2, drop_remainder=1), TypeError, "drop_remainder expected True or False"),
    ("rng-int", lambda: BatchIterator(np.zeros(3), batch_size=2, rng=0), TypeError, "rng expected a numpy.random.Generator"),
    ("order-n-zero", lambda: buffer_shuffle_order(0, 2, np.random.default_rng(1)), ValueError, "n expected a positive integer"),
]


@table(BAD)
def test_bad_input(call, error, fragment):
    check(call, error, fragment)
