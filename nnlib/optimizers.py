r"""Optimizers that update parameter arrays in place, with Keras's update rules.

Used in chapter 10. An optimizer is given the list of parameters and the matching list of
gradients at every step; it keeps its state (velocities, moment estimates) in one dict per
position in that list. A step does what ``keras.optimizers.Optimizer.apply_gradients`` does,
in the same order:

1. clip the gradients (``clipnorm``, ``clipvalue`` or ``global_clipnorm``; see
   :mod:`nnlib.clipping`);
2. decay the weights when ``weight_decay`` :math:`\lambda` is set, decoupled from the
   gradient: :math:`w \leftarrow w - \eta \lambda w` (``AdamW`` is ``Adam`` with this on);
3. apply the optimizer's own update rule, with learning rate :math:`\eta`.

Gradients are cast to their parameter's dtype first, as Keras does.

**Hyperparameters and the dtype** (chapter 10 compares with Keras in float32). Every update
is computed in the parameter's dtype. A Python-float hyperparameter meets a float32 array
as ``float32(value)`` (NumPy converts it, as TensorFlow does), and where Keras computes with
a hyperparameter on its own (Adam's :math:`\beta^t` and step size) nnlib follows Keras's
order of operations in the parameter's dtype, so that float32 training matches Keras's to
the last bit (the tests check every optimizer over 50 steps). In float64, nnlib uses the
hyperparameters as given. Keras does not: ``ops.cast(0.9, "float64")`` is
``float64(float32(0.9))``, and Keras keeps the learning rate in a float32 variable, so a
float64 Keras optimizer uses float32-rounded ``learning_rate``, ``momentum``,
``weight_decay``, :math:`\beta_1^t` and :math:`\beta_2^t` (while :math:`1 - \beta` in the
moment updates stays exact). Adam's first step with the default ``beta_2=0.999`` then
differs by :math:`6.7\times 10^{-6}` (relative) between nnlib and Keras in float64, which
is nnlib's decision, not a bug: float64 exists for exact comparisons, and nnlib's are with
the formula. To compare with Keras in float64, give Keras ``np.float64`` hyperparameters;
only the float32 learning-rate variable then remains (:math:`5\times 10^{-8}` relative for
0.001).
"""
from __future__ import annotations

import math

import numpy as np

from nnlib import clipping
from nnlib.schedules import LearningRateSchedule
from nnlib._validation import as_float_array, positive_float

_OPTIONS = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm")


def _fraction(value, name: str) -> float:
    """A number in [0, 1), for decay rates such as momentum, rho and the betas."""
    value = positive_float(value, name, allow_zero=True)
    if value >= 1:
        raise ValueError(f"{name} expected a number in [0, 1). Received: {name}={value}")
    return value


def _flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} expected True or False. Received: {value!r}")
    return bool(value)


def _optional(value, name: str, *, allow_zero: bool = False) -> float | None:
    return None if value is None else positive_float(value, name, allow_zero=allow_zero)


