"""`make bench-nnlib`: nnlib's speed against Keras/TensorFlow, measured side by side in one run.

Each row runs the same computation in nnlib and in Keras/TF on the same machine, the two
called in turn (interleaved, so that a change of machine load hits both), after warm-up calls
that are not timed (they trace TF functions and fill caches). It reports the median of the
repeats and the ratio nnlib / Keras. Both sides get one thread (NumPy's BLAS through
threadpoolctl, TensorFlow's intra- and inter-op pools): on a shared 2-core machine a second
BLAS thread mostly waits for the other core, and one thread each compares the code, not the
thread pools. Ratios, not seconds, are the claim. Nothing here is a test: a loaded machine
prints other numbers, and the exit code is 0 whatever they are.

    python tests/bench_nnlib.py            # every row
    python tests/bench_nnlib.py conv lstm  # some rows

Targets (issue 12): convolution <= 3x, LSTM <= 3x, one MLP epoch <= 1x.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nnlib  # noqa: E402  (before keras: sets the quiet TensorFlow environment)


def one_thread_tensorflow() -> None:
    """One TensorFlow thread (possible only before TensorFlow runs its first op)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised: keep its pools
        pass


def median_seconds(functions, repeats: int, warmup: int) -> list[float]:
    """Median wall time of each function, the functions called in turn, one BLAS thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
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


def bench_mlp(repeats: int = 7):
    """One epoch of a 64-32-10 ReLU/softmax MLP on the 1,797 digits, batch 32, plain SGD:
    nnlib's `Sequential.fit` against Keras's `model.fit` (both shuffle; nnlib's fit also
    evaluates the loss on the whole training set at the end of the epoch, as its History
    reports it), float32."""
    import keras

    from nnlib import Sequential, layers, optimizers

    rng = nnlib.seed_everything(0)
    x, y = nnlib.datasets.digits()
    model = Sequential([layers.Dense(64, 32, "relu", rng=rng, dtype="float32"),
                        layers.Dense(32, 10, "softmax", rng=rng, dtype="float32")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizers.SGD(learning_rate=0.05))
    reference = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
    reference.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.05))
    ours, theirs = median_seconds([lambda: model.fit(x, y, epochs=1, batch_size=32, rng=rng),
                                   lambda: reference.fit(x, y, epochs=1, batch_size=32, verbose=0)],
                                  repeats, warmup=2)
    return "MLP 64-32-10, one epoch on digits (batch 32) vs model.fit", ours, theirs, 1.0


def bench_conv(repeats: int = 100):
    """Conv2D forward+backward: a batch of 128 digits 8x8x1 -> 16 filters 3x3, padding "same".

    nnlib: ``forward`` then ``backward`` (input, kernel and bias gradients), float32.
    Keras: the layer called under ``tf.GradientTape`` and ``tape.gradient`` for the input
    and both weights, float32, compiled with ``tf.function`` (what ``fit`` runs; eager
    execution is many times slower, so this is the stricter comparison).
    """
    import keras

    from nnlib.layers import Conv2D

    rng = nnlib.seed_everything(0)
    images, _ = nnlib.datasets.digits()
    x = images[:128].reshape(128, 8, 8, 1)
    ours = Conv2D(1, 16, 3, padding="same", dtype="float32", rng=rng)
    upstream = rng.standard_normal((128, 8, 8, 16)).astype(np.float32)
    theirs = keras.layers.Conv2D(16, 3, padding="same", dtype="float32")
    theirs.build((None, 8, 8, 1))
    theirs.set_weights(ours.get_weights())
    ours_seconds, theirs_seconds = time_layer_steps(ours, theirs, x, upstream, repeats, warmup=5)
    return "Conv2D fwd+bwd, 128x8x8x1 -> 16 filters 3x3 same (vs tf.function)", ours_seconds, theirs_seconds, 3.0


def bench_lstm(repeats: int = 15):
    """LSTM forward+backward: a batch (64, 50, 8), 32 units, last state only, float32.

    nnlib: ``forward`` then ``backward`` (BPTT: input, kernel, recurrent kernel and bias
    gradients). Keras: ``keras.layers.LSTM`` with the same weights under ``tf.GradientTape``,
    compiled with ``tf.function``; the loss on both sides is ``sum(h_T * G)`` for one fixed G.
    """
    import keras

    from nnlib.layers import LSTM

    rng = nnlib.seed_everything(0)
    x = rng.standard_normal((64, 50, 8)).astype(np.float32)
    upstream = rng.standard_normal((64, 32)).astype(np.float32)
    ours = LSTM(8, 32, rng=rng, dtype="float32")
    theirs = keras.layers.LSTM(32, dtype="float32")
    theirs.build((None, 50, 8))
    theirs.set_weights(ours.get_weights())
    ours_seconds, theirs_seconds = time_layer_steps(ours, theirs, x, upstream, repeats, warmup=3)
    return "LSTM fwd+bwd, (64, 50, 8) -> 32 units (vs tf.function)", ours_seconds, theirs_seconds, 3.0


def time_layer_steps(ours, theirs, x, upstream, repeats: int, warmup: int) -> tuple[float, float]:
    """Median seconds of one forward+backward step of the nnlib layer `ours` and of the Keras
    layer `theirs` (same weights), for the loss ``sum(output * upstream)``.

    nnlib: ``forward`` then ``backward`` (input and weight gradients). Keras: the layer under
    ``tf.GradientTape`` and ``tape.gradient`` for the input and its weights, compiled with
    ``tf.function`` (what ``fit`` runs). Both sides' gradients are checked equal first
    (float32 tolerances), so the two steps are known to compute the same thing.
    """
    import tensorflow as tf

    x_tensor, upstream_tensor = tf.constant(x), tf.constant(upstream)

    def nnlib_step():
        ours.forward(x)
        return ours.backward(upstream)

    @tf.function
    def keras_gradients():
        with tf.GradientTape() as tape:
            tape.watch(x_tensor)
            loss = tf.reduce_sum(theirs(x_tensor) * upstream_tensor)
        return tape.gradient(loss, [x_tensor, *theirs.trainable_weights])

    expected = keras_gradients()
    np.testing.assert_allclose(nnlib_step(), expected[0].numpy(), rtol=1e-4, atol=1e-5)
    for key, gradient in zip(ours.params, expected[1:]):
        np.testing.assert_allclose(ours.grads[key], gradient.numpy(), rtol=1e-4, atol=1e-4)
    return tuple(median_seconds([nnlib_step, lambda: [g.numpy() for g in keras_gradients()]], repeats, warmup))


ROWS = {"conv": bench_conv, "lstm": bench_lstm, "mlp": bench_mlp}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="nnlib time / Keras time, measured side by side.")
    parser.add_argument("rows", nargs="*", help=f"rows to run (default: all of {', '.join(ROWS)})")
    args = parser.parse_args(argv)
    unknown = [name for name in args.rows if name not in ROWS]
    if unknown:
        parser.error(f"expected rows among {', '.join(ROWS)}. Received: {', '.join(unknown)}")
    one_thread_tensorflow()
    print("| computation | nnlib | Keras/TF | ratio | target |\n|---|---|---|---|---|")
    for name in args.rows or list(ROWS):
        what, ours, theirs, target = ROWS[name]()
        ratio = ours / theirs
        print(f"| {what} | {ours * 1e3:.2f} ms | {theirs * 1e3:.2f} ms | {ratio:.2f}x | "
              f"<= {target:g}x {'met' if ratio <= target else 'missed'} |", flush=True)
    print("(median of interleaved warm repeats, one thread on each side)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
