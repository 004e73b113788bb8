"""Tests for nnlib's class weights (issue 13): Keras parity of class_weight -> sample_weight, bad input."""
import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras: sets the quiet TensorFlow environment)
from nnlib import losses

from bad_input import check  # noqa: E402  (tests/bad_input.py)
from keras.src.trainers.data_adapters.data_adapter_utils import class_weight_to_sample_weights  # noqa: E402


@pytest.mark.parametrize("shape", ["vector", "column", "one_hot"])
def test_class_weight_to_sample_weight_matches_keras(shape):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 20)
    y = {"vector": labels, "column": labels[:, None], "one_hot": np.eye(3)[labels]}[shape].astype(np.float32)
    class_weight = {0: 1.0, 1: 9.0}  # class 2 missing: weight 1, as in Keras
    np.testing.assert_allclose(losses.class_weight_to_sample_weight(y, class_weight), class_weight_to_sample_weights(y, class_weight))


def test_weighted_bce_divides_by_the_batch_size():
    y, p = np.array([0.0, 0.0, 1.0]), np.array([0.2, 0.4, 0.7])
    weights = losses.class_weight_to_sample_weight(y, {0: 1.0, 1: 9.0})
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert losses.binary_crossentropy(y[:, None], p[:, None], sample_weight=weights) == pytest.approx(np.sum(weights * per_sample) / 3)


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: losses.class_weight_to_sample_weight([0, 1], [1.0, 2.0]), TypeError, "class_weight expected a dict"),
    (lambda: losses.class_weight_to_sample_weight([0, 1], {"a": 1.0}), TypeError, "integer class indices"),
    (lambda: losses.class_weight_to_sample_weight([0, 1], {0: -1.0}), ValueError, "weights >= 0"),
    (lambda: losses.class_weight_to_sample_weight([0, np.nan], {0: 1.0}), ValueError, "Received"),
])
def test_bad_input(call, error, fragment):
    check(call, error, fragment)
