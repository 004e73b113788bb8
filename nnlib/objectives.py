r"""Two-dimensional test functions for watching optimisers move (chapter 10).

Each objective has ``value(w)`` and ``gradient(w)`` for a point ``w`` of shape ``(2,)``;
``value`` also accepts a grid of shape ``(..., 2)``, which is what a contour plot needs.
:func:`run_optimizer` runs any :mod:`nnlib.optimizers` optimizer on an objective and
returns the path it takes.

- :class:`Quadratic`: :math:`f(w) = \tfrac12 w^\top A w` with :math:`A` symmetric positive
  definite. Its curvatures are the eigenvalues of :math:`A`; their ratio, the condition
  number, sets how hard the problem is for plain gradient descent, whose step size must
  stay below :math:`2/\lambda_{\max}` while progress along the flattest direction goes as
  :math:`\eta\lambda_{\min}`.
- :class:`Rosenbrock`: :math:`f(x, y) = (a - x)^2 + b(y - x^2)^2`, a curved, flat-bottomed
  valley with its minimum at :math:`(a, a^2)` (Rosenbrock, 1960).
"""
from __future__ import annotations

import numpy as np

from nnlib._validation import as_float_array, check_finite, non_negative_int, positive_float


def _point(w, name="w"):
    w = as_float_array(w, name)
    if w.shape != (2,):
        raise ValueError(f"{name} expected a point of shape (2,). Received: {name}.shape={w.shape}")
    return w


def _grid(w):
    w = as_float_array(w, "w", min_ndim=1)
    if w.shape[-1] != 2:
        raise ValueError(f"value expected points of shape (..., 2). Received: w.shape={w.shape}")
    return w


class Quadratic:
    r"""The quadratic bowl :math:`f(w) = \tfrac12 w^\top A w`, minimum 0 at the origin.

    Parameters
    ----------
    curvatures : pair of float, default (1.0, 10.0)
        The diagonal of :math:`A` (an axis-aligned bowl); ignored when ``matrix`` is given.
    matrix : ndarray (2, 2), optional
        A symmetric positive definite :math:`A`, for a bowl whose axes are rotated.

    Notes
    -----
    :math:`\nabla f(w) = A w`. The condition number is
    :math:`\kappa = \lambda_{\max}/\lambda_{\min}`.
    """

    def __init__(self, curvatures=(1.0, 10.0), *, matrix=None):
        if matrix is None:
            curvatures = as_float_array(curvatures, "curvatures", ndim=1)
            if curvatures.shape != (2,) or np.any(curvatures <= 0):
                raise ValueError(f"curvatures expected two positive numbers. Received: curvatures={curvatures.tolist()}")
            matrix = np.diag(curvatures)
        matrix = as_float_array(matrix, "matrix", ndim=2)
        if matrix.shape != (2, 2) or not np.allclose(matrix, matrix.T):
            raise ValueError(f"matrix expected a symmetric (2, 2) array. Received: matrix={matrix.tolist()}")
        eigenvalues = np.linalg.eigvalsh(matrix)
        if eigenvalues[0] <= 0:
            raise ValueError(f"matrix expected positive eigenvalues (positive definite). Received: eigenvalues={eigenvalues.tolist()}")
        self.matrix = matrix.astype(np.float64)
        self.curvatures = eigenvalues
        self.minimum = np.zeros(2)

    @property
    def condition_number(self) -> float:
        return float(self.curvatures[-1] / self.curvatures[0])

    def value(self, w):
        w = _grid(w)
        return 0.5 * np.einsum("...i,ij,...j->...", w, self.matrix, w)

    def gradient(self, w):
        return self.matrix @ _point(w)

    def __repr__(self):
        return f"Quadratic(curvatures={self.curvatures.round(6).tolist()})"


class Rosenbrock:
    r"""Rosenbrock's banana valley :math:`f(x, y) = (a - x)^2 + b(y - x^2)^2`.

    Notes
    -----
    .. math::

        \nabla f = \bigl(-2(a - x) - 4 b x (y - x^2),\; 2 b (y - x^2)\bigr),

    zero only at the minimum :math:`(a, a^2)`, where :math:`f = 0`.
    """

    def __init__(self, a: float = 1.0, b: float = 100.0):
        self.a = float(as_float_array(a, "a", ndim=0))
        self.b = positive_float(b, "b")
        self.minimum = np.array([self.a, self.a**2])

    def value(self, w):
        w = _grid(w)
        x, y = w[..., 0], w[..., 1]
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def gradient(self, w):
        x, y = _point(w)
        return np.array([-2 * (self.a - x) - 4 * self.b * x * (y - x**2), 2 * self.b * (y - x**2)])

    def __repr__(self):
        return f"Rosenbrock(a={self.a}, b={self.b})"


def run_optimizer(optimizer, objective, start, steps: int) -> np.ndarray:
    """Run ``optimizer`` on ``objective`` from ``start``; return the path, shape ``(steps + 1, 2)``.

    Row 0 is the start; row ``t`` is the point after ``t`` updates. A diverging run keeps
    going (its later rows may be inf or nan), so that a chapter can show divergence.
    """
    from nnlib.optimizers import Optimizer

    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"run_optimizer expected an nnlib optimizer. Received: {type(optimizer).__name__}")
    if not (callable(getattr(objective, "gradient", None)) and callable(getattr(objective, "value", None))):
        raise TypeError(f"run_optimizer expected an objective with value and gradient methods. Received: {type(objective).__name__}")
    steps = non_negative_int(steps, "steps")
    point = _point(start, "start").astype(np.float64).copy()
    check_finite(point, "start")  # data: the path may diverge later, the start may not
    path = [point.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            optimizer.step([point], [objective.gradient(point)])
            path.append(point.copy())
    return np.array(path)
