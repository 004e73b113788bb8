"""Tests for nnlib.datasets.digits_transfer_split: determinism, disjoint sets, class counts,
label ranges, shapes, bad input."""
import numpy as np
import pytest

from nnlib import datasets
from bad_input import check  # tests/bad_input.py

KEYS = ("source_train", "source_test", "target_train", "target_test")


def split(seed=0, **kwargs):
    return datasets.digits_transfer_split(rng=np.random.default_rng(seed), **kwargs)


def test_same_rng_gives_the_same_split_and_another_a_different_one():
    first, second, other = split(3), split(3), split(4)
    for key in KEYS:
        for a, b in zip(first[key], second[key], strict=True):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first["target_train"][0], other["target_train"][0])


def test_shapes_dtypes_and_label_ranges():
    data = split(n_target_labels_per_class=7)
    for key in KEYS:
        x, y = data[key]
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.shape[1:] == (8, 8, 1) and len(x) == len(y)
        assert 0 <= x.min() and x.max() <= 1
        assert set(np.unique(y)) == set(range(5))
    assert np.bincount(data["target_train"][1]).tolist() == [7] * 5
    flat = split(n_target_labels_per_class=7, flat=True)
    np.testing.assert_array_equal(flat["target_train"][0], data["target_train"][0].reshape(-1, 64))


def test_sets_are_disjoint_and_come_from_the_right_classes():
    x_all, y_all = datasets.digits()
    data = split(n_target_labels_per_class=20, flat=True)
    rows = {}
    for key in KEYS:
        x, y = data[key]
        # find each image's row in digits(); digits has duplicate images, so match (image, label) to the first unused row
        index = []
        for image, label in zip(x, y, strict=True):
            offset = 0 if key.startswith("source") else 5
            matches = np.flatnonzero(np.all(x_all == image, axis=1) & (y_all == label + offset))
            assert len(matches) >= 1
            index.append(tuple(matches))
        rows[key] = index
    sizes = {key: len(data[key][1]) for key in KEYS}
    assert sizes["source_train"] + sizes["source_test"] == int(np.sum(y_all < 5))
    assert sizes["target_test"] == int(round(0.5 * np.sum(y_all >= 5))) or abs(sizes["target_test"] - 0.5 * np.sum(y_all >= 5)) <= 1
    assert sizes["target_train"] == 100
    # disjoint: no image (up to duplicates in the data) is in two sets of the same task
    for first, second in (("source_train", "source_test"), ("target_train", "target_test")):
        a = {row for matches in rows[first] for row in matches if len(matches) == 1}
        b = {row for matches in rows[second] for row in matches if len(matches) == 1}
        assert not a & b


def test_source_test_fraction_and_stratification():
    data = split(source_test_fraction=0.2)
    y_train, y_test = data["source_train"][1], data["source_test"][1]
    assert abs(len(y_test) / (len(y_train) + len(y_test)) - 0.2) < 0.01
    np.testing.assert_allclose(np.bincount(y_test) / len(y_test), np.bincount(y_train) / len(y_train), atol=0.02)


@pytest.mark.parametrize(("kwargs", "error", "fragment"), [
    ({"n_target_labels_per_class": 0}, ValueError, "n_target_labels_per_class expected a positive integer. Received: n_target_labels_per_class=0"),
    ({"n_target_labels_per_class": 2.5}, TypeError, "n_target_labels_per_class expected a positive integer. Received: 2.5"),
    ({"n_target_labels_per_class": 500}, ValueError, "n_target_labels_per_class expected at most"),
    ({"source_test_fraction": 0.0}, ValueError, "source_test_fraction expected a number in (0, 1). Received: source_test_fraction=0.0"),
    ({"target_test_fraction": 1.5}, ValueError, "target_test_fraction expected a number in [0, 1]. Received: target_test_fraction=1.5"),
    ({"target_test_fraction": "half"}, TypeError, "target_test_fraction expected a real number. Received: target_test_fraction='half'"),
    ({"flat": 1}, TypeError, "flat expected True or False. Received: 1"),
    ({"rng": 0}, TypeError, "rng expected a numpy.random.Generator"),
])
def test_bad_input(kwargs, error, fragment):
    check(lambda: datasets.digits_transfer_split(**({"rng": np.random.default_rng(0)} | kwargs)), error, fragment)
