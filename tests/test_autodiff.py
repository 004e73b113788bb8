"""Tests for nnlib.autodiff: hand-computed chain rules, float64 gradient checks of every
operation (with broadcasting), parity with tf.GradientTape and tf.autodiff.ForwardAccumulator,
vector-Jacobian and Jacobian-vector products, graph order, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnlib  # noqa: F401  (before tensorflow: sets the quiet TensorFlow environment)
from nnlib import autodiff
from nnlib.autodiff import Node
from nnlib.gradcheck import numerical_gradient, relative_error

import tensorflow as tf  # noqa: E402

# Largest elementwise relative error allowed in float64 gradient checks (h = 1e-6): correct
# gradients score ~1e-8, rounding pushes near-zero components to ~1e-6, a wrong one is ~1e-1.
GRAD_TOL = 1e-5


def check_gradients(f, *arrays, upstream_seed=0):
    """Compare autodiff's gradients of sum(f(*nodes) * G) with central differences.

    A random upstream G makes the check see the whole vector-Jacobian product, not just its
    sum; returns the largest relative error over all arrays.
    """
    arrays = [np.array(array, dtype=np.float64) for array in arrays]
    upstream = np.random.default_rng(upstream_seed).standard_normal(f(*[Node(a) for a in arrays]).shape)
    nodes = [Node(array) for array in arrays]
    f(*nodes).backward(upstream)

    def loss():
        return np.sum(f(*[Node(a) for a in arrays]).value * upstream)

    return max(_error(node.grad, numerical_gradient(loss, array)) for node, array in zip(nodes, arrays))


def _error(analytic, numeric):
    """`relative_error`, except that a component far smaller than the array's largest is judged
    against a thousandth of that largest: central differences leave an absolute rounding error
    of about 1e-10 (eps / h), which is a large relative error of a component near zero (random
    inputs and upstreams make such components, e.g. 0.0011 * 0.0011)."""
    floor = 1e-3 * float(np.max(np.abs(numeric), initial=0.0))
    scale = np.maximum(np.abs(analytic) + np.abs(numeric), max(floor, 1e-12))
    return float(np.max(np.abs(analytic - numeric) / scale, initial=0.0))


# --- small hand-computed cases -----------------------------------------------------

def test_scalar_chain_rule_by_hand():
    """y = tanh(w x + b): dy/dw = (1 - y^2) x, dy/db = 1 - y^2, dy/dx = (1 - y^2) w."""
    w, x, b = Node(0.5), Node(2.0), Node(-0.25)
    y = (w * x + b).tanh()
    y.backward()
    local = 1 - np.tanh(0.75) ** 2
    assert y.value == pytest.approx(np.tanh(0.75), rel=1e-15)
    assert w.grad == pytest.approx(local * 2.0, rel=1e-15)
    assert b.grad == pytest.approx(local, rel=1e-15)
    assert x.grad == pytest.approx(local * 0.5, rel=1e-15)


def test_a_node_used_twice_accumulates_its_gradient():
    a = Node(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    b = Node(3.0)
    (b * b).backward()  # d(b^2)/db = 2b: both factors contribute b
    assert b.grad == 6.0
    c = Node([1.0, -2.0])
    (c * c.exp() + c).sum().backward()  # d/dc (c e^c + c) = e^c + c e^c + 1
    np.testing.assert_allclose(c.grad, np.exp([1.0, -2.0]) * (1 + np.array([1.0, -2.0])) + 1, rtol=1e-15)


def test_backward_twice_gives_the_same_gradient():
    """Each backward call is one sweep: gradients are reset, not added across calls."""
    x = Node([1.0, 2.0, 3.0])
    y = (x**2).sum()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])


def test_operators_with_numbers_and_arrays_on_either_side():
    x = Node([1.0, 2.0])
    for expression, expected in [
        (2.0 + x, [3.0, 4.0]), (x - 1.0, [0.0, 1.0]), (1.0 - x, [0.0, -1.0]), (3.0 * x, [3.0, 6.0]),
        (x / 2.0, [0.5, 1.0]), (2.0 / x, [2.0, 1.0]), (-x, [-1.0, -2.0]), (np.ones(2) + x, [2.0, 3.0]),
        (np.array([[1.0, 1.0]]) @ x, [3.0]), (x**3, [1.0, 8.0]),
    ]:
        assert isinstance(expression, Node)
        np.testing.assert_allclose(expression.value, expected, rtol=1e-15)


def test_values_are_float64_copies():
    source = np.array([1.0, 2.0], dtype=np.float32)
    node = Node(source)
    source[0] = 5.0
    assert node.value.dtype == np.float64 and node.value[0] == 1.0
    assert Node([1, 2]).value.dtype == np.float64
    assert repr(Node(1.0, name="w")) == "Node('w', op='leaf', shape=())"


def test_topological_order_puts_parents_first():
    x = Node(1.0)
    h = x * 2.0
    y = (h + x) * h
    order = autodiff.topological_order(y)
    assert order[-1] is y
    position = {node: index for index, node in enumerate(order)}
    for node in order:
        assert all(position[parent] < position[node] for parent in node._parents)
    assert len(order) == len(set(order)) == 5  # x, the constant 2.0, h, h + x, y: h only once


def test_a_long_chain_does_not_hit_the_recursion_limit():
    x = Node(0.5)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**3000, rel=1e-12)


# --- gradient checks of every operation, float64 -------------------------------------

RNG = np.random.default_rng(0)
MATRIX, ROW, COLUMN, POSITIVE = RNG.standard_normal((3, 4)), RNG.standard_normal(4), RNG.standard_normal((3, 1)), RNG.uniform(0.5, 2.0, (3, 4))

OPERATIONS = {
    "add": (lambda a, b: a + b, MATRIX, MATRIX[::-1]),
    "add_broadcast_row": (lambda a, b: a + b, MATRIX, ROW),
    "add_broadcast_scalar": (lambda a, b: a + b, MATRIX, np.array(0.3)),
    "sub_broadcast_column": (lambda a, b: a - b, MATRIX, COLUMN),
    "mul_broadcast_outer": (lambda a, b: a * b, COLUMN, ROW),
    "div_broadcast": (lambda a, b: a / b, MATRIX, POSITIVE[:1]),
    "pow_square": (lambda a: a**2, MATRIX),
    "pow_fractional": (lambda a: a**1.5, POSITIVE),
    "pow_negative": (lambda a: a**-2, POSITIVE),
    "neg": (lambda a: -a, MATRIX),
    "matmul_2d": (lambda a, b: a @ b, MATRIX, MATRIX.T),
    "matmul_vector_left": (lambda a, b: a @ b, ROW[:3], MATRIX),
    "matmul_vector_right": (lambda a, b: a @ b, MATRIX, ROW),
    "matmul_dot": (lambda a, b: a @ b, ROW, ROW[::-1]),
    "exp": (lambda a: a.exp(), MATRIX),
    "log": (lambda a: a.log(), POSITIVE),
    "tanh": (lambda a: a.tanh(), MATRIX),
    "sigmoid": (lambda a: a.sigmoid(), 5 * MATRIX),
    "relu": (lambda a: a.relu(), MATRIX),
    "sum_all": (lambda a: a.sum(), MATRIX),
    "sum_axis0": (lambda a: a.sum(axis=0), MATRIX),
    "sum_axis_last_keepdims": (lambda a: a.sum(axis=-1, keepdims=True), MATRIX),
    "mean_all": (lambda a: a.mean(), MATRIX),
    "mean_axis1": (lambda a: a.mean(axis=1), MATRIX),
    "composite": (lambda a, b: ((a * b).sigmoid() + (a - b) ** 2).log().mean(axis=0), MATRIX, ROW),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_gradients_match_central_differences(name):
    f, *arrays = OPERATIONS[name]
    assert check_gradients(f, *arrays) < GRAD_TOL


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_tangents_match_central_differences(name):
    """One forward sweep gives J v, the directional derivative (f(x + hv) - f(x - hv)) / 2h."""
    f, *arrays = OPERATIONS[name]
    rng = np.random.default_rng(1)
    directions = [rng.standard_normal(np.shape(array)) for array in arrays]
    nodes = [Node(array) for array in arrays]
    jv = autodiff.jvp(f(*nodes), dict(zip(nodes, directions)))
    h = 1e-6
    upper = f(*[Node(a + h * v) for a, v in zip(arrays, directions)]).value
    lower = f(*[Node(a - h * v) for a, v in zip(arrays, directions)]).value
    assert relative_error(jv, (upper - lower) / (2 * h)) < GRAD_TOL


@settings(max_examples=25, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3), st.integers(0, 2**16))
def test_broadcast_gradients_have_the_operand_shapes(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(shape) for shape in shapes.input_shapes)
    first, second = Node(a), Node(b)
    (first * second + first).sum().backward()
    assert first.grad.shape == a.shape and second.grad.shape == b.shape
    assert check_gradients(lambda x, y: x * y + x, a, b, upstream_seed=seed) < GRAD_TOL


# --- parity with TensorFlow ------------------------------------------------------------

def mlp_loss(x, y, kernel_1, bias_1, kernel_2, bias_2, *, tanh, sigmoid, log, mean):
    """Binary cross-entropy of a 2-layer tanh/sigmoid network, written once for both engines."""
    probability = sigmoid(tanh(x @ kernel_1 + bias_1) @ kernel_2 + bias_2)
    return -mean(y * log(probability) + (1.0 - y) * log(1.0 - probability))


def mlp_arrays(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 3))
    y = (rng.uniform(size=(16, 1)) < 0.5).astype(np.float64)
    return x, y, rng.standard_normal((3, 5)), 0.1 * rng.standard_normal(5), rng.standard_normal((5, 1)), 0.1 * rng.standard_normal(1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_layer_mlp_gradients_equal_gradient_tape(seed):
    x, y, *weights = mlp_arrays(seed)
    nodes = [Node(w) for w in weights]
    loss = mlp_loss(x, y, *nodes, tanh=Node.tanh, sigmoid=Node.sigmoid, log=Node.log, mean=Node.mean)
    loss.backward()

    variables = [tf.Variable(w) for w in weights]  # float64
    with tf.GradientTape() as tape:
        tape_loss = mlp_loss(tf.constant(x), tf.constant(y), *variables, tanh=tf.tanh, sigmoid=tf.sigmoid, log=tf.math.log, mean=tf.reduce_mean)
    tape_grads = tape.gradient(tape_loss, variables)

    np.testing.assert_allclose(loss.value, tape_loss.numpy(), rtol=1e-12)
    for node, tape_grad in zip(nodes, tape_grads, strict=True):
        np.testing.assert_allclose(node.grad, tape_grad.numpy(), rtol=1e-10, atol=1e-13)


def test_relu_mse_network_equals_gradient_tape():
    rng = np.random.default_rng(3)
    x, target = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))
    weights = [rng.standard_normal((4, 6)), rng.standard_normal(6), rng.standard_normal((6, 2))]

    def loss_fn(kernel_1, bias_1, kernel_2, relu, mean):
        return mean((relu(x @ kernel_1 + bias_1) @ kernel_2 - target) ** 2)

    grads = autodiff.grad(lambda *nodes: loss_fn(*nodes, relu=Node.relu, mean=Node.mean), *weights)
    variables = [tf.Variable(w) for w in weights]
    with tf.GradientTape() as tape:
        tape_loss = loss_fn(*variables, relu=tf.nn.relu, mean=tf.reduce_mean)
    for mine, theirs in zip(grads, tape.gradient(tape_loss, variables), strict=True):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-10, atol=1e-13)


def test_vector_jacobian_product_of_a_non_scalar_output():
    """y = tanh(x @ W): backward(G) gives x.grad = ((1 - y^2) * G) @ W^T, as the tape's output_gradients."""
    rng = np.random.default_rng(4)
    x_value, kernel_value, upstream = rng.standard_normal((5, 3)), rng.standard_normal((3, 2)), rng.standard_normal((5, 2))
    x, kernel = Node(x_value), Node(kernel_value)
    y = (x @ kernel).tanh()
    y.backward(upstream)
    np.testing.assert_allclose(x.grad, ((1 - y.value**2) * upstream) @ kernel_value.T, rtol=1e-13)

    x_tf, kernel_tf = tf.constant(x_value), tf.constant(kernel_value)
    with tf.GradientTape() as tape:
        tape.watch([x_tf, kernel_tf])
        y_tf = tf.tanh(x_tf @ kernel_tf)
    dx, dkernel = tape.gradient(y_tf, [x_tf, kernel_tf], output_gradients=tf.constant(upstream))
    np.testing.assert_allclose(x.grad, dx.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(kernel.grad, dkernel.numpy(), rtol=1e-12, atol=1e-14)


def test_jvp_equals_forward_accumulator_and_is_dual_to_the_vjp():
    """J v from one forward sweep equals TensorFlow's forward mode, and u.(J v) = (J^T u).v."""
    rng = np.random.default_rng(5)
    x_value, kernel_value = rng.standard_normal(4), rng.standard_normal((4, 3))
    direction, cotangent = rng.standard_normal(4), rng.standard_normal(3)
    x = Node(x_value)
    y = (x @ kernel_value).sigmoid() * x.sum() + (x**2).sum().log()
    jv = autodiff.jvp(y, {x: direction})

    x_tf = tf.constant(x_value)
    with tf.autodiff.ForwardAccumulator(x_tf, tf.constant(direction)) as accumulator:
        y_tf = tf.sigmoid(tf.linalg.matvec(kernel_value, x_tf, transpose_a=True)) * tf.reduce_sum(x_tf) + tf.math.log(tf.reduce_sum(x_tf**2))
    np.testing.assert_allclose(jv, accumulator.jvp(y_tf).numpy(), rtol=1e-12, atol=1e-14)

    y.backward(cotangent)
    assert float(cotangent @ jv) == pytest.approx(float(x.grad @ direction), rel=1e-12)


def test_jvp_gives_zero_tangent_to_other_leaves():
    a, b = Node(2.0), Node(3.0)
    y = a * b
    assert autodiff.jvp(y, {a: 1.0}) == 3.0  # dy/da
    assert a.tangent == 1.0 and b.tangent == 0.0
    assert autodiff.jvp(y, {b: 1.0}) == 2.0  # dy/db
    assert a.tangent == 0.0 and b.tangent == 1.0


# --- bad input ----------------------------------------------------------------------

def test_bad_input_raises_clear_errors():
    with pytest.raises(TypeError, match="expected an array of numbers. Received: str"):
        Node("one")
    vector = Node([1.0, 2.0])
    with pytest.raises(ValueError, match=r"without a seed expected a scalar output. Received: output shape=\(2,\)"):
        vector.backward()
    with pytest.raises(ValueError, match=r"expected seed.shape == output shape \(2,\). Received: seed.shape=\(3,\)"):
        vector.backward(np.ones(3))
    with pytest.raises(ValueError, match=r"@ expected 1-D or 2-D operands. Received: shapes \(2, 2, 2\) and \(2,\)"):
        Node(np.ones((2, 2, 2))) @ vector
    with pytest.raises(ValueError, match=r"@ expected matching inner dimensions. Received: shapes \(2,\) and \(3, 2\)"):
        vector @ np.ones((3, 2))
    with pytest.raises(TypeError, match="expected a real number as exponent. Received: Node"):
        vector ** Node(2.0)
    with pytest.raises(ValueError, match="log expected positive values. Received: min=-1"):
        Node([-1.0, 1.0]).log()
    with pytest.raises(TypeError, match="grad expected f to return a Node. Received: float"):
        autodiff.grad(lambda x: 1.0, [1.0])
    with pytest.raises(TypeError, match="grad expected a callable f"):
        autodiff.grad(3.0, [1.0])
    with pytest.raises(TypeError, match="topological_order expected a Node. Received: ndarray"):
        autodiff.topological_order(np.ones(2))
    y = vector.sum()
    with pytest.raises(ValueError, match=r"jvp expected a tangent of shape \(2,\). Received: shape \(3,\)"):
        autodiff.jvp(y, {vector: np.ones(3)})
    with pytest.raises(ValueError, match="jvp expected tangents for leaves of the output's graph"):
        autodiff.jvp(y, {Node(1.0): 1.0})