class Optimizer:
    r"""Base class: ``step(params, grads)`` updates each array of ``params`` in place.

    Parameters
    ----------
    learning_rate : float > 0 or LearningRateSchedule
        A constant, or a schedule from :mod:`nnlib.schedules` evaluated at every step.
    weight_decay : float >= 0 or None, default None
        Decoupled weight decay, :math:`w \leftarrow w - \eta \lambda w` before the update.
    clipnorm : float > 0 or None, default None
        Clip each gradient array to this L2 norm.
    clipvalue : float > 0 or None, default None
        Clip each gradient element to ``[-clipvalue, clipvalue]``.
    global_clipnorm : float > 0 or None, default None
        Clip all gradients together to this global L2 norm.

    Attributes
    ----------
    iterations : int
        Steps taken so far.

    Raises
    ------
    ValueError
        More than one of ``clipnorm``, ``clipvalue`` and ``global_clipnorm`` is set.

    Notes
    -----
    Subclasses list their hyperparameters in ``_hyperparameters`` (for ``repr``), create the
    state of one parameter in ``_new_state(param)`` and update one parameter in
    ``_update(param, grad, state, learning_rate)``.
    """

    _hyperparameters: tuple[str, ...] = ("learning_rate",)

    def __init__(self, learning_rate: float, *, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None):
        if isinstance(learning_rate, LearningRateSchedule):
            self.learning_rate = learning_rate
        else:
            self.learning_rate = positive_float(learning_rate, "learning_rate")
        self.weight_decay = _optional(weight_decay, "weight_decay", allow_zero=True)
        self.clipnorm = _optional(clipnorm, "clipnorm")
        self.clipvalue = _optional(clipvalue, "clipvalue")
        self.global_clipnorm = _optional(global_clipnorm, "global_clipnorm")
        if sum(option is not None for option in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Optimizer expected at most one of clipnorm, clipvalue and global_clipnorm. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.iterations = 0
        self._states: dict[int, dict[str, np.ndarray]] = {}

    def current_learning_rate(self) -> float:
        """The learning rate of the coming step.

        With a :class:`~nnlib.schedules.LearningRateSchedule` it is ``schedule(iterations)``,
        evaluated before the step is counted, as Keras does: the first step uses
        ``schedule(0)`` (chapter 22).
        """
        if isinstance(self.learning_rate, LearningRateSchedule):
            return float(self.learning_rate(self.iterations))
        return self.learning_rate

    def step(self, params, grads) -> None:
        """Clip ``grads``, decay ``params`` if asked, then update ``params`` in place.

        Parameters
        ----------
        params : list of float ndarrays
            Updated in place; position ``i`` always gets the state of position ``i``.
        grads : list of arrays, ``grads[i].shape == params[i].shape``
        """
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError(f"step expected one gradient per parameter. Received: {len(params)} parameters, {len(grads)} gradients")
        for index, (param, grad) in enumerate(zip(params, grads)):
            if not isinstance(param, np.ndarray):
                raise TypeError(f"step expected numpy arrays as parameters (updated in place). Received: {type(param).__name__}")
            if not np.issubdtype(param.dtype, np.floating):
                raise TypeError(f"step expected floating-point parameters. Received: parameter {index} of dtype={param.dtype}")
            grads[index] = as_float_array(grad, f"grads[{index}]").astype(param.dtype, copy=False)
            if grads[index].shape != param.shape:
                raise ValueError(f"step expected gradient {index} of shape {param.shape}. Received: shape={grads[index].shape}")
        learning_rate = self.current_learning_rate()
        # Keras's order: clip all gradients, decay all weights, then the update rule.
        grads = self._clip(grads)
        if self.weight_decay is not None:
            for param in params:
                param -= param * self.weight_decay * learning_rate
        for index, (param, grad) in enumerate(zip(params, grads)):
            if index not in self._states:
                self._states[index] = self._new_state(param)
            self._update(param, grad, self._states[index], learning_rate)
        self.iterations += 1

    def _clip(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        if self.clipnorm is not None:
            return clipping.clip_by_norm(grads, self.clipnorm)
        if self.global_clipnorm is not None:
            return clipping.clip_by_global_norm(grads, self.global_clipnorm)[0]
        if self.clipvalue is not None:
            return clipping.clip_by_value(grads, self.clipvalue)
        return grads

    def _new_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def _update(self, param, grad, state, learning_rate) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        names = self._hyperparameters + tuple(
            name for name in _OPTIONS if name not in self._hyperparameters and getattr(self, name) is not None
        )
        arguments = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({arguments})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum, as ``keras.optimizers.SGD``.

    Used in chapter 10.

    Parameters
    ----------
    learning_rate : float > 0, default 0.01
    momentum : float in [0, 1), default 0
    nesterov : bool, default False
    weight_decay, clipnorm, clipvalue, global_clipnorm : float or None, keyword-only
        See :class:`Optimizer`.

    Notes
    -----
    Without momentum: :math:`w \leftarrow w - \eta g`. With momentum :math:`\beta`, Keras's
    velocity form (the velocity :math:`v` starts at 0):

    .. math::

        v \leftarrow \beta v - \eta g, \qquad
        w \leftarrow w + v \quad\text{or, with Nesterov,}\quad
        w \leftarrow w + \beta v - \eta g.
    """

    _hyperparameters = ("learning_rate", "momentum", "nesterov")

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        *, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
    ):
        super().__init__(
            learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm
        )
        self.momentum = _fraction(momentum, "momentum")
        self.nesterov = _flag(nesterov, "nesterov")

    def _new_state(self, param):
        return {"velocity": np.zeros_like(param)} if self.momentum != 0 else {}

    def _update(self, param, grad, state, learning_rate):
        if self.momentum == 0:
            param -= learning_rate * grad
            return
        velocity = state["velocity"]
        velocity *= self.momentum
        velocity -= learning_rate * grad
        if self.nesterov:
            param += self.momentum * velocity - learning_rate * grad
        else:
            param += velocity


class Adagrad(Optimizer):
    r"""Adagrad, as ``keras.optimizers.Adagrad``: a per-element step that shrinks with the
    sum of all squared gradients seen so far.

    Used in chapter 10.

    Parameters
    ----------
    learning_rate : float > 0, default 0.001
    initial_accumulator_value : float >= 0, default 0.1
    epsilon : float >= 0, default 1e-7
    weight_decay, clipnorm, clipvalue, global_clipnorm : float or None, keyword-only
        See :class:`Optimizer`.

    Notes
    -----
    The accumulator :math:`a` starts at ``initial_accumulator_value``; Keras puts
    :math:`\epsilon` *inside* the square root:

    .. math::

        a \leftarrow a + g^2, \qquad
        w \leftarrow w - \frac{\eta\, g}{\sqrt{a + \epsilon}}.
    """

    _hyperparameters = ("learning_rate", "initial_accumulator_value", "epsilon")

    def __init__(
        self,
        learning_rate: float = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        *, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
    ):
        super().__init__(
            learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm
        )
        self.initial_accumulator_value = positive_float(initial_accumulator_value, "initial_accumulator_value", allow_zero=True)
        self.epsilon = positive_float(epsilon, "epsilon", allow_zero=True)

    def _new_state(self, param):
        return {"accumulator": np.full_like(param, self.initial_accumulator_value)}

    def _update(self, param, grad, state, learning_rate):
        accumulator = state["accumulator"]
        accumulator += np.square(grad)
        param -= learning_rate * grad / np.sqrt(accumulator + self.epsilon)


class RMSprop(Optimizer):
    r"""RMSprop, as ``keras.optimizers.RMSprop``: divide the gradient by the root of a
    moving average of its square.

    Used in chapter 10.

    Parameters
    ----------
    learning_rate : float > 0, default 0.001
    rho : float in [0, 1), default 0.9
        Decay rate of the moving averages.
    momentum : float in [0, 1), default 0
    epsilon : float >= 0, default 1e-7
    centered : bool, default False
        Divide by the estimated variance :math:`s - \bar g^2` instead of the second moment.
    weight_decay, clipnorm, clipvalue, global_clipnorm : float or None, keyword-only
        See :class:`Optimizer`.

    Notes
    -----
    The averages :math:`s`, :math:`\bar g` and the momentum buffer :math:`m` start at 0;
    :math:`\epsilon` sits *inside* the square root:

    .. math::

        s \leftarrow \rho s + (1 - \rho) g^2, \qquad
        \bar g \leftarrow \rho \bar g + (1 - \rho) g \quad\text{(centered only)},

        \Delta = \frac{\eta\, g}{\sqrt{s + \epsilon}}
        \quad\text{or, centered,}\quad
        \Delta = \frac{\eta\, g}{\sqrt{s - \bar g^2 + \epsilon}},

        w \leftarrow w - \Delta \quad\text{or, with momentum } \beta,\quad
        m \leftarrow \beta m + \Delta,\; w \leftarrow w - m.
    """

    _hyperparameters = ("learning_rate", "rho", "momentum", "epsilon", "centered")

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        *, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
    ):
        super().__init__(
            learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm
        )
        self.rho = _fraction(rho, "rho")
        self.momentum = _fraction(momentum, "momentum")
        self.epsilon = positive_float(epsilon, "epsilon", allow_zero=True)
        self.centered = _flag(centered, "centered")

    def _new_state(self, param):
        state = {"velocity": np.zeros_like(param)}
        if self.momentum > 0:
            state["momentum"] = np.zeros_like(param)
        if self.centered:
            state["average_gradient"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, learning_rate):
        velocity = state["velocity"]
        velocity[...] = self.rho * velocity + (1 - self.rho) * np.square(grad)
        if self.centered:
            average = state["average_gradient"]
            average[...] = self.rho * average + (1 - self.rho) * grad
            denominator = velocity - np.square(average) + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = learning_rate * grad / np.sqrt(denominator)
        if self.momentum > 0:
            momentum = state["momentum"]
            momentum[...] = self.momentum * momentum + increment
            param -= momentum
        else:
            param -= increment


class Adam(Optimizer):
    r"""Adam, as ``keras.optimizers.Adam``: momentum on the gradient, RMSprop-like scaling,
    and bias correction folded into the step size.

    Used in chapter 10.

    Parameters
    ----------
    learning_rate : float > 0, default 0.001
    beta_1 : float in [0, 1), default 0.9
        Decay rate of the first-moment estimate :math:`m`.
    beta_2 : float in [0, 1), default 0.999
        Decay rate of the second-moment estimate :math:`v`.
    epsilon : float >= 0, default 1e-7
    amsgrad : bool, default False
        Divide by the largest :math:`v` seen so far, :math:`\hat v`, instead of :math:`v`.
    weight_decay, clipnorm, clipvalue, global_clipnorm : float or None, keyword-only
        See :class:`Optimizer`.

    Notes
    -----
    At step :math:`t = 1, 2, \dots` (``iterations + 1``), with :math:`m = v = 0` at the start:

    .. math::

        m \leftarrow m + (1 - \beta_1)(g - m), \qquad
        v \leftarrow v + (1 - \beta_2)(g^2 - v),

        \alpha_t = \eta\,\frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}, \qquad
        w \leftarrow w - \frac{\alpha_t\, m}{\sqrt{v} + \epsilon}.

    Keras's :math:`\epsilon` sits *outside* the square root and is added to the
    uncorrected :math:`\sqrt{v}` (the paper's ":math:`\hat\epsilon`"), so it is not the
    textbook :math:`\hat m / (\sqrt{\hat v} + \epsilon)` with the same :math:`\epsilon`.

    :math:`\alpha_t` is computed in the parameter's dtype from :math:`\beta_1, \beta_2, \eta`
    rounded to it, as Keras computes it, so float32 steps equal Keras's bit for bit. In
    float64 the hyperparameters are used as given, while Keras rounds :math:`\eta`,
    :math:`\beta_1^t` and :math:`\beta_2^t` through float32: with ``beta_2=0.999`` the first
    step differs from Keras's float64 step by :math:`6.7\times 10^{-6}` (relative); see the
    module notes.
    """

    _hyperparameters = ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        *, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
    ):
        super().__init__(
            learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm
        )
        self.beta_1 = _fraction(beta_1, "beta_1")
        self.beta_2 = _fraction(beta_2, "beta_2")
        self.epsilon = positive_float(epsilon, "epsilon", allow_zero=True)
        self.amsgrad = _flag(amsgrad, "amsgrad")

    def _new_state(self, param):
        state = {"momentum": np.zeros_like(param), "velocity": np.zeros_like(param)}
        if self.amsgrad:
            state["velocity_hat"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, learning_rate):
        # the step size in the parameter's dtype, in Keras's order of operations, so that a
        # float32 step equals Keras's to the last bit (see the Notes on float64)
        dtype = param.dtype.type
        step = self.iterations + 1
        # beta**t from the beta rounded to the dtype; the power itself in float64, then rounded:
        # TensorFlow's float32 pow agrees with that for Keras's default betas (NumPy's float32 pow
        # is off by an ulp at some steps)
        beta_1_power = dtype(np.power(np.float64(dtype(self.beta_1)), step))
        beta_2_power = dtype(np.power(np.float64(dtype(self.beta_2)), step))
        alpha = dtype(learning_rate) * np.sqrt(dtype(1) - beta_2_power) / (dtype(1) - beta_1_power)
        momentum, velocity = state["momentum"], state["velocity"]
        momentum += (grad - momentum) * (1 - self.beta_1)
        velocity += (np.square(grad) - velocity) * (1 - self.beta_2)
        if self.amsgrad:
            velocity = np.maximum(state["velocity_hat"], velocity, out=state["velocity_hat"])
        param -= momentum * alpha / (np.sqrt(velocity) + self.epsilon)


class AdamW(Adam):
    r"""Adam with decoupled weight decay, as ``keras.optimizers.AdamW``.

    Used in chapter 10.

    Parameters
    ----------
    learning_rate : float > 0, default 0.001
    weight_decay : float >= 0, default 0.004
        :math:`\lambda`; AdamW always decays, so None is refused.
    beta_1, beta_2, epsilon, amsgrad
        As in :class:`Adam`.
    clipnorm, clipvalue, global_clipnorm : float or None, keyword-only
        See :class:`Optimizer`.

    Notes
    -----
    Before the :class:`Adam` update of the step, and with the same :math:`\eta`:

    .. math::

        w \leftarrow w - \eta \lambda w.

    In Keras this is exactly ``Adam(weight_decay=...)``: every Keras optimizer applies
    ``weight_decay`` this decoupled way, not as an L2 term added to the gradient.
    """

    _hyperparameters = ("learning_rate", "weight_decay", "beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(
        self,
        learning_rate: float = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        *,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
    ):
        if weight_decay is None:
            raise TypeError("weight_decay expected a real number (AdamW always decays the weights). Received: None")
        super().__init__(
            learning_rate, beta_1, beta_2, epsilon, amsgrad,
            weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
        )


_BY_NAME = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def get(identifier) -> Optimizer:
    """Return an optimizer by name with Keras's defaults, or pass an Optimizer through.

    Names: ``"sgd"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"`` (any case).
    """
    if isinstance(identifier, Optimizer):
        return identifier
    expected = f"optimizer expected an nnlib Optimizer or one of {sorted(_BY_NAME)}. Received: {identifier!r}"
    if not isinstance(identifier, str):
        raise TypeError(expected)
    if identifier.lower() not in _BY_NAME:
        raise ValueError(expected)
    return _BY_NAME[identifier.lower()]()
