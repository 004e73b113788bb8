"""`make bench-nnlib`: nnlib's speed against Keras/TensorFlow, measured side by side in one run.

Each row runs the same computation in nnlib and in Keras/TF on the same machine, one after the
other, warm (the first call of each is a warm-up and is not timed: it traces TF functions and
fills caches), and reports the median of several repeats and the ratio nnlib / Keras. Ratios,
not seconds, are the claim: seconds depend on the machine, the ratio much less. Nothing here
is a test; a slow machine prints slower numbers, and the exit code is 0 whatever they are.

    python tests/bench_nnlib.py            # every row
    python tests/bench_nnlib.py mlp conv   # some rows

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

import nnlib  # noqa: E402  (sets TensorFlow's quiet environment before TF is imported)

REPEATS = 7


def median_seconds(function, repeats: int = REPEATS) -> float:
    """Median wall time of `function()` over `repeats` calls, after one untimed warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_mlp() -> tuple[str, float, float, float]:
    """One epoch of a 64-32-10 ReLU/softmax MLP on the 1,797 digits, batch 32, plain SGD:
    nnlib's `Sequential.fit` against Keras's `model.fit` (both shuffle; nnlib's fit also
    evaluates the loss on the whole training set at the end of the epoch, as its History
    reports it)."""
    import keras

    from nnlib import Sequential, layers, optimizers

    rng = nnlib.seed_everything(0)
    x, y = nnlib.datasets.digits()
    x = x.astype(np.float32)

    model = Sequential([layers.Dense(64, 32, "relu", rng=rng, dtype="float32"),
                        layers.Dense(32, 10, "softmax", rng=rng, dtype="float32")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizers.SGD(learning_rate=0.05))
    reference = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
    reference.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.05))

    ours = median_seconds(lambda: model.fit(x, y, epochs=1, batch_size=32, rng=rng))
    theirs = median_seconds(lambda: reference.fit(x, y, epochs=1, batch_size=32, verbose=0))
    return "MLP 64-32-10, one epoch on digits (batch 32) vs model.fit", ours, theirs, 1.0


ROWS = {"mlp": bench_mlp}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="nnlib time / Keras time, measured side by side.")
    parser.add_argument("rows", nargs="*", help=f"rows to run (default: all of {', '.join(ROWS)})")
    args = parser.parse_args(argv)
    unknown = [name for name in args.rows if name not in ROWS]
    if unknown:
        parser.error(f"expected rows among {', '.join(ROWS)}. Received: {', '.join(unknown)}")
    names = args.rows or list(ROWS)
    print(f"{'computation':<66}{'nnlib ms':>10}{'Keras ms':>10}{'ratio':>8}{'target':>8}")
    for name in names:
        what, ours, theirs, target = ROWS[name]()
        ratio = ours / theirs
        verdict = "" if ratio <= target else "  above target"
        print(f"{what:<66}{ours * 1e3:>10.2f}{theirs * 1e3:>10.2f}{ratio:>7.2f}x{target:>7.1f}x{verdict}", flush=True)
    print(f"(median of {REPEATS} warm repeats each; {nnlib.__name__} from {Path(nnlib.__file__).parent})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
