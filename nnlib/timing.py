r"""Timing code fairly on a shared machine (chapters 05, 06 and 07).

A chapter that claims "A is ten times faster than B" must measure it in a way that other
processes, a coarse clock and a multi-threaded BLAS cannot spoil. :func:`fastest_cpu_seconds`
does four things for that:

- it measures **CPU time** of this process (:func:`time.process_time`), so time spent
  waiting for the CPU while other programs run is not counted;
- the functions **take turns**: every round times each function once, so a burst of load
  hits all of them rather than one;
- it keeps the **fastest** round, the one least disturbed;
- each measurement repeats the call until it lasts at least ``min_seconds``, so even a
  10-microsecond call is timed over many clock ticks (``process_time`` ticks every
  15.6 ms on Windows).

It also runs NumPy's BLAS on **one thread**, so that a matrix product's speed does not depend
on how many cores happen to be free. Chapters still assert only patterns (ratios, slopes,
orderings) with wide margins: absolute times differ from machine to machine.
"""
from __future__ import annotations

import time

import numpy as np

from nnlib._validation import positive_float, positive_int


def _seconds(function, calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        function()
    return time.process_time() - start


def _calls_for(function, min_seconds: float) -> int:
    """Double the number of calls until one measurement lasts at least ``min_seconds``."""
    calls = 1
    while _seconds(function, calls) < min_seconds and calls < 2**20:
        calls *= 2
    return calls


def fastest_cpu_seconds(functions, *, rounds: int = 5, min_seconds: float = 0.02, calls=None,
                        blas_threads: int | None = 1) -> np.ndarray:
    """CPU seconds per call of each function: the fastest of ``rounds`` interleaved rounds.

    Parameters
    ----------
    functions : sequence of callables taking no arguments
    rounds : int, default 5
        Rounds of measurement; in each, every function is timed once, in turn.
    min_seconds : float, default 0.02
        A measurement repeats its function until it lasts this long (the number of calls is
        found once, before the rounds, by doubling), unless ``calls`` is given.
    calls : sequence of int, optional
        Calls per measurement for each function, instead of calibrating.
    blas_threads : int or None, default 1
        Threads for NumPy's BLAS during the measurement (``None`` leaves them alone).

    Returns
    -------
    ndarray (len(functions),)
        Seconds per call.
    """
    if not hasattr(functions, "__iter__") or isinstance(functions, (str, bytes)):
        raise TypeError(f"fastest_cpu_seconds expected a non-empty list of callables. Received: {type(functions).__name__}")
    functions = list(functions)
    if not functions or not all(callable(function) for function in functions):
        raise TypeError(f"fastest_cpu_seconds expected a non-empty list of callables. Received: {functions!r}")
    rounds = positive_int(rounds, "rounds")
    blas_threads = None if blas_threads is None else positive_int(blas_threads, "blas_threads")
    min_seconds = positive_float(min_seconds, "min_seconds")
    if calls is not None:
        calls = [positive_int(count, "calls") for count in calls]
        if len(calls) != len(functions):
            raise ValueError(f"fastest_cpu_seconds expected one count per function. Received: {len(calls)} counts, {len(functions)} functions")
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    limits = threadpool_limits(blas_threads, user_api="blas") if blas_threads is not None else None
    try:
        if calls is None:
            calls = [_calls_for(function, min_seconds) for function in functions]  # also warms up
        best = np.full(len(functions), np.inf)
        for _ in range(rounds):
            for index, (function, count) in enumerate(zip(functions, calls)):
                best[index] = min(best[index], _seconds(function, count) / count)
    finally:
        if limits is not None:
            limits.restore_original_limits()
    return best
