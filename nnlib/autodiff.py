r"""A tiny reverse-mode automatic differentiation engine on NumPy arrays. Used in chapter 07.

Every operation on a :class:`Node` returns a new node that remembers its parents and two
closures written right beside the forward computation:

- ``_backward`` (reverse mode) adds the operation's vector-Jacobian product to each parent's
  ``grad``: given :math:`\bar y = \partial L/\partial y` it adds
  :math:`\bar x \mathrel{+}= J^\top \bar y` (with ``+=``, so a node used twice collects both
  contributions);
- ``_tangent`` (forward mode) returns the Jacobian-vector product
  :math:`\dot y = J \dot x` from the parents' ``tangent``.

:meth:`Node.backward` walks the graph once in reverse topological order (one reverse sweep
gives the gradient of one output with respect to every input); :func:`jvp` walks it once in
topological order (one forward sweep gives the derivative of every output along one input
direction). Broadcasting is undone by summing a gradient back to its operand's shape.
Values are stored as float64.

Examples
--------
>>> x = Node([1.0, 2.0])
>>> loss = (x * x).sum()
>>> loss.backward()
>>> x.grad
array([2., 4.])
"""
from __future__ import annotations

import numbers
from typing import Callable

import numpy as np

from nnlib._validation import as_float_array
from nnlib.activations import sigmoid as _sigmoid

__all__ = ["Node", "grad", "jvp", "topological_order"]


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def _as_node(value) -> Node:
    return value if isinstance(value, Node) else Node(value)


def _operands(a: Node, other, op: str) -> Node:
    """``other`` as a Node whose shape broadcasts against ``a``'s (NumPy's rules)."""
    other = _as_node(other)
    try:
        np.broadcast_shapes(a.shape, other.shape)
    except ValueError:
        raise ValueError(f"{op} expected shapes that broadcast. Received: shapes {a.shape} and {other.shape}") from None
    return other


