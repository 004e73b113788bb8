"""nnlib.som: hand-computed cases, training behaviour and determinism (the bad-input rows are
in test_bad_input.py, with every other module's)."""
import numpy as np
import pytest

from nnlib import som
from nnlib.som import SelfOrganizingMap, decay, gaussian_neighbourhood, grid_coordinates, som_update


def line_map(values, dtype="float64"):
    """A 1 x len(values) map with 1-D prototypes at ``values``."""
    model = SelfOrganizingMap(1, len(values), 1, rng=np.random.default_rng(1), dtype=dtype)
    model.set_weights([np.array(values, dtype=float)[:, None]])
    return model


def blobs(rng, per_blob=60):
    centres = np.array([[0.2, 0.2], [0.8, 0.2], [0.5, 0.8]])
    return np.concatenate([centre + 0.04 * rng.standard_normal((per_blob, 2)) for centre in centres])


def test_grid_is_row_major():
    np.testing.assert_array_equal(grid_coordinates(2, 3), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]])


def test_bmu_and_winner_by_hand():
    model = SelfOrganizingMap(2, 2, 2, rng=np.random.default_rng(1))
    model.set_weights([np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])])
    x = np.array([[0.1, 0.2], [0.9, 0.1], [0.2, 0.7], [1.2, 0.8], [0.5, 0.0]])
    # the last sample is equally far from units 0 and 1: the lower index wins
    np.testing.assert_array_equal(model.bmu(x), [0, 1, 2, 3, 0])
    np.testing.assert_array_equal(model.winner(x), [[0, 0], [0, 1], [1, 0], [1, 1], [0, 0]])
    np.testing.assert_allclose(model.distances(x[:1]), [[np.hypot(0.1, 0.2), np.hypot(0.9, 0.2), np.hypot(0.1, 0.8), np.hypot(0.9, 0.8)]])


def test_neighbourhood_by_hand():
    grid = grid_coordinates(2, 3)
    # winner (0, 0); squared grid distances 0, 1, 4, 1, 2, 5; radius 1 -> exp(-d2 / 2)
    np.testing.assert_allclose(gaussian_neighbourhood(grid, 0, 1.0), np.exp(-np.array([0, 1, 4, 1, 2, 5]) / 2))
    # radius 2 -> exp(-d2 / 8), around the winner (1, 1)
    np.testing.assert_allclose(gaussian_neighbourhood(grid, 4, 2.0), np.exp(-np.array([2, 1, 2, 1, 0, 1]) / 8))
    model = SelfOrganizingMap(2, 3, 1, rng=np.random.default_rng(1))
    np.testing.assert_allclose(model.neighbourhood(4, 2.0), gaussian_neighbourhood(grid, 4, 2.0))


def test_one_update_by_hand():
    model = line_map([0.0, 2.0, 4.0])
    new = model.update(np.array([0.5]), learning_rate=0.5, radius=1.0)
    # BMU is unit 0; h = 1, exp(-1/2), exp(-2); w += 0.5 h (0.5 - w)
    expected = np.array([0.0 + 0.5 * 0.5, 2.0 + 0.5 * np.exp(-0.5) * (0.5 - 2.0), 4.0 + 0.5 * np.exp(-2) * (0.5 - 4.0)])
    np.testing.assert_allclose(new[:, 0], expected)
    np.testing.assert_allclose(model.prototypes[:, 0], expected)  # applied as well as returned
    new[0, 0] = 99.0
    assert model.prototypes[0, 0] != 99.0  # a copy


def test_som_update_is_pure_and_reports_the_winner():
    prototypes = np.array([[0.0, 0.0], [1.0, 1.0]])
    before = prototypes.copy()
    new, winner = som_update(prototypes, grid_coordinates(1, 2), np.array([0.9, 1.0]), 1.0, 0.5)
    assert winner == 1
    np.testing.assert_array_equal(prototypes, before)
    np.testing.assert_allclose(new[1], [0.9, 1.0])  # eta = h = 1 puts the winner on the sample
    np.testing.assert_allclose(new[0], np.exp(-2) * np.array([0.9, 1.0]))  # h = exp(-1 / (2 * 0.25))


def test_decay_schedules():
    assert decay(0.5, 0.02, 0, 3) == pytest.approx(0.5)
    assert decay(0.5, 0.02, 1, 3) == pytest.approx(np.sqrt(0.5 * 0.02))
    assert decay(0.5, 0.02, 2, 3) == pytest.approx(0.02)
    assert decay(0.5, 0.02, 1, 3, "linear") == pytest.approx(0.26)
    assert decay(0.5, 0.02, 0, 1) == pytest.approx(0.5)
    values = [decay(4.0, 0.5, step, 10) for step in range(10)]
    assert all(later < earlier for earlier, later in zip(values, values[1:]))
    ratios = np.array(values[1:]) / np.array(values[:-1])
    np.testing.assert_allclose(ratios, ratios[0])  # exponential: a constant ratio per step


@pytest.mark.parametrize("schedule", ["exponential", "linear"])
def test_fit_is_the_sequence_of_updates_with_the_decayed_values(schedule):
    x = blobs(np.random.default_rng(2), per_blob=5)
    model = SelfOrganizingMap(3, 2, 2, learning_rate=0.6, final_learning_rate=0.05, radius=1.5, final_radius=0.3,
                              schedule=schedule, rng=np.random.default_rng(3))
    prototypes = model.prototypes.copy()
    model.fit(x, epochs=2, shuffle=False, record=False)
    total = 2 * len(x)
    for step in range(total):
        rate = decay(0.6, 0.05, step, total, schedule)
        radius = decay(1.5, 0.3, step, total, schedule)
        prototypes, _ = som_update(prototypes, model.grid, x[step % len(x)], rate, radius)
    np.testing.assert_allclose(model.prototypes, prototypes, rtol=1e-12, atol=1e-12)


