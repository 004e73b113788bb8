"""Figures that recur across chapters, drawn with matplotlib.

Every helper takes an optional ``ax`` and ``title``, labels its axes, and returns the axes
so that a chapter can add to it.
"""
from __future__ import annotations

import itertools

import numpy as np

from nnlib._validation import as_float_array, data_array, flag, positive_int, real_number


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    return ax


def decision_boundary(predict_fn, X, y, *, ax=None, title=None, resolution: int = 200, threshold: float = 0.5,
                      xlabel: str = "$x_1$", ylabel: str = "$x_2$"):
    """Shade a 2-D classifier's scores, draw its boundary and the data.

    Parameters
    ----------
    predict_fn : callable
        Maps an ``(n, 2)`` array to scores of shape ``(n,)`` or ``(n, 1)``, such as
        probabilities of class 1.
    X : ndarray (n, 2)
    y : ndarray (n,) of class labels
    threshold : float, default 0.5
        The score level drawn as the boundary (0 for raw decision functions).
    """
    if not callable(predict_fn):
        raise TypeError(f"decision_boundary expected a callable predict_fn. Received: {type(predict_fn).__name__}")
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"decision_boundary expected X of shape (n, 2). Received: X.shape={X.shape}")
    X = data_array(X, "X", ndim=2)
    y = data_array(y, "y").reshape(-1)
    threshold = real_number(threshold, "threshold")
    if len(y) != len(X):
        raise ValueError(f"decision_boundary expected one label per point. Received: {len(X)} points, {len(y)} labels")
    resolution = positive_int(resolution, "resolution")
    ax = _axes(ax)
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 0.1
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    grid_x, grid_y = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()]).astype(X.dtype)
    scores = np.asarray(predict_fn(grid), dtype=float)
    if scores.size != grid.shape[0]:
        raise ValueError(f"decision_boundary expected predict_fn to return one score per point. Received: shape {scores.shape}")
    scores = scores.reshape(grid_x.shape)
    # Probabilities get fixed colour limits, so a constant score is drawn as what it is
    # (0.5 neutral, 1 red) rather than stretched over the whole colour map.
    probabilities = scores.min() >= 0 and scores.max() <= 1
    levels = np.linspace(0, 1, 21) if probabilities else 20
    ax.contourf(grid_x, grid_y, scores, levels=levels, cmap="RdBu_r", alpha=0.35, vmin=0 if probabilities else None,
                vmax=1 if probabilities else None)
    if scores.min() < threshold < scores.max():
        ax.contour(grid_x, grid_y, scores, levels=[threshold], colors="black", linewidths=1.5)
    for label, marker in zip(np.unique(y), itertools.cycle("os^vD")):
        points = X[y == label]
        ax.scatter(points[:, 0], points[:, 1], marker=marker, edgecolor="black", label=f"class {label:g}", s=30)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def training_curves(history, *, metrics=("loss",), ax=None, title=None, log_scale: bool = False):
    """Plot metrics per epoch, with their ``val_`` counterparts dashed where present.

    ``history`` is an nnlib :class:`~nnlib.model.History`, a Keras ``History`` or a dict of lists.
    """
    log_scale = flag(log_scale, "log_scale")
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise TypeError(f"training_curves expected a History or a dict of lists. Received: {type(history).__name__}")
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    missing = [metric for metric in metrics if metric not in logs]
    if missing or not metrics:
        raise ValueError(f"training_curves expected metrics among {sorted(logs)}. Received: {missing}")
    ax = _axes(ax)
    for metric in metrics:
        epochs = np.arange(1, len(logs[metric]) + 1)
        line, = ax.plot(epochs, logs[metric], label=f"training {metric}")
        if f"val_{metric}" in logs:
            ax.plot(epochs, logs[f"val_{metric}"], linestyle="--", color=line.get_color(), label=f"validation {metric}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metrics[0] if len(metrics) == 1 else "value")
    if log_scale:
        ax.set_yscale("log")
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def network_diagram(layer_sizes, *, ax=None, title=None, layer_names=None, max_drawn: int = 10):
    """Draw a fully connected network: one column of circles per layer, every edge drawn.

    Layers wider than ``max_drawn`` are drawn with ``max_drawn`` units and labelled with
    their true width.
    """
    if not hasattr(layer_sizes, "__iter__") or isinstance(layer_sizes, (str, bytes)):
        raise TypeError(f"network_diagram expected a list of layer sizes. Received: {type(layer_sizes).__name__}")
    sizes = [positive_int(size, "layer size") for size in layer_sizes]
    max_drawn = positive_int(max_drawn, "max_drawn")
    if len(sizes) < 2:
        raise ValueError(f"network_diagram expected at least two layer sizes. Received: {sizes}")
    if layer_names is None:
        layer_names = ["input"] + [f"hidden {i}" for i in range(1, len(sizes) - 1)] + ["output"]
    if len(layer_names) != len(sizes):
        raise ValueError(f"network_diagram expected one name per layer. Received: {len(layer_names)} names, {len(sizes)} layers")
    ax = _axes(ax)
    drawn = [min(size, max_drawn) for size in sizes]
    positions = [np.linspace(-(n - 1) / 2, (n - 1) / 2, n) for n in drawn]
    for column, (left, right) in enumerate(zip(positions, positions[1:])):
        for y_left in left:
            for y_right in right:
                ax.plot([column, column + 1], [y_left, y_right], color="0.6", linewidth=0.6, zorder=1)
    top = max(drawn) / 2
    for column, ys in enumerate(positions):
        ax.scatter(np.full(len(ys), column), ys, s=250, color="white", edgecolor="black", zorder=2)
        label = f"{layer_names[column]}\n({sizes[column]})"
        ax.text(column, -top - 0.2, label, ha="center", va="top", fontsize="small")
    ax.set_ylim(-top - 1.6, top + 0.2)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_xlabel("layer (left to right: input to output)")
    ax.set_ylabel("units")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def optimizer_paths(objective, paths, *, ax=None, title=None, xlim=None, ylim=None, levels: int = 30,
                    log_levels: bool = False):
    """Contours of a 2-D objective with the path of each optimizer drawn on top (chapter 10).

    Parameters
    ----------
    objective : object with ``value(w)`` for ``w`` of shape ``(..., 2)``
        Such as :class:`nnlib.objectives.Quadratic` or :class:`nnlib.objectives.Rosenbrock`.
    paths : dict of str to ndarray (T, 2)
        One path per optimizer, for example from :func:`nnlib.objectives.run_optimizer`.
        Points that are not finite (a diverged run) are not drawn.
    xlim, ylim : pair of float, optional
        The window; by default it covers the finite points of every path and the minimum.
    log_levels : bool, default False
        Space the contour levels geometrically, which shows a flat valley floor
        (Rosenbrock's) better.
    """
    if not callable(getattr(objective, "value", None)):
        raise TypeError(f"optimizer_paths expected an objective with a value method. Received: {type(objective).__name__}")
    if not isinstance(paths, dict) or not paths:
        raise TypeError(f"optimizer_paths expected a non-empty dict of name -> (T, 2) array. Received: {type(paths).__name__}")
    paths = {name: as_float_array(path, f"paths[{name!r}]", ndim=2) for name, path in paths.items()}
    for name, path in paths.items():
        if path.shape[1] != 2:
            raise ValueError(f"optimizer_paths expected paths of shape (T, 2). Received: paths[{name!r}].shape={path.shape}")
    levels = positive_int(levels, "levels")
    log_levels = flag(log_levels, "log_levels")
    finite = np.concatenate([path[np.all(np.isfinite(path), axis=1)] for path in paths.values()]
                            + [np.atleast_2d(getattr(objective, "minimum", np.zeros(2)))])
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    pad = 0.1 * (hi - lo) + 0.1
    xlim = xlim or (lo[0] - pad[0], hi[0] + pad[0])
    ylim = ylim or (lo[1] - pad[1], hi[1] + pad[1])
    ax = _axes(ax)
    grid_x, grid_y = np.meshgrid(np.linspace(*xlim, 300), np.linspace(*ylim, 300))
    values = objective.value(np.stack([grid_x, grid_y], axis=-1))
    if log_levels:
        positive = values[values > 0]
        contour_levels = np.geomspace(positive.min(), values.max(), levels)
    else:
        contour_levels = np.linspace(values.min(), values.max(), levels)
    ax.contour(grid_x, grid_y, values, levels=contour_levels, cmap="Greys", linewidths=0.6)
    for name, path in paths.items():
        shown = path[np.all(np.isfinite(path), axis=1)]
        line, = ax.plot(shown[:, 0], shown[:, 1], marker=".", markersize=3, linewidth=1.2, label=name)
        ax.plot(*shown[-1], marker="o", color=line.get_color(), markeredgecolor="black")
    start = next(iter(paths.values()))[0]
    ax.plot(*start, marker="s", color="black", linestyle="none", label="start")
    if hasattr(objective, "minimum"):
        ax.plot(*objective.minimum, marker="*", markersize=12, color="gold", markeredgecolor="black",
                linestyle="none", label="minimum")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def layer_gradient_norms(norms, *, ax=None, title=None, log: bool = True, xlabel: str = "layer",
                         ylabel: str = "gradient norm"):
    """One line per model of a per-layer quantity such as gradient norms (chapters 11, 12).

    Parameters
    ----------
    norms : dict of str to sequence of float
        For each model, one value per layer, first layer first (layer 1 is the input side),
        for example from :meth:`nnlib.model.Sequential.gradient_norms`.
    log : bool, default True
        A logarithmic y-axis, on which geometric growth or decay is a straight line.
    """
    if not isinstance(norms, dict) or not norms:
        raise TypeError(f"layer_gradient_norms expected a non-empty dict of name -> sequence. Received: {type(norms).__name__}")
    log = flag(log, "log")
    ax = _axes(ax)
    for (name, values), marker in zip(norms.items(), itertools.cycle("os^vD")):
        values = as_float_array(values, f"norms[{name!r}]", ndim=1)
        ax.plot(np.arange(1, len(values) + 1), values, marker=marker, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return ax