class Node:
    r"""A float64 array in a computational graph, with its gradient and how to pass it back.

    Parameters
    ----------
    value : array_like of float, any shape
        The value; stored as a float64 ndarray.
    name : str, optional
        A label for printing graphs.

    Attributes
    ----------
    value : ndarray, float64
    grad : ndarray, same shape as ``value``
        :math:`\partial y/\partial \text{node}` (or :math:`J^\top v`) after ``y.backward()``.
    tangent : ndarray, same shape as ``value``
        :math:`J v` for this node after :func:`jvp`.
    op : str
        The operation that made the node (``""`` for a leaf).

    Notes
    -----
    Supports ``+ - * / @``, ``**`` with a real exponent, unary ``-``, and the methods
    :meth:`exp`, :meth:`log`, :meth:`tanh`, :meth:`sigmoid`, :meth:`relu`, :meth:`sum`,
    :meth:`mean`. Arrays and numbers mixed in are wrapped as constant leaves.
    """

    __array_ufunc__ = None  # ndarray + Node calls Node.__radd__ instead of looping over elements

    def __init__(self, value, name: str | None = None, *, _parents: tuple = (), _op: str = ""):
        self.value = np.array(as_float_array(value, "Node value"), dtype=np.float64)
        self.grad = np.zeros_like(self.value)
        self.tangent = np.zeros_like(self.value)
        self.name = name
        self.op = _op
        self._parents = _parents
        self._backward = lambda: None
        self._tangent = lambda: np.zeros_like(self.value)

    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)

    def __repr__(self):
        label = f"{self.name!r}, " if self.name else ""
        return f"Node({label}op={self.op or 'leaf'!r}, shape={self.shape})"

    # --- binary operations: y = f(a, b) -----------------------------------------------

    def __add__(self, other):
        other = _operands(self, other, "+")
        out = Node(self.value + other.value, _parents=(self, other), _op="+")

        def backward():  # dy/da = dy/db = 1
            self.grad += _unbroadcast(out.grad, self.shape)
            other.grad += _unbroadcast(out.grad, other.shape)

        out._backward = backward
        out._tangent = lambda: self.tangent + other.tangent
        return out

    def __mul__(self, other):
        other = _operands(self, other, "*")
        out = Node(self.value * other.value, _parents=(self, other), _op="*")

        def backward():  # dy/da = b, dy/db = a
            self.grad += _unbroadcast(other.value * out.grad, self.shape)
            other.grad += _unbroadcast(self.value * out.grad, other.shape)

        out._backward = backward
        out._tangent = lambda: self.tangent * other.value + self.value * other.tangent
        return out

    def __matmul__(self, other):
        other = _as_node(other)
        if self.ndim not in (1, 2) or other.ndim not in (1, 2):
            raise ValueError(f"@ expected 1-D or 2-D operands. Received: shapes {self.shape} and {other.shape}")
        if self.shape[-1] != other.shape[0]:
            raise ValueError(f"@ expected matching inner dimensions. Received: shapes {self.shape} and {other.shape}")
        out = Node(self.value @ other.value, _parents=(self, other), _op="@")
        # View vectors as a row (left) or a column (right): Y = A B, dA = dY B^T, dB = A^T dY.
        a = self.value.reshape(-1, self.shape[-1])
        b = other.value.reshape(other.shape[0], -1)

        def backward():
            upstream = out.grad.reshape(a.shape[0], b.shape[1])
            self.grad += (upstream @ b.T).reshape(self.shape)
            other.grad += (a.T @ upstream).reshape(other.shape)

        out._backward = backward
        out._tangent = lambda: self.tangent @ other.value + self.value @ other.tangent
        return out

    def __pow__(self, exponent):
        if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
            raise TypeError(f"** expected a real number as exponent. Received: {type(exponent).__name__}")
        return self._elementwise(self.value**exponent, exponent * self.value ** (exponent - 1), f"**{exponent:g}")

    def __sub__(self, other):
        other = _operands(self, other, "-")
        out = Node(self.value - other.value, _parents=(self, other), _op="-")

        def backward():  # dy/da = 1, dy/db = -1
            self.grad += _unbroadcast(out.grad, self.shape)
            other.grad += _unbroadcast(-out.grad, other.shape)

        out._backward = backward
        out._tangent = lambda: self.tangent - other.tangent
        return out

    def __truediv__(self, other):
        other = _operands(self, other, "/")
        out = Node(self.value / other.value, _parents=(self, other), _op="/")

        def backward():  # dy/da = 1/b, dy/db = -a/b^2
            self.grad += _unbroadcast(out.grad / other.value, self.shape)
            other.grad += _unbroadcast(-out.grad * self.value / other.value**2, other.shape)

        out._backward = backward
        out._tangent = lambda: (self.tangent - out.value * other.tangent) / other.value
        return out

    def __neg__(self):
        return self._elementwise(-self.value, -1.0, "neg")

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return _as_node(other) - self

    def __rtruediv__(self, other):
        return _as_node(other) / self

    def __rmatmul__(self, other):
        return _as_node(other) @ self

    # --- elementwise functions: y = f(x), local derivative f'(x) ----------------------

    def _elementwise(self, value, derivative, op: str) -> Node:
        out = Node(value, _parents=(self,), _op=op)

        def backward():  # the Jacobian is diagonal: J^T g = f'(x) * g
            self.grad += derivative * out.grad

        out._backward = backward
        out._tangent = lambda: derivative * self.tangent
        return out

    def exp(self) -> Node:
        value = np.exp(self.value)
        return self._elementwise(value, value, "exp")

    def log(self) -> Node:
        if np.any(self.value <= 0):
            raise ValueError(f"log expected positive values. Received: min={self.value.min():.3g}")
        return self._elementwise(np.log(self.value), 1.0 / self.value, "log")

    def tanh(self) -> Node:
        value = np.tanh(self.value)
        return self._elementwise(value, 1.0 - value**2, "tanh")

    def sigmoid(self) -> Node:
        value = _sigmoid(self.value)
        return self._elementwise(value, value * (1.0 - value), "sigmoid")

    def relu(self) -> Node:
        return self._elementwise(np.maximum(self.value, 0.0), (self.value > 0).astype(np.float64), "relu")

    # --- reductions ---------------------------------------------------------------------

    def sum(self, axis: int | tuple | None = None, keepdims: bool = False) -> Node:
        out = Node(self.value.sum(axis=axis, keepdims=keepdims), _parents=(self,), _op="sum")

        def backward():  # dy/dx_i = 1: copy the gradient back along the summed axes
            upstream = out.grad if keepdims or axis is None else np.expand_dims(out.grad, axis)
            self.grad += np.broadcast_to(upstream, self.shape)

        out._backward = backward
        out._tangent = lambda: self.tangent.sum(axis=axis, keepdims=keepdims)
        return out

    def mean(self, axis: int | tuple | None = None, keepdims: bool = False) -> Node:
        total = self.sum(axis=axis, keepdims=keepdims)
        return total * (total.size / self.size)  # divide by the number of elements averaged into each entry

    # --- reverse sweep --------------------------------------------------------------------

    def backward(self, seed=None) -> None:
        r"""One reverse sweep: fill every node's ``grad`` with :math:`J^\top \text{seed}`.

        Parameters
        ----------
        seed : array_like, shape ``self.shape``, optional
            The vector :math:`v` of the vector-Jacobian product, i.e.
            :math:`\partial L/\partial \text{self}` for some scalar :math:`L`. Omitted, the
            output must have a single element and the seed is 1.

        Raises
        ------
        ValueError
            If ``seed`` is omitted for an output with more than one element, or has the
            wrong shape.

        Notes
        -----
        Gradients of the graph's nodes are reset to zero first, so each call gives the
        result of one sweep (inside the sweep, contributions accumulate with ``+=``).
        """
        if seed is None:
            if self.size != 1:
                raise ValueError(f"backward() without a seed expected a scalar output. Received: output shape={self.shape}")
            seed = np.ones(self.shape)
        seed = as_float_array(seed, "seed").astype(np.float64)
        if seed.shape != self.shape:
            raise ValueError(f"backward expected seed.shape == output shape {self.shape}. Received: seed.shape={seed.shape}")
        order = topological_order(self)
        for node in order:
            node.grad = np.zeros_like(node.value)
        self.grad = seed.copy()
        for node in reversed(order):
            node._backward()


