"""Tests for nnlib.plotting: what each figure contains (boundary where it should be, one curve
per metric, one edge per connection), labels, bad input."""
import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

from nnlib import activations, plotting  # noqa: E402
from nnlib.model import History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def points_and_labels(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    return X, (X[:, 0] > 0.3).astype(np.int64)


def scatter_collections(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection) and not isinstance(c, ContourSet)]


# --- decision_boundary -------------------------------------------------------------

def test_decision_boundary_draws_the_half_level_where_the_classifier_switches():
    """sigmoid(10 (x1 - 0.3)) = 0.5 on the vertical line x1 = 0.3."""
    X, y = points_and_labels()
    ax = plotting.decision_boundary(lambda grid: activations.sigmoid(10 * (grid[:, 0] - 0.3)), X, y, title="a line")
    lines = [c for c in ax.collections if isinstance(c, ContourSet) and not c.filled]
    assert len(lines) == 1 and list(lines[0].levels) == [0.5]
    vertices = np.concatenate([path.vertices for path in lines[0].get_paths()])
    np.testing.assert_allclose(vertices[:, 0], 0.3, atol=0.01)
    assert ax.get_title() == "a line"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x_1$", "$x_2$")


def test_decision_boundary_plots_every_point_of_every_class():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((70, 2))
    y = np.repeat(np.arange(7), 10)  # more classes than markers: they cycle
    ax = plotting.decision_boundary(lambda grid: grid[:, 0], X, y, threshold=0.0, resolution=20)
    scatters = scatter_collections(ax)
    assert len(scatters) == 7
    assert sum(len(s.get_offsets()) for s in scatters) == 70
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [f"class {k}" for k in range(7)]


def test_decision_boundary_calls_predict_fn_on_a_grid_and_accepts_column_scores():
    X, y = points_and_labels()
    seen = []

    def predict(grid):
        seen.append((grid.shape, grid.dtype))
        return activations.sigmoid(grid[:, :1])  # (n, 1), as a Keras model returns

    _, ax = plt.subplots()
    assert plotting.decision_boundary(predict, X, y, ax=ax, resolution=30, xlabel="a", ylabel="b") is ax
    assert seen == [((900, 2), np.float32)]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a", "b")


def test_decision_boundary_skips_the_line_when_the_scores_never_cross():
    X, y = points_and_labels()
    ax = plotting.decision_boundary(lambda grid: np.full(len(grid), 0.9), X, y, resolution=10)
    assert not [c for c in ax.collections if isinstance(c, ContourSet) and not c.filled]


# --- training_curves ---------------------------------------------------------------

def test_training_curves_from_an_nnlib_history():
    history = History()
    for epoch, (loss, val_loss) in enumerate([(1.0, 1.2), (0.5, 0.7), (0.25, 0.5)]):
        history._record(epoch, {"loss": loss, "val_loss": val_loss})
    ax = plotting.training_curves(history, title="curves", log_scale=True)
    training, validation = ax.get_lines()
    np.testing.assert_array_equal(training.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(training.get_ydata(), [1.0, 0.5, 0.25])
    np.testing.assert_array_equal(validation.get_ydata(), [1.2, 0.7, 0.5])
    assert validation.get_linestyle() == "--" and validation.get_color() == training.get_color()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training loss", "validation loss"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title(), ax.get_yscale()) == ("epoch", "loss", "curves", "log")


def test_training_curves_from_a_dict_or_keras_like_history():
    logs = {"loss": [0.9, 0.4], "accuracy": [0.6, 0.8]}

    class KerasLikeHistory:
        history = logs

    ax = plotting.training_curves(logs, metrics=("loss", "accuracy"))
    assert len(ax.get_lines()) == 2 and ax.get_ylabel() == "value"
    ax = plotting.training_curves(KerasLikeHistory(), metrics="accuracy")
    assert len(ax.get_lines()) == 1 and ax.get_ylabel() == "accuracy"
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [0.6, 0.8])


# --- network_diagram ---------------------------------------------------------------

def test_network_diagram_draws_every_edge_and_unit():
    ax = plotting.network_diagram([2, 3, 1], title="2-3-1")
    assert len(ax.get_lines()) == 2 * 3 + 3 * 1
    assert [len(c.get_offsets()) for c in scatter_collections(ax)] == [2, 3, 1]
    assert [t.get_text() for t in ax.texts] == ["input\n(2)", "hidden 1\n(3)", "output\n(1)"]
    assert ax.get_title() == "2-3-1"


def test_network_diagram_caps_wide_layers_and_takes_names():
    ax = plotting.network_diagram([100, 4], layer_names=["pixels", "scores"], max_drawn=5)
    assert len(ax.get_lines()) == 5 * 4
    assert [t.get_text() for t in ax.texts] == ["pixels\n(100)", "scores\n(4)"]


# --- bad input ---------------------------------------------------------------------

