"""Argument checks shared by nnlib's public entry points.

Every check raises ``TypeError`` or ``ValueError`` with a message that says what was
expected and what was received, in the style of Keras. The policy they implement is
written in CONTRIBUTING.md ("Bad input"):

- *data handed in* (``x``, ``y``, ``y_true``, ``sample_weight``) must be numeric, non-empty
  and finite: :func:`data_array`;
- *values computed during training* (predictions, gradients, weights) may be inf or NaN:
  they are checked for type and shape only (:func:`as_float_array`);
- *flags and parameters* are validated, never coerced: :func:`flag`, :func:`real_number`,
  :func:`positive_float`, :func:`positive_int`, :func:`one_of`, ...
"""
from __future__ import annotations

import numbers

import numpy as np


def as_float_array(value, name: str, *, ndim: int | None = None, min_ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a floating-point array, checking its rank.

    Integer and boolean inputs become float64; float32 stays float32.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        array = value  # the common case, checked cheaply: training loops call this constantly
    else:
        if isinstance(value, (str, bytes)) or value is None:
            raise TypeError(f"{name} expected an array of numbers. Received: {type(value).__name__}")
        try:
            array = np.asarray(value)
        except Exception as error:  # pragma: no cover - numpy raises many types here
            raise TypeError(f"{name} expected an array of numbers. Received: {type(value).__name__}") from error
        kind = array.dtype.kind  # f float, c complex, i/u integer, b bool
        if kind == "c":
            raise TypeError(f"{name} expected an array of real numbers. Received: dtype={array.dtype}")
        if kind not in "fiub":
            raise TypeError(f"{name} expected an array of numbers. Received: dtype={array.dtype}")
        if kind != "f":
            array = array.astype(np.float64)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} expected a {ndim}-D array. Received: {name}.shape={array.shape}")
    if min_ndim is not None and array.ndim < min_ndim:
        raise ValueError(f"{name} expected an array with at least {min_ndim} dimensions. Received: {name}.shape={array.shape}")
    return array


def check_finite(array: np.ndarray, name: str) -> None:
    """Refuse NaN and inf (data handed in; computed values are not checked)."""
    if not np.all(np.isfinite(array)):
        count = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} expected finite values. Received: {name} with {count} NaN or inf value{'s' * (count != 1)}")


def check_non_empty(array: np.ndarray, name: str) -> None:
    """Refuse arrays without values (a zero-length axis)."""
    if np.size(array) == 0:
        raise ValueError(f"{name} expected a non-empty array. Received: {name}.shape={np.shape(array)}")


def data_array(value, name: str, *, ndim: int | None = None, min_ndim: int | None = None) -> np.ndarray:
    """Data handed in by the caller: numeric (:func:`as_float_array`), non-empty and finite."""
    array = as_float_array(value, name, ndim=ndim, min_ndim=min_ndim)
    check_non_empty(array, name)
    check_finite(array, name)
    return array


def same_length(first: np.ndarray, second: np.ndarray, caller: str, names=("x", "y"), what="as many targets as inputs") -> None:
    """Refuse data whose first axes differ (``x`` and ``y``, ``y`` and ``sample_weight``)."""
    if len(first) != len(second):
        raise ValueError(
            f"{caller} expected {what}. Received: {names[0]} has {len(first)} rows, {names[1]} has {len(second)}"
        )


def flag(value, name: str) -> bool:
    """A bool (or NumPy bool); anything else, ``"no"`` or ``1`` included, is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} expected True or False. Received: {value!r}")
    return bool(value)


def real_number(value, name: str) -> float:
    """A finite real number (not a bool, not a string)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} expected a real number. Received: {name}={value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} expected a finite number. Received: {name}={value}")
    return value


def fraction(value, name: str, *, closed: bool = True) -> float:
    """A number in [0, 1] (``closed``) or [0, 1)."""
    value = real_number(value, name)
    if value < 0 or value > 1 or (value == 1 and not closed):
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} expected a number in {interval}. Received: {name}={value}")
    return value


def axis_index(axis, ndim: int, name: str = "axis") -> int:
    """An integer axis in [-ndim, ndim), returned as a non-negative index."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name} expected an integer. Received: {name}={axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name} expected an integer in [{-ndim}, {ndim}) for an array with ndim={ndim}. Received: {name}={axis}")
    return int(axis) % ndim


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} expected a positive integer. Received: {value!r}")
    if value < 1:
        raise ValueError(f"{name} expected a positive integer. Received: {name}={value}")
    return int(value)


def non_negative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} expected a non-negative integer. Received: {value!r}")
    if value < 0:
        raise ValueError(f"{name} expected a non-negative integer. Received: {name}={value}")
    return int(value)


def positive_float(value, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} expected a real number. Received: {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} expected a finite number {bound}. Received: {name}={value}")
    return value


def generator(rng, name: str = "rng") -> np.random.Generator:
    """Return ``rng`` or, when it is None, nnlib's default generator."""
    if rng is None:
        from nnlib.seeding import default_rng

        return default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} expected a numpy.random.Generator (np.random.default_rng(seed)). Received: {type(rng).__name__}")
    return rng


def one_of(value, name: str, choices) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} expected one of {sorted(choices)}. Received: {value!r}")
    key = value.lower()
    if key not in choices:
        raise ValueError(f"{name} expected one of {sorted(choices)}. Received: {name}={value!r}")
    return key