def topological_order(output: Node) -> list[Node]:
    """Every node that ``output`` depends on, each after all of its parents (``output`` last).

    Iterative depth-first search, so long chains do not hit Python's recursion limit.
    """
    if not isinstance(output, Node):
        raise TypeError(f"topological_order expected a Node. Received: {type(output).__name__}")
    order, visited, stack = [], set(), [(output, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((parent, False) for parent in node._parents)
    return order


def jvp(output: Node, tangents: dict) -> np.ndarray:
    r"""One forward sweep: the Jacobian-vector product :math:`J v` of ``output``.

    Parameters
    ----------
    output : Node
        The end of a recorded graph.
    tangents : dict of Node -> array_like
        The direction :math:`v`: a tangent (same shape as the node) for some leaves of the
        graph; every other leaf gets a zero tangent.

    Returns
    -------
    ndarray, shape ``output.shape``
        :math:`\sum_{\text{leaves } x} (\partial\,\text{output}/\partial x)\, v_x`; every
        node's ``tangent`` is filled along the way.

    Raises
    ------
    TypeError, ValueError
        If ``output`` is not a Node, a key is not a leaf of its graph, or a tangent has the
        wrong shape.
    """
    order = topological_order(output)
    leaves = {node for node in order if not node._parents}
    for node, tangent in tangents.items():
        if node not in leaves:
            raise ValueError(f"jvp expected tangents for leaves of the output's graph. Received: {node!r}")
        if np.shape(tangent) != node.shape:
            raise ValueError(f"jvp expected a tangent of shape {node.shape}. Received: shape {np.shape(tangent)}")
    for node in order:
        if node in tangents:
            node.tangent = as_float_array(tangents[node], "tangent").astype(np.float64)
        else:
            node.tangent = node._tangent()  # leaves not in tangents: zeros
    return output.tangent


def grad(f: Callable[..., Node], *arrays) -> tuple[np.ndarray, ...]:
    """Gradient of the scalar ``f(*nodes)`` with respect to each of ``arrays``.

    Parameters
    ----------
    f : callable
        Takes one :class:`Node` per array and returns a single-element Node.
    *arrays : array_like
        The point at which to differentiate.

    Returns
    -------
    tuple of ndarray
        One gradient per array, each of that array's shape.

    Raises
    ------
    TypeError
        If ``f`` is not callable or does not return a Node.
    """
    if not callable(f):
        raise TypeError(f"grad expected a callable f. Received: {type(f).__name__}")
    inputs = [Node(array) for array in arrays]
    output = f(*inputs)
    if not isinstance(output, Node):
        raise TypeError(f"grad expected f to return a Node. Received: {type(output).__name__}")
    output.backward()
    return tuple(node.grad for node in inputs)