def test_decision_boundary_refuses_bad_arguments():
    X, y = points_and_labels()
    with pytest.raises(TypeError, match=r"decision_boundary expected a callable predict_fn\. Received: ndarray"):
        plotting.decision_boundary(np.zeros(3), X, y)
    with pytest.raises(ValueError, match=r"decision_boundary expected X of shape \(n, 2\)\. Received: X\.shape=\(40, 3\)"):
        plotting.decision_boundary(lambda g: g[:, 0], np.zeros((40, 3)), y)
    with pytest.raises(ValueError, match=r"decision_boundary expected one label per point\. Received: 40 points, 39 labels"):
        plotting.decision_boundary(lambda g: g[:, 0], X, y[:-1])
    with pytest.raises(ValueError, match=r"decision_boundary expected predict_fn to return one score per point\. Received: shape \(100, 2\)"):
        plotting.decision_boundary(lambda g: g, X, y, resolution=10)
    with pytest.raises(ValueError, match=r"resolution expected a positive integer\. Received: resolution=0"):
        plotting.decision_boundary(lambda g: g[:, 0], X, y, resolution=0)


def test_training_curves_refuses_bad_arguments():
    with pytest.raises(TypeError, match=r"training_curves expected a History or a dict of lists\. Received: list"):
        plotting.training_curves([0.5, 0.4])
    with pytest.raises(ValueError, match=r"training_curves expected metrics among \['loss'\]\. Received: \['accuracy'\]"):
        plotting.training_curves({"loss": [1.0]}, metrics=("loss", "accuracy"))
    with pytest.raises(ValueError, match=r"training_curves expected metrics among \['loss'\]\. Received: \[\]"):
        plotting.training_curves({"loss": [1.0]}, metrics=())


def test_network_diagram_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"network_diagram expected at least two layer sizes\. Received: \[3\]"):
        plotting.network_diagram([3])
    with pytest.raises(ValueError, match=r"layer size expected a positive integer\. Received: layer size=0"):
        plotting.network_diagram([2, 0])
    with pytest.raises(ValueError, match=r"network_diagram expected one name per layer\. Received: 1 names, 2 layers"):
        plotting.network_diagram([2, 1], layer_names=["only"])
    with pytest.raises(ValueError, match=r"max_drawn expected a positive integer\. Received: max_drawn=0"):
        plotting.network_diagram([2, 1], max_drawn=0)


# --- optimizer_paths and layer_gradient_norms ------------------------------------------

def test_optimizer_paths_draws_contours_and_one_line_per_path():
    from nnlib import objectives

    bowl = objectives.Quadratic((1.0, 10.0))
    paths = {"a": np.array([[1.0, 1.0], [0.5, 0.2], [0.1, 0.0]]), "b": np.array([[1.0, 1.0], [np.inf, np.nan]])}
    ax = plotting.optimizer_paths(bowl, paths, title="paths")
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"a", "b", "start", "minimum"} <= set(labels)
    assert any(isinstance(c, ContourSet) for c in ax.collections)
    assert ax.get_title() == "paths" and ax.get_xlabel() and ax.get_ylabel()
    line_b = next(line for line in ax.get_lines() if line.get_label() == "b")
    assert len(line_b.get_xdata()) == 1  # the diverged point is not drawn
    ax = plotting.optimizer_paths(objectives.Rosenbrock(), {"a": paths["a"]}, log_levels=True, xlim=(-2, 2), ylim=(-1, 3))
    assert ax.get_xlim() == (-2, 2)


def test_layer_gradient_norms_one_line_per_model_on_a_log_axis():
    ax = plotting.layer_gradient_norms({"sigmoid": [1e-6, 1e-4, 1e-2], "relu": [0.1, 0.2, 0.3]}, title="norms")
    assert [line.get_label() for line in ax.get_lines()] == ["sigmoid", "relu"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "layer" and ax.get_ylabel() == "gradient norm"
    assert plotting.layer_gradient_norms({"x": [1.0, 2.0]}, log=False).get_yscale() == "linear"


def test_optimizer_paths_and_layer_gradient_norms_refuse_bad_arguments():
    from nnlib import objectives

    with pytest.raises(TypeError, match=r"optimizer_paths expected an objective with a value method\. Received: int"):
        plotting.optimizer_paths(3, {"a": np.zeros((2, 2))})
    with pytest.raises(TypeError, match=r"optimizer_paths expected a non-empty dict"):
        plotting.optimizer_paths(objectives.Quadratic(), {})
    with pytest.raises(ValueError, match=r"optimizer_paths expected paths of shape \(T, 2\)\. Received: paths\['a'\]\.shape=\(2, 3\)"):
        plotting.optimizer_paths(objectives.Quadratic(), {"a": np.zeros((2, 3))})
    with pytest.raises(TypeError, match=r"layer_gradient_norms expected a non-empty dict"):
        plotting.layer_gradient_norms([1.0, 2.0])
    with pytest.raises(ValueError, match=r"norms\['a'\] expected a 1-D array"):
        plotting.layer_gradient_norms({"a": np.zeros((2, 2))})
