"""Tests for nnlib.objectives: values and gradients by hand and by central differences,
gradient descent's stability limit on the quadratic, bad input."""
import numpy as np
import pytest

from nnlib import gradcheck, objectives, optimizers


@pytest.mark.parametrize("objective", [
    objectives.Quadratic((1.0, 10.0)),
    objectives.Quadratic(matrix=[[3.0, 1.0], [1.0, 2.0]]),
    objectives.Rosenbrock(),
    objectives.Rosenbrock(a=-0.5, b=5.0),
])
def test_gradients_match_central_differences(objective):
    rng = np.random.default_rng(0)
    for _ in range(5):
        point = rng.uniform(-1.5, 1.5, 2)
        numerical = gradcheck.numerical_gradient(lambda: float(objective.value(point)), point)
        assert gradcheck.relative_error(objective.gradient(point), numerical) < 1e-6
    np.testing.assert_allclose(objective.gradient(objective.minimum), 0.0, atol=1e-12)
    assert objective.value(objective.minimum) == pytest.approx(0.0, abs=1e-12)


def test_values_by_hand_and_on_a_grid():
    bowl = objectives.Quadratic((1.0, 10.0))
    assert bowl.value([1.0, 1.0]) == pytest.approx(5.5)
    assert bowl.condition_number == pytest.approx(10.0)
    assert objectives.Quadratic(matrix=[[2.0, 0.0], [0.0, 8.0]]).condition_number == pytest.approx(4.0)
    banana = objectives.Rosenbrock()
    assert banana.value([0.0, 0.0]) == 1.0
    np.testing.assert_array_equal(banana.minimum, [1.0, 1.0])
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-1, 1, 3)), axis=-1)
    values = banana.value(grid)
    assert values.shape == (3, 4)
    assert values[1, 2] == pytest.approx(banana.value(grid[1, 2]))
    assert "Rosenbrock(a=1.0, b=100.0)" == repr(banana)


def test_gradient_descent_is_stable_below_two_over_the_largest_curvature():
    bowl = objectives.Quadratic((1.0, 10.0))
    stable = objectives.run_optimizer(optimizers.SGD(learning_rate=0.19), bowl, [1.0, 1.0], 200)
    unstable = objectives.run_optimizer(optimizers.SGD(learning_rate=0.21), bowl, [1.0, 1.0], 200)
    assert stable.shape == (201, 2)
    np.testing.assert_array_equal(stable[0], [1.0, 1.0])
    assert bowl.value(stable[-1]) < 1e-12
    assert abs(unstable[-1, 1]) > 1e3  # the steep coordinate oscillates with growing amplitude
    # the path is the optimizer's: one SGD step by hand
    np.testing.assert_allclose(stable[1], [1.0 - 0.19 * 1.0, 1.0 - 0.19 * 10.0])


def test_run_optimizer_keeps_going_after_divergence_without_warnings():
    with np.errstate(all="raise"):  # run_optimizer silences its own overflow
        path = objectives.run_optimizer(optimizers.SGD(learning_rate=1.0), objectives.Rosenbrock(), [2.0, 2.0], 60)
    assert path.shape == (61, 2)
    assert not np.all(np.isfinite(path[-1]))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"curvatures expected two positive numbers\. Received: curvatures=\[1\.0, 0\.0\]"):
        objectives.Quadratic((1.0, 0.0))
    with pytest.raises(ValueError, match=r"matrix expected a symmetric \(2, 2\) array"):
        objectives.Quadratic(matrix=[[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"matrix expected positive eigenvalues"):
        objectives.Quadratic(matrix=[[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match=r"w expected a point of shape \(2,\)\. Received: w\.shape=\(3,\)"):
        objectives.Rosenbrock().gradient([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"value expected points of shape \(\.\.\., 2\)\. Received: w\.shape=\(4, 3\)"):
        objectives.Quadratic().value(np.zeros((4, 3)))
    with pytest.raises(TypeError, match=r"run_optimizer expected an nnlib optimizer\. Received: str"):
        objectives.run_optimizer("sgd", objectives.Quadratic(), [0.0, 0.0], 3)
    with pytest.raises(TypeError, match=r"run_optimizer expected an objective with value and gradient methods\. Received: int"):
        objectives.run_optimizer(optimizers.SGD(), 3, [0.0, 0.0], 3)
    with pytest.raises(ValueError, match=r"steps expected a non-negative integer\. Received: steps=-1"):
        objectives.run_optimizer(optimizers.SGD(), objectives.Quadratic(), [0.0, 0.0], -1)
