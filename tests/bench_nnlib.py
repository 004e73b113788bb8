"""nnlib against Keras/TensorFlow, side by side in one run (issue 12's speed targets).

Run as ``python tests/bench_nnlib.py``: one table row per measurement, ``nnlib`` time,
Keras/TF time and their ratio (target in the last column). Each time is the median of
interleaved repeats after warm-up calls, with one thread on both sides (NumPy's BLAS through
threadpoolctl, TensorFlow's intra- and inter-op pools), as CONTRIBUTING's timing rule says:
on a shared 2-core machine a second BLAS thread mostly waits for the other core.
Not a test: timings depend on the machine and its load.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)


def _one_thread_tensorflow() -> None:
    """One TensorFlow thread (possible only before TensorFlow runs its first op)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised (e.g. called after another benchmark): keep its pools
        pass


def _median_seconds(functions, repeats: int, warmup: int = 5) -> list[float]:
    """Median wall time of each function, the functions called in turn (interleaved), one BLAS thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _interleaved(functions, repeats, warmup)


def _interleaved(functions, repeats: int, warmup: int) -> list[float]:
    for function in functions:
        for _ in range(warmup):
            function()
    times = [[] for _ in functions]
    for _ in range(repeats):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            function()
            times[index].append(time.perf_counter() - start)
    return [statistics.median(values) for values in times]


def row(name: str, nnlib_seconds: float, keras_seconds: float, target: float) -> str:
    ratio = nnlib_seconds / keras_seconds
    return (f"| {name} | {nnlib_seconds * 1e3:.2f} ms | {keras_seconds * 1e3:.2f} ms | {ratio:.2f}x | "
            f"<= {target:g}x {'met' if ratio <= target else 'MISSED'} |")


HEADER = "| benchmark | nnlib | Keras/TF | ratio | target |\n|---|---|---|---|---|"


def bench_conv(repeats: int = 100) -> str:
    """Conv2D forward+backward: a batch of 128 digits 8x8x1 -> 16 filters 3x3, padding "same".

    nnlib: ``forward`` then ``backward`` (input, kernel and bias gradients), float32.
    Keras: the layer called under ``tf.GradientTape`` and ``tape.gradient`` for the input
    and both weights, float32, eager (as a chapter would run it).
    """
    _one_thread_tensorflow()
    import keras
    import tensorflow as tf

    from nnlib import datasets
    from nnlib.layers import Conv2D

    images, _ = datasets.digits()
    x = images[:128].reshape(128, 8, 8, 1).astype(np.float32)
    rng = np.random.default_rng(0)
    ours = Conv2D(1, 16, 3, padding="same", dtype="float32", rng=rng)
    upstream = rng.standard_normal((128, 8, 8, 16)).astype(np.float32)
    theirs = keras.layers.Conv2D(16, 3, padding="same", dtype="float32")
    theirs.build((None, 8, 8, 1))
    theirs.set_weights(ours.get_weights())
    x_tensor, upstream_tensor = tf.constant(x), tf.constant(upstream)

    def nnlib_step():
        ours.forward(x)
        return ours.backward(upstream)

    def keras_step():
        with tf.GradientTape() as tape:
            tape.watch(x_tensor)
            loss = tf.reduce_sum(theirs(x_tensor) * upstream_tensor)
        return tape.gradient(loss, [x_tensor, *theirs.trainable_weights])

    nnlib_seconds, keras_seconds = _median_seconds([nnlib_step, keras_step], repeats)
    return row("Conv2D fwd+bwd, 128x8x8x1 -> 16 3x3 same", nnlib_seconds, keras_seconds, 3)


if __name__ == "__main__":
    print(HEADER)
    print(bench_conv())
