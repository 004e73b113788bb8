r"""Kohonen's self-organising map (chapter 30).

A self-organising map (SOM) is a rectangular grid of ``rows x cols`` units; unit :math:`j`
sits at grid position :math:`r_j = (\text{row}, \text{col})` and holds a prototype vector
:math:`w_j \in \mathbb{R}^d` in input space. It learns by competition, not by
backpropagation: there is no loss whose gradient is followed. For one sample :math:`x`,

1. the *best-matching unit* (BMU) is the unit with the nearest prototype,
   :math:`c = \arg\min_j \lVert x - w_j \rVert_2` (ties go to the lowest unit index);
2. every unit moves towards :math:`x` by a fraction that falls with its *grid* distance from
   the BMU, through the Gaussian neighbourhood

   .. math::

       h_j = \exp\!\left(-\frac{\lVert r_j - r_c \rVert^2}{2\sigma^2}\right), \qquad
       w_j \leftarrow w_j + \eta\, h_j\, (x - w_j),

   with learning rate :math:`\eta \in (0, 1]` and radius :math:`\sigma > 0`.

Training visits the samples one at a time, shuffled every epoch, while :math:`\eta` and
:math:`\sigma` decay from their initial to their final values (see :func:`decay`). A large
early radius drags whole regions of the grid together and orders the map; the small final
radius lets each prototype settle on its own patch of data.

Units are numbered row-major: unit :math:`j` sits at row ``j // cols`` and column
``j % cols``. Distances in input space are computed from differences (no matrix-product
expansion), so the BMU does not depend on the BLAS kernel.

Reference: T. Kohonen, "Self-organized formation of topologically correct feature maps",
Biological Cybernetics 43 (1982).
"""
from __future__ import annotations

import numbers

import numpy as np

from nnlib._validation import data_array, flag, generator, one_of, positive_float, positive_int
from nnlib.layers.base import float_dtype

__all__ = ["SelfOrganizingMap", "decay", "gaussian_neighbourhood", "grid_coordinates", "som_update"]

_CHUNK = 256  # samples per block when computing distances to every prototype


def grid_coordinates(rows: int, cols: int) -> np.ndarray:
    """Grid positions of the units, row-major: an int array of shape ``(rows * cols, 2)``."""
    rows = positive_int(rows, "rows")
    cols = positive_int(cols, "cols")
    row_index, col_index = np.divmod(np.arange(rows * cols), cols)
    return np.stack([row_index, col_index], axis=1)


def _rate(value, name: str) -> float:
    """A learning rate in (0, 1]: a step past the sample (> 1) is refused."""
    value = positive_float(value, name)
    if value > 1:
        raise ValueError(f"{name} expected a number in (0, 1]. Received: {name}={value}")
    return value


def gaussian_neighbourhood(grid: np.ndarray, winner: int, radius: float) -> np.ndarray:
    r"""Neighbourhood weights :math:`h_j = \exp(-\lVert r_j - r_c\rVert^2 / 2\sigma^2)`.

    Parameters
    ----------
    grid : ndarray of shape (units, 2)
        Grid positions, as from :func:`grid_coordinates`.
    winner : int
        Index :math:`c` of the best-matching unit.
    radius : float
        :math:`\sigma > 0`, in grid steps.

    Returns
    -------
    ndarray of shape (units,)
        1 at the winner, falling with grid (not input-space) distance from it.
    """
    grid = np.asarray(grid)
    if grid.ndim != 2 or grid.shape[1] != 2:
        raise ValueError(f"grid expected an array of shape (units, 2). Received: grid.shape={grid.shape}")
    if isinstance(winner, (bool, np.bool_)) or not isinstance(winner, numbers.Integral):
        raise TypeError(f"winner expected an integer unit index. Received: winner={winner!r}")
    if not 0 <= winner < len(grid):
        raise ValueError(f"winner expected a unit index in [0, {len(grid)}). Received: winner={winner}")
    radius = positive_float(radius, "radius")
    squared = np.sum((grid - grid[winner]) ** 2, axis=1)
    return np.exp(-squared / (2.0 * radius**2))


