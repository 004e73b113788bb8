r"""Numerical gradient checks by central differences (used in the tests and chapter 06).

.. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}

has truncation error :math:`O(h^2)` and rounding error about :math:`10^{-16}/h`. In float64
with :math:`h = 10^{-6}` a correct analytic gradient typically agrees to a relative error of
:math:`10^{-7}` or better; components close to zero can reach a few times :math:`10^{-6}`,
because their relative error is all rounding. The unit tests accept :math:`10^{-5}`; a
wrong derivative gives errors of order 1.
"""
from __future__ import annotations

import numpy as np

from nnlib._validation import as_float_array, generator, positive_float


def numerical_gradient(f, x, eps: float = 1e-6):
    """Central-difference gradient of the scalar function ``f`` at the array ``x``.

    ``x`` is perturbed in place and restored, so ``f`` may close over it.
    """
    if not callable(f):
        raise TypeError(f"numerical_gradient expected a callable f. Received: {type(f).__name__}")
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"numerical_gradient expected a float64 numpy array x. Received: {type(x).__name__} {getattr(x, 'dtype', '')}")
    eps = positive_float(eps, "eps")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        upper = float(f())
        x[index] = original - eps
        lower = float(f())
        x[index] = original
        grad[index] = (upper - lower) / (2 * eps)
    return grad


def relative_error(analytic, numeric) -> float:
    r"""Largest elementwise :math:`|a - n| / \max(|a| + |n|, 10^{-12})`."""
    analytic = as_float_array(analytic, "analytic")
    numeric = as_float_array(numeric, "numeric")
    if analytic.shape != numeric.shape:
        raise ValueError(f"relative_error expected arrays of one shape. Received: {analytic.shape} and {numeric.shape}")
    if analytic.size == 0:
        return 0.0
    scale = np.maximum(np.abs(analytic) + np.abs(numeric), 1e-12)
    return float(np.max(np.abs(analytic - numeric) / scale))


def check_layer(layer, x, rng=None, eps: float = 1e-6) -> dict[str, float]:
    """Compare a layer's ``backward`` with central differences.

    Uses the scalar :math:`L = \\sum (\\text{forward}(x) \\odot G)` for a random upstream
    gradient :math:`G`, so that :math:`\\partial L/\\partial \\text{out} = G`.

    Returns
    -------
    dict
        ``{"input": err, <param name>: err, ...}``: the largest relative error of each.
    """
    from nnlib.layers.base import Layer

    if not isinstance(layer, Layer):
        raise TypeError(f"check_layer expected an nnlib layer. Received: {type(layer).__name__}")
    x = as_float_array(x, "x")
    if x.dtype != np.float64 or any(value.dtype != np.float64 for value in layer.params.values()):
        dtypes = {key: str(value.dtype) for key, value in layer.params.items()}
        raise TypeError(
            "check_layer expected float64 inputs and parameters (float32 is too coarse for finite differences). "
            f"Received: x.dtype={x.dtype}, parameter dtypes {dtypes}"
        )
    x = x.copy()
    upstream = generator(rng).standard_normal(layer.forward(x).shape)

    def loss():
        return np.sum(layer.forward(x, training=True) * upstream)

    layer.forward(x, training=True)
    input_grad = layer.backward(upstream)
    errors = {"input": relative_error(input_grad, numerical_gradient(loss, x, eps))}
    analytic = {key: value.copy() for key, value in layer.grads.items()}
    for key, value in layer.params.items():
        errors[key] = relative_error(analytic[key], numerical_gradient(loss, value, eps))
    return errors


def check_function(f, grad, x, eps: float = 1e-6) -> float:
    """Relative error between ``grad(x)`` and the central-difference gradient of scalar ``f(x)``."""
    for name, function in (("f", f), ("grad", grad)):
        if not callable(function):
            raise TypeError(f"check_function expected a callable {name}. Received: {type(function).__name__}")
    x = as_float_array(x, "x").astype(np.float64).copy()
    return relative_error(grad(x), numerical_gradient(lambda: f(x), x, eps))
