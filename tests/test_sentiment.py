"""nnlib.datasets' sentiment corpus: determinism, the labelling rule, vocabulary and encoding."""

import numpy as np
import pytest

import nnlib  # noqa: F401  (before keras)
from nnlib import datasets

from bad_input import check, table  # tests/bad_input.py


def corpus(seed=7, n=400, **kwargs):
    return datasets.sentiment_corpus(n, rng=np.random.default_rng(seed), **kwargs)


def test_deterministic_from_rng():
    first, second, other = corpus(), corpus(), corpus(seed=8)
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    np.testing.assert_array_equal(first[2], second[2])
    assert first[0] != other[0]


def test_labels_follow_the_rule():
    sentences, labels, negated = corpus()
    assert [datasets.sentiment_label(s) for s in sentences] == labels.tolist()
    has_negator = [any(word in datasets.NEGATORS for word in s.split()) for s in sentences]
    np.testing.assert_array_equal(has_negator, negated)
    assert labels.dtype == np.int64 and negated.dtype == bool
    assert 0.4 < negated.mean() < 0.6 and 0.4 < labels.mean() < 0.6


def test_negated_fraction_extremes():
    assert not corpus(negated_fraction=0.0)[2].any()
    assert corpus(negated_fraction=1.0)[2].all()


def test_negated_bags_do_not_depend_on_the_label():
    """Swapping the two adjectives of a negated sentence flips its label and keeps its bag of words."""
    sentences, labels, negated = corpus(n=2000, negated_fraction=1.0)
    bags = [tuple(sorted(s.split())) for s in sentences]
    # every negated sentence has exactly one positive adjective, one negative, one negator
    for bag in bags:
        assert sum(w in datasets.POSITIVE_WORDS for w in bag) == 1
        assert sum(w in datasets.NEGATIVE_WORDS for w in bag) == 1
        assert sum(w in datasets.NEGATORS for w in bag) == 1
    # and the word frequencies are the same under both labels, up to sampling noise
    for word in datasets.POSITIVE_WORDS + datasets.NEGATIVE_WORDS:
        rates = [np.mean([word in bag for bag, y in zip(bags, labels) if y == label]) for label in (0, 1)]
        assert abs(rates[0] - rates[1]) < 0.05, word


def test_vocabulary_and_round_trip():
    sentences, _, _ = corpus()
    vocabulary = datasets.build_vocabulary(sentences)
    assert vocabulary[:2] == ["", "[UNK]"] and len(set(vocabulary)) == len(vocabulary)
    ids = datasets.encode(sentences, vocabulary)
    assert ids.dtype == np.int64 and ids.shape == (len(sentences), max(len(s.split()) for s in sentences))
    assert datasets.decode(ids, vocabulary) == sentences


def test_padding_truncation_and_oov():
    vocabulary = datasets.build_vocabulary(["good good film", "bad film"])
    assert vocabulary == ["", "[UNK]", "film", "good", "bad"]
    ids = datasets.encode(["Good, film!", "awful film was bad"], vocabulary, max_length=3)
    np.testing.assert_array_equal(ids, [[3, 2, 0], [1, 2, 1]])
    assert datasets.decode(ids, vocabulary) == ["good film", "[UNK] film [UNK]"]
    assert datasets.build_vocabulary(["a a b c"], max_tokens=3) == ["", "[UNK]", "a"]


def test_matches_keras_text_vectorization():
    import keras

    sentences, _, _ = corpus(n=50)
    vocabulary = datasets.build_vocabulary(sentences)
    layer = keras.layers.TextVectorization(vocabulary=vocabulary[2:], output_sequence_length=9)
    np.testing.assert_array_equal(datasets.encode(sentences + ["an unseen word"], vocabulary, max_length=9),
                                  keras.ops.convert_to_numpy(layer(sentences + ["an unseen word"])))


BAD = [
    ("n-zero", lambda: datasets.sentiment_corpus(0), ValueError, "n_samples expected a positive integer"),
    ("fraction", lambda: datasets.sentiment_corpus(5, negated_fraction=1.5), ValueError, "negated_fraction expected a number in [0, 1]"),
    ("rng", lambda: datasets.sentiment_corpus(5, rng=3), TypeError, "rng expected a numpy.random.Generator"),
    ("label-no-word", lambda: datasets.sentiment_label("the film was"), ValueError, "exactly one un-negated polarity"),
    ("label-type", lambda: datasets.sentiment_label(3), TypeError, "sentence expected a string"),
    ("vocab-string", lambda: datasets.build_vocabulary("a film"), TypeError, "sentences expected a list of strings"),
    ("vocab-empty", lambda: datasets.build_vocabulary([]), ValueError, "non-empty list"),
    ("vocab-items", lambda: datasets.build_vocabulary(["a", 3]), TypeError, "an item of type int"),
    ("vocab-max", lambda: datasets.build_vocabulary(["a"], max_tokens=2), ValueError, "max_tokens expected at least 3"),
    ("encode-vocab", lambda: datasets.encode(["a"], ["a", "b"]), ValueError, "vocabulary expected a list starting with ''"),
    ("encode-length", lambda: datasets.encode(["a"], ["", "[UNK]", "a"], max_length=0), ValueError, "max_length expected"),
    ("decode-float", lambda: datasets.decode(np.ones((1, 2)), ["", "[UNK]"]), TypeError, "ids expected a 2-D array of integers"),
    ("decode-range", lambda: datasets.decode(np.array([[5]]), ["", "[UNK]"]), ValueError, "ids expected integers in [0, 2)"),
]


@table(BAD)
def test_bad_input(call, error, fragment):
    check(call, error, fragment)