def som_update(prototypes: np.ndarray, grid: np.ndarray, x: np.ndarray, learning_rate: float, radius: float):
    r"""One online SOM step, without side effects.

    Parameters
    ----------
    prototypes : ndarray of shape (units, d)
    grid : ndarray of shape (units, 2)
    x : ndarray of shape (d,)
        One sample.
    learning_rate : float
        :math:`\eta \in (0, 1]`.
    radius : float
        :math:`\sigma > 0`.

    Returns
    -------
    new_prototypes : ndarray of shape (units, d)
        :math:`w_j + \eta h_j (x - w_j)` for every unit :math:`j`.
    winner : int
        The best-matching unit :math:`c = \arg\min_j \lVert x - w_j\rVert`.
    """
    prototypes = np.asarray(prototypes)
    x = data_array(x, "x", ndim=1)
    if prototypes.ndim != 2 or prototypes.shape[1] != x.shape[0]:
        raise ValueError(
            f"som_update expected x of length d for prototypes of shape (units, d). "
            f"Received: x.shape={x.shape}, prototypes.shape={prototypes.shape}"
        )
    learning_rate = _rate(learning_rate, "learning_rate")
    difference = x - prototypes
    winner = _nearest(difference)
    h = gaussian_neighbourhood(grid, winner, radius)
    return prototypes + (learning_rate * h)[:, None].astype(prototypes.dtype) * difference.astype(prototypes.dtype), winner


def _nearest(difference: np.ndarray) -> int:
    """Index of the smallest row norm of ``difference`` (x - prototypes); ties to the lowest index."""
    return int(np.argmin(np.einsum("ud,ud->u", difference, difference)))


def _values(initial: float, final: float, total_steps: int, schedule: str) -> np.ndarray:
    """All ``total_steps`` values of the schedule at once (the formula of :func:`decay`)."""
    progress = np.arange(total_steps) / (total_steps - 1) if total_steps > 1 else np.zeros(total_steps)
    if schedule == "exponential":
        return initial * (final / initial) ** progress
    return initial + (final - initial) * progress


def decay(initial: float, final: float, step: int, total_steps: int, schedule: str = "exponential") -> float:
    r"""The value of a decaying parameter at ``step`` (0-based) of ``total_steps``.

    With progress :math:`p = t / (T - 1)` (and :math:`p = 0` when :math:`T = 1`), so that the
    first step uses ``initial`` and the last uses ``final``:

    - ``"exponential"``: :math:`v_0 \, (v_T / v_0)^{p}` (a constant ratio per step);
    - ``"linear"``: :math:`v_0 + (v_T - v_0)\, p`.
    """
    initial = positive_float(initial, "initial")
    final = positive_float(final, "final")
    total_steps = positive_int(total_steps, "total_steps")
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Integral):
        raise TypeError(f"step expected an integer. Received: step={step!r}")
    if not 0 <= step < total_steps:
        raise ValueError(f"step expected an integer in [0, {total_steps}). Received: step={step}")
    schedule = one_of(schedule, "schedule", {"exponential", "linear"})
    return float(_values(initial, final, total_steps, schedule)[step])


