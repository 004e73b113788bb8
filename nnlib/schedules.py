r"""Learning-rate schedules with the formulas of ``keras.optimizers.schedules`` (chapter 22).

A schedule is called with the optimizer's step count :math:`t` (0 for the first update,
as Keras evaluates ``schedule(optimizer.iterations)`` before incrementing it) and returns
the learning rate :math:`\eta_t` for that update, as a Python float computed in float64.
Keras computes in the dtype of ``initial_learning_rate`` (float32 for a Python float), so
the two agree to float32 rounding by default. A ``np.float64`` initial learning rate alone
does not give float64 agreement: Keras converts every other Python-float argument
(``decay_rate``, ``alpha``, ``warmup_target``, the ``values``) through float32 before casting
it to float64 (``ops.cast(0.96, "float64")`` is ``float64(float32(0.96))``), which leaves a
relative difference of about :math:`10^{-8}` (``ExponentialDecay(np.float64(0.1), 7, 0.96)``
at step 5: :math:`1.6\times 10^{-8}`). The two agree to float64 rounding when *every*
float argument is a ``np.float64`` (the tests do that). Inside a Keras optimizer the rate
is then cast to the variables' dtype.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from nnlib._validation import positive_float

__all__ = ["CosineDecay", "ExponentialDecay", "LearningRateSchedule", "PiecewiseConstantDecay"]


def _real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{name} expected a finite real number. Received: {value!r}")
    return float(value)


def _step(step) -> float:
    """The step count: an integer or real number >= 0 (a 0-d NumPy array is fine too)."""
    if isinstance(step, np.ndarray) and step.ndim == 0:
        step = step.item()
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Real):
        raise TypeError(f"step expected a non-negative number (the optimizer's step count). Received: {step!r}")
    step = float(step)
    if not math.isfinite(step) or step < 0:
        raise ValueError(f"step expected a finite number >= 0. Received: step={step}")
    return step


def _steps(value, name: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "a non-negative" if allow_zero else "a positive"
        raise TypeError(f"{name} expected {kind} integer. Received: {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} expected an integer {bound}. Received: {name}={value}")
    return int(value)


class LearningRateSchedule:
    """Base class: ``schedule(step) -> float``.

    Subclasses implement ``_rate(step)`` for a validated float ``step >= 0`` and list their
    arguments in ``_config`` (for ``repr`` and :meth:`get_config`, Keras's keys).
    """

    _config: tuple[str, ...] = ()

    def __call__(self, step) -> float:
        """The learning rate at optimizer step ``step`` (0 for the first update)."""
        return float(self._rate(_step(step)))

    def _rate(self, step: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        return {key: getattr(self, key) for key in self._config}

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class ExponentialDecay(LearningRateSchedule):
    r"""Exponential decay, as ``keras.optimizers.schedules.ExponentialDecay``.

    Used in chapter 22.

    Parameters
    ----------
    initial_learning_rate : float > 0
        :math:`\eta_0`.
    decay_steps : int > 0
        :math:`T`: the rate is multiplied by ``decay_rate`` every :math:`T` steps.
    decay_rate : float > 0
        :math:`\gamma` (below 1 to decay; Keras accepts any value).
    staircase : bool, default False
        Decay in whole steps of :math:`T` (integer division) instead of continuously.

    Raises
    ------
    TypeError, ValueError
        An argument outside the ranges above.

    Notes
    -----
    .. math::

        \eta_t = \eta_0 \, \gamma^{\,t / T}
        \quad\text{or, with staircase,}\quad
        \eta_t = \eta_0 \, \gamma^{\lfloor t / T \rfloor}.
    """

    _config = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase")

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False):
        self.initial_learning_rate = positive_float(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _steps(decay_steps, "decay_steps")
        self.decay_rate = positive_float(decay_rate, "decay_rate")
        if not isinstance(staircase, (bool, np.bool_)):
            raise TypeError(f"staircase expected True or False. Received: {staircase!r}")
        self.staircase = bool(staircase)

    def _rate(self, step):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate**exponent


class PiecewiseConstantDecay(LearningRateSchedule):
    r"""A constant rate on each interval between boundaries, as
    ``keras.optimizers.schedules.PiecewiseConstantDecay``.

    Used in chapter 22.

    Parameters
    ----------
    boundaries : sequence of numbers, strictly increasing, at least one
        :math:`b_1 < \dots < b_k`.
    values : sequence of k + 1 positive numbers
        :math:`v_0, \dots, v_k`.

    Raises
    ------
    TypeError, ValueError
        Non-numbers, boundaries that do not increase, or ``len(values) != len(boundaries) + 1``.

    Notes
    -----
    Each interval is closed on the right, as in Keras (``step <= boundary``):

    .. math::

        \eta_t = \begin{cases}
            v_0 & t \le b_1 \\
            v_i & b_i < t \le b_{i+1} \\
            v_k & t > b_k .
        \end{cases}

    So with ``boundaries=[100]`` the step numbered 100 (the 101st update) still uses
    :math:`v_0`.
    """

    _config = ("boundaries", "values")

    def __init__(self, boundaries, values):
        boundaries, values = self._sequence(boundaries, "boundaries"), self._sequence(values, "values")
        self.boundaries = [_real(value, f"boundaries[{index}]") for index, value in enumerate(boundaries)]
        self.values = [positive_float(value, f"values[{index}]") for index, value in enumerate(values)]
        if not self.boundaries:
            raise ValueError("boundaries expected at least one boundary (use a float learning rate for a constant one). Received: boundaries=[]")
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                "values expected one more element than boundaries. "
                f"Received: {len(self.boundaries)} boundaries and {len(self.values)} values"
            )
        if any(high <= low for low, high in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"boundaries expected strictly increasing numbers. Received: boundaries={self.boundaries}")

    @staticmethod
    def _sequence(value, name):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            raise TypeError(f"{name} expected a list of numbers. Received: {value!r}")
        return list(np.asarray(value).tolist()) if isinstance(value, np.ndarray) else list(value)

    def _rate(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]


class CosineDecay(LearningRateSchedule):
    r"""Cosine decay with an optional linear warm-up, as ``keras.optimizers.schedules.CosineDecay``.

    Used in chapter 22.

    Parameters
    ----------
    initial_learning_rate : float >= 0
        :math:`\eta_0`: the starting rate (the start of the warm-up if there is one; 0 is
        then allowed).
    decay_steps : int > 0
        :math:`T`: steps of the cosine part.
    alpha : float >= 0, default 0.0
        The final rate as a fraction :math:`\alpha` of the peak rate.
    warmup_target : float > 0 or None, default None
        :math:`\eta_{\max}`, the rate reached at the end of the warm-up. ``None``: no
        warm-up, the decay starts from :math:`\eta_0`.
    warmup_steps : int >= 0, default 0
        :math:`W`: steps of the warm-up (ignored when ``warmup_target`` is None).

    Raises
    ------
    TypeError, ValueError
        An argument outside the ranges above, or ``initial_learning_rate=0`` without a warm-up.

    Notes
    -----
    Without warm-up, with :math:`s = \min(t, T)`:

    .. math::

        \eta_t = \eta_0 \left[(1 - \alpha)\,\tfrac12\left(1 + \cos\frac{\pi s}{T}\right) + \alpha\right].

    With warm-up, Keras clips :math:`t` to :math:`s = \min(t, W + T)` and then

    .. math::

        \eta_t = \begin{cases}
            \eta_0 + (\eta_{\max} - \eta_0)\, s / W & s < W \\
            \eta_{\max} \left[(1 - \alpha)\,\tfrac12\left(1 + \cos\frac{\pi (s - W)}{T}\right) + \alpha\right] & s \ge W ,
        \end{cases}

    so the peak :math:`\eta_{\max}` is reached at step :math:`W` exactly, and the rate
    stays at :math:`\alpha\eta_{\max}` after step :math:`W + T`. With ``warmup_target``
    set and ``warmup_steps=0`` the decay starts from ``warmup_target``, not from
    ``initial_learning_rate``.
    """

    _config = ("initial_learning_rate", "decay_steps", "alpha", "warmup_target", "warmup_steps")

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0, warmup_target=None, warmup_steps: int = 0):
        self.initial_learning_rate = positive_float(initial_learning_rate, "initial_learning_rate", allow_zero=True)
        self.decay_steps = _steps(decay_steps, "decay_steps")
        self.alpha = positive_float(alpha, "alpha", allow_zero=True)
        self.warmup_target = None if warmup_target is None else positive_float(warmup_target, "warmup_target")
        self.warmup_steps = _steps(warmup_steps, "warmup_steps", allow_zero=True)
        if self.warmup_target is None and self.initial_learning_rate == 0:
            raise ValueError(
                "initial_learning_rate expected a number > 0 when there is no warm-up (warmup_target=None). "
                "Received: initial_learning_rate=0.0"
            )

    def _cosine(self, step, peak):
        cosine = 0.5 * (1.0 + math.cos(math.pi * (step / self.decay_steps)))
        return peak * ((1 - self.alpha) * cosine + self.alpha)

    def _rate(self, step):
        if self.warmup_target is None:
            return self._cosine(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * (step / self.warmup_steps) + self.initial_learning_rate
        return self._cosine(step - self.warmup_steps, self.warmup_target)
