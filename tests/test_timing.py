"""Tests for nnlib.timing: per-call CPU time, calibration, interleaving, BLAS threads, bad input."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from nnlib import timing


def busy(n):
    def work():
        total = 0
        for i in range(n):
            total += i
        return total
    return work


def test_a_longer_function_takes_longer_in_proportion():
    short, long = timing.fastest_cpu_seconds([busy(2_000), busy(20_000)], rounds=3)
    assert 4 < long / short < 25  # ten times the work; wide margins for a shared machine
    assert 1e-6 < short < 1e-2


def test_calibration_times_a_tiny_function_over_many_calls():
    seconds = timing.fastest_cpu_seconds([lambda: None], rounds=2, min_seconds=0.01)
    assert 0 < seconds[0] < 1e-4  # a clock that ticks every 15 ms could never show this in one call


def test_explicit_calls_and_the_order_of_calls():
    log = []
    timing.fastest_cpu_seconds([lambda: log.append("a"), lambda: log.append("b")], rounds=3, calls=[2, 1])
    assert log == ["a", "a", "b"] * 3  # turns: a twice, then b once, every round


def test_blas_runs_on_one_thread_during_the_measurement_and_is_restored_after():
    before = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    seen = []
    timing.fastest_cpu_seconds([lambda: seen.append([i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"])],
                               rounds=1, calls=[1])
    assert all(threads == 1 for threads in seen[0])
    assert [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"] == before


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match=r"fastest_cpu_seconds expected a non-empty list of callables"):
        timing.fastest_cpu_seconds([])
    with pytest.raises(TypeError, match=r"fastest_cpu_seconds expected a non-empty list of callables"):
        timing.fastest_cpu_seconds([np.zeros(3)])
    with pytest.raises(ValueError, match=r"rounds expected a positive integer\. Received: rounds=0"):
        timing.fastest_cpu_seconds([busy(10)], rounds=0)
    with pytest.raises(ValueError, match=r"fastest_cpu_seconds expected one count per function\. Received: 2 counts, 1 functions"):
        timing.fastest_cpu_seconds([busy(10)], calls=[1, 2])