class SelfOrganizingMap:
    r"""A rectangular self-organising map trained online (Kohonen 1982).

    Parameters
    ----------
    rows, cols : int
        Grid size; the map has ``rows * cols`` units.
    input_dim : int
        :math:`d`, the length of each sample and prototype.
    learning_rate, final_learning_rate : float, default 0.5 and 0.01
        :math:`\eta` at the first and the last training step, in (0, 1], final <= initial.
    radius, final_radius : float, optional (default ``max(rows, cols) / 2`` and 0.5)
        :math:`\sigma` at the first and last step, in grid steps, final <= initial.
    schedule : {"exponential", "linear"}, default "exponential"
        How both decay over the ``epochs * n_samples`` steps of :meth:`fit` (see :func:`decay`).
    rng : numpy.random.Generator, optional
        Initial prototypes (uniform in [0, 1): scale the inputs to [0, 1], or call
        :meth:`initialize_from`) and the order of the samples in every epoch.
    dtype : str, default "float64"

    Attributes
    ----------
    prototypes : ndarray of shape (rows * cols, input_dim)
        Unit :math:`j`'s prototype :math:`w_j` (row-major unit order).
    grid : ndarray of shape (rows * cols, 2)
        Each unit's (row, column).
    history : dict of list
        After :meth:`fit` with ``record=True``: ``"quantization_error"`` and
        ``"topographic_error"`` on the training data, before training and after every epoch.

    Notes
    -----
    There is no Keras layer for a SOM; chapter 30 writes :meth:`update` with TensorFlow ops
    and checks that one step agrees.
    """

    def __init__(
        self,
        rows: int,
        cols: int,
        input_dim: int,
        *,
        learning_rate: float = 0.5,
        final_learning_rate: float = 0.01,
        radius: float | None = None,
        final_radius: float = 0.5,
        schedule: str = "exponential",
        rng=None,
        dtype="float64",
    ):
        self.rows = positive_int(rows, "rows")
        self.cols = positive_int(cols, "cols")
        self.input_dim = positive_int(input_dim, "input_dim")
        self.learning_rate = _rate(learning_rate, "learning_rate")
        self.final_learning_rate = _rate(final_learning_rate, "final_learning_rate")
        if self.final_learning_rate > self.learning_rate:
            raise ValueError(
                "final_learning_rate expected a number <= learning_rate (the rate decays). "
                f"Received: learning_rate={self.learning_rate}, final_learning_rate={self.final_learning_rate}"
            )
        self.radius = positive_float(max(self.rows, self.cols) / 2 if radius is None else radius, "radius")
        self.final_radius = positive_float(final_radius, "final_radius")
        if self.final_radius > self.radius:
            raise ValueError(
                "final_radius expected a number <= radius (the radius decays). "
                f"Received: radius={self.radius}, final_radius={self.final_radius}"
            )
        self.schedule = one_of(schedule, "schedule", {"exponential", "linear"})
        self.rng = generator(rng)
        self.dtype = float_dtype(dtype)
        self.grid = grid_coordinates(self.rows, self.cols)
        self._grid_squared = np.sum((self.grid[:, None, :] - self.grid[None, :, :]) ** 2, axis=2)
        self.prototypes = self.rng.uniform(0.0, 1.0, size=(self.units, self.input_dim)).astype(self.dtype)
        self.history = {"quantization_error": [], "topographic_error": []}

    @property
    def units(self) -> int:
        return self.rows * self.cols

    def __repr__(self) -> str:
        return f"SelfOrganizingMap(rows={self.rows}, cols={self.cols}, input_dim={self.input_dim}, schedule={self.schedule!r})"

    # --- weights -------------------------------------------------------------------------

    def get_weights(self) -> list:
        """``[prototypes]``, a copy of shape ``(rows * cols, input_dim)``."""
        return [self.prototypes.copy()]

    def set_weights(self, weights) -> None:
        """Replace the prototypes with ``weights[0]`` of shape ``(rows * cols, input_dim)``."""
        if not isinstance(weights, (list, tuple)) or len(weights) != 1:
            raise ValueError(f"set_weights expected a list with one array [prototypes]. Received: {type(weights).__name__} of length "
                             f"{len(weights) if hasattr(weights, '__len__') else 'n/a'}")
        values = data_array(weights[0], "prototypes", ndim=2)
        if values.shape != (self.units, self.input_dim):
            raise ValueError(f"set_weights expected prototypes of shape {(self.units, self.input_dim)}. Received: prototypes.shape={values.shape}")
        self.prototypes = values.astype(self.dtype, copy=True)

    def initialize_from(self, x) -> "SelfOrganizingMap":
        """Set the prototypes to randomly chosen samples of ``x`` (distinct when there are enough)."""
        x = self._data(x, "initialize_from")
        chosen = self.rng.choice(len(x), size=self.units, replace=len(x) < self.units)
        self.prototypes = x[chosen].astype(self.dtype, copy=True)
        return self

    # --- the competition -----------------------------------------------------------------

    def _data(self, x, caller: str) -> np.ndarray:
        x = data_array(x, "x", ndim=2)
        if x.shape[1] != self.input_dim:
            raise ValueError(f"{caller} expected x of shape (n, {self.input_dim}). Received: x.shape={x.shape}")
        return x

    def _squared_distances(self, x: np.ndarray) -> np.ndarray:
        blocks = []
        for start in range(0, len(x), _CHUNK):
            difference = x[start:start + _CHUNK, None, :] - self.prototypes[None, :, :]
            blocks.append(np.einsum("nud,nud->nu", difference, difference))  # the same sums as _nearest
        return np.concatenate(blocks, axis=0)

    def distances(self, x) -> np.ndarray:
        r""":math:`\lVert x_n - w_j\rVert_2` for every sample and unit, shape ``(n, units)``."""
        return np.sqrt(self._squared_distances(self._data(x, "distances")))

    def bmu(self, x) -> np.ndarray:
        """Best-matching unit of each row of ``x`` (flat unit indices, shape ``(n,)``)."""
        return np.argmin(self._squared_distances(self._data(x, "bmu")), axis=1)

    def winner(self, x) -> np.ndarray:
        """Grid position (row, column) of each sample's best-matching unit, shape ``(n, 2)``."""
        return self.grid[np.argmin(self._squared_distances(self._data(x, "winner")), axis=1)]

    def neighbourhood(self, winner: int, radius: float) -> np.ndarray:
        """Gaussian neighbourhood around unit ``winner`` (see :func:`gaussian_neighbourhood`)."""
        return gaussian_neighbourhood(self.grid, winner, radius)

    # --- learning ------------------------------------------------------------------------

    def update(self, x_sample, learning_rate: float, radius: float) -> np.ndarray:
        r"""Apply one online step for one sample and return the new prototypes (a copy).

        :math:`w_j \leftarrow w_j + \eta\, h_j\, (x - w_j)` with the BMU of ``x_sample``.
        """
        x_sample = data_array(x_sample, "x_sample", ndim=1)
        if x_sample.shape[0] != self.input_dim:
            raise ValueError(f"update expected x_sample of shape ({self.input_dim},). Received: x_sample.shape={x_sample.shape}")
        self.prototypes, _ = som_update(self.prototypes, self.grid, x_sample, learning_rate, radius)
        return self.prototypes.copy()

    def fit(self, x, epochs: int = 10, *, shuffle: bool = True, record: bool = True) -> "SelfOrganizingMap":
        """Online training: ``epochs`` passes, one update per sample, rate and radius decaying.

        The schedule runs over all ``epochs * len(x)`` steps of this call, from
        (``learning_rate``, ``radius``) to (``final_learning_rate``, ``final_radius``).
        """
        x = self._data(x, "fit")
        epochs = positive_int(epochs, "epochs")
        shuffle = flag(shuffle, "shuffle")
        record = flag(record, "record")
        data = x.astype(self.dtype)
        total = epochs * len(x)
        rates = _values(self.learning_rate, self.final_learning_rate, total, self.schedule)
        radii = _values(self.radius, self.final_radius, total, self.schedule)
        self.history = {"quantization_error": [], "topographic_error": []}
        if record:
            self._record(x)
        prototypes = self.prototypes
        step = 0
        for _ in range(epochs):
            order = self.rng.permutation(len(x)) if shuffle else np.arange(len(x))
            for index in order:
                # the body of som_update, inlined: the checks would dominate this loop's cost
                difference = data[index] - prototypes
                winner = _nearest(difference)
                h = np.exp(-self._grid_squared[winner] / (2.0 * radii[step] ** 2))
                prototypes += (rates[step] * h).astype(self.dtype)[:, None] * difference
                step += 1
            if record:
                self._record(x)
        return self

    def _record(self, x: np.ndarray) -> None:
        quantization, topographic = self._errors(x)
        self.history["quantization_error"].append(quantization)
        self.history["topographic_error"].append(topographic)

    # --- quality -------------------------------------------------------------------------

    def _errors(self, x: np.ndarray) -> tuple[float, float]:
        squared = self._squared_distances(x)
        if self.units < 2:
            return float(np.mean(np.sqrt(squared[:, 0]))), float("nan")
        best_two = np.argsort(squared, axis=1, kind="stable")[:, :2]
        quantization = float(np.mean(np.sqrt(squared[np.arange(len(x)), best_two[:, 0]])))
        steps_apart = np.max(np.abs(self.grid[best_two[:, 0]] - self.grid[best_two[:, 1]]), axis=1)
        return quantization, float(np.mean(steps_apart > 1))

    def quantization_error(self, x) -> float:
        r"""Mean distance from each sample to its BMU's prototype, :math:`\frac1n\sum_n \min_j\lVert x_n - w_j\rVert`."""
        x = self._data(x, "quantization_error")
        return float(np.mean(np.sqrt(np.min(self._squared_distances(x), axis=1))))

    def topographic_error(self, x) -> float:
        """Fraction of samples whose best and second-best units are not grid neighbours.

        Neighbours are the up to eight units around a unit (sharing an edge or a corner, the
        convention of Kiviluoto 1996 as MiniSom implements it on a rectangular grid). Ties in
        distance go to the lower unit index.
        """
        x = self._data(x, "topographic_error")
        if self.units < 2:
            raise ValueError(f"topographic_error expected a map with at least 2 units. Received: rows={self.rows}, cols={self.cols}")
        return self._errors(x)[1]

    def u_matrix(self) -> np.ndarray:
        """Mean input-space distance from each unit's prototype to its grid neighbours' prototypes,
        shape ``(rows, cols)``: high values mark borders between clusters."""
        neighbours = (np.max(np.abs(self.grid[:, None, :] - self.grid[None, :, :]), axis=2) == 1)
        difference = self.prototypes[:, None, :] - self.prototypes[None, :, :]
        distance = np.sqrt(np.sum(difference**2, axis=2))
        counts = np.maximum(neighbours.sum(axis=1), 1)
        return (np.sum(distance * neighbours, axis=1) / counts).reshape(self.rows, self.cols)