def test_quantization_error_by_hand():
    model = line_map([0.0, 1.0, 3.0])
    x = np.array([[0.25], [1.5], [2.0], [4.0]])
    # nearest prototypes 0, 1, (1 or 3: both 1.0 away), 3
    assert model.quantization_error(x) == pytest.approx((0.25 + 0.5 + 1.0 + 1.0) / 4)


def test_topographic_error_on_a_hand_made_map():
    # 1 x 3 line with prototypes out of order: 0 at column 0, 2 at column 1, 1 at column 2
    model = line_map([0.0, 2.0, 1.0])
    # 0.1: best column 0, second column 2 (value 1) -> not neighbours (an error)
    # 1.9: best column 1, second column 2 -> neighbours; 1.1: best column 2, second column 1 -> neighbours
    assert model.topographic_error(np.array([[0.1], [1.9], [1.1]])) == pytest.approx(1 / 3)
    ordered = line_map([0.0, 1.0, 2.0])
    assert ordered.topographic_error(np.array([[0.1], [1.9], [1.1]])) == 0.0


def test_topographic_error_counts_diagonal_neighbours():
    model = SelfOrganizingMap(3, 3, 1, rng=np.random.default_rng(1))
    values = np.full(9, 10.0)
    values[0], values[4], values[8] = 0.0, 1.0, 1.2  # (0, 0), (1, 1) and (2, 2)
    model.set_weights([values[:, None]])
    # 0.4: best (0, 0), second (1, 1): diagonal neighbours.  1.15: best (2, 2), second (1, 1): neighbours.
    assert model.topographic_error(np.array([[0.4], [1.15]])) == 0.0
    values[4] = 5.0  # now 0.4's second best is (2, 2), two steps away
    model.set_weights([values[:, None]])
    assert model.topographic_error(np.array([[0.4]])) == 1.0


def test_u_matrix_by_hand():
    model = line_map([0.0, 1.0, 3.0])
    np.testing.assert_allclose(model.u_matrix(), [[1.0, 1.5, 2.0]])


def test_errors_fall_on_clustered_data():
    rng = np.random.default_rng(4)
    x = blobs(rng)
    model = SelfOrganizingMap(4, 4, 2, rng=rng).fit(x, epochs=15)
    quantization = model.history["quantization_error"]
    topographic = model.history["topographic_error"]
    assert len(quantization) == len(topographic) == 16
    assert quantization[-1] < quantization[0] / 4
    assert model.quantization_error(x) == pytest.approx(quantization[-1])
    assert model.topographic_error(x) == pytest.approx(topographic[-1])
    assert topographic[-1] < 0.1
    # every blob has its own units: each sample's BMU lies closer to its own blob's centre
    labels = np.repeat(np.arange(3), 60)
    bmus = model.bmu(x)
    for blob in range(3):
        assert np.all(np.isin(bmus[labels == blob], bmus[labels != blob], invert=True))


def test_initialize_from_picks_samples():
    x = blobs(np.random.default_rng(5))
    model = SelfOrganizingMap(3, 3, 2, rng=np.random.default_rng(6)).initialize_from(x)
    distances = model.distances(model.prototypes)
    assert np.allclose(np.min(model.distances(x).T, axis=1), 0.0)  # every prototype is a sample
    assert len(np.unique(model.prototypes, axis=0)) == 9 and np.all(np.diag(distances) == 0.0)


def test_determinism_given_rng():
    x = blobs(np.random.default_rng(7), per_blob=20)

    def trained(seed):
        return SelfOrganizingMap(3, 3, 2, rng=np.random.default_rng(seed)).fit(x, epochs=3).prototypes

    np.testing.assert_array_equal(trained(8), trained(8))
    assert not np.allclose(trained(8), trained(9))


def test_float32_stays_float32():
    x = blobs(np.random.default_rng(10), per_blob=10)
    model = SelfOrganizingMap(2, 2, 2, rng=np.random.default_rng(11), dtype="float32")
    assert model.prototypes.dtype == np.float32
    model.fit(x, epochs=2)
    assert model.prototypes.dtype == np.float32
    assert model.update(x[0], 0.1, 1.0).dtype == np.float32
    assert model.get_weights()[0].dtype == np.float32


def test_defaults_and_repr():
    model = SelfOrganizingMap(4, 6, 3, rng=np.random.default_rng(12))
    assert model.units == 24 and model.radius == 3.0 and model.final_radius == 0.5
    assert model.prototypes.shape == (24, 3) and np.all((model.prototypes >= 0) & (model.prototypes < 1))
    assert repr(model) == "SelfOrganizingMap(rows=4, cols=6, input_dim=3, schedule='exponential')"
    assert som.__all__ == ["SelfOrganizingMap", "decay", "gaussian_neighbourhood", "grid_coordinates", "som_update"]


def test_single_unit_map():
    model = SelfOrganizingMap(1, 1, 2, rng=np.random.default_rng(13)).fit(np.ones((3, 2)), epochs=2)
    assert np.isnan(model.history["topographic_error"][-1])
    assert model.quantization_error(np.ones((3, 2))) < 0.1
