"""Small offline data sets: logic gates, separable data with a known margin, and float32
wrappers over scikit-learn's bundled and generated sets. Nothing is downloaded.

Inputs are float32 (Keras's dtype); class labels are int64, except for the logic gates,
whose targets are float32 so that they can be fed to a sigmoid output directly.
"""
from __future__ import annotations

import numpy as np


from nnlib._validation import flag, fraction, generator, one_of, positive_float, positive_int

_GATES = {
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "nand": (1, 1, 1, 0),
    "nor": (1, 0, 0, 0),
    "xor": (0, 1, 1, 0),
    "xnor": (1, 0, 0, 1),
}


def logic_gate(name: str):
    """The four input pairs of a two-input gate and its truth table.

    Returns
    -------
    X : ndarray of shape (4, 2), float32
        Rows (0, 0), (0, 1), (1, 0), (1, 1).
    y : ndarray of shape (4,), float32
    """
    key = one_of(name, "name", _GATES)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    return X, np.array(_GATES[key], dtype=np.float32)


def linearly_separable(n_samples: int, margin: float, *, n_features: int = 2, rng=None):
    """Points in the cube [-1, 1]^d separated by a random hyperplane with a known margin.

    The hyperplane :math:`w^\\top x + b = 0` has :math:`\\lVert w\\rVert = 1` and an offset
    :math:`0.1 \\le |b| \\le 0.4`, so it does not pass through the origin. Points closer to it
    than ``margin`` are rejected, so every point is at distance at least ``margin``.

    Returns
    -------
    X : ndarray (n_samples, n_features), float64
    y : ndarray (n_samples,), int64 in {0, 1} (1 on the side where w.x + b > 0)
    weights : ndarray (n_features,), unit norm
    bias : float
    """
    n_samples = positive_int(n_samples, "n_samples")
    if n_samples < 2:
        raise ValueError(f"n_samples expected at least 2 (one point per class). Received: n_samples={n_samples}")
    n_features = positive_int(n_features, "n_features")
    margin = positive_float(margin, "margin")
    if margin >= 0.5:
        raise ValueError(f"margin expected a number in (0, 0.5) for points in [-1, 1]^d. Received: margin={margin}")
    rng = generator(rng)
    weights = rng.standard_normal(n_features)
    weights /= np.linalg.norm(weights)
    bias = float(rng.uniform(0.1, 0.4) * rng.choice([-1.0, 1.0]))
    kept = np.empty((0, n_features))
    while len(kept) < n_samples:
        candidates = rng.uniform(-1, 1, size=(4 * n_samples, n_features))
        kept = np.vstack([kept, candidates[np.abs(candidates @ weights + bias) >= margin]])
    X = kept[:n_samples]
    y = (X @ weights + bias > 0).astype(np.int64)
    if y.min() == y.max():  # pragma: no cover - needs an unlucky draw
        return linearly_separable(n_samples, margin, n_features=n_features, rng=rng)
    return X, y, weights, bias


def _sk():
    """scikit-learn's data sets, imported on first use (it takes a second)."""
    from sklearn import datasets

    return datasets


def _seed(rng) -> int:
    return int(generator(rng).integers(2**31 - 1))


def circles(n_samples: int = 200, *, noise: float = 0.1, factor: float = 0.5, rng=None):
    """Two concentric rings (scikit-learn's ``make_circles``); not linearly separable."""
    n_samples = positive_int(n_samples, "n_samples")
    positive_float(noise, "noise", allow_zero=True)
    factor = positive_float(factor, "factor")
    if factor >= 1:
        raise ValueError(f"factor expected a number in (0, 1). Received: factor={factor}")
    X, y = _sk().make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=_seed(rng))
    return X.astype(np.float32), y.astype(np.int64)


def moons(n_samples: int = 200, *, noise: float = 0.1, rng=None):
    """Two interleaved half-moons (scikit-learn's ``make_moons``)."""
    n_samples = positive_int(n_samples, "n_samples")
    positive_float(noise, "noise", allow_zero=True)
    X, y = _sk().make_moons(n_samples=n_samples, noise=noise, random_state=_seed(rng))
    return X.astype(np.float32), y.astype(np.int64)


def digits():
    """8x8 handwritten digits (1,797 images), pixels scaled to [0, 1]: X (1797, 64), y (1797,)."""
    data = _sk().load_digits()
    return (data.data / 16.0).astype(np.float32), data.target.astype(np.int64)


def digits_transfer_split(*, n_target_labels_per_class: int = 10, source_test_fraction: float = 0.25,
                          target_test_fraction: float = 0.5, flat: bool = False, rng=None) -> dict:
    r"""The digits split for transfer learning: a source task on classes 0-4, a target task on 5-9.

    The 1,797 images of :func:`digits` are split by class. The *source* task (digits 0-4) is
    split, stratified, into ``source_train`` and ``source_test`` (``source_test_fraction``).
    The *target* task (digits 5-9) is split, stratified, into a labelled pool and
    ``target_test`` (``target_test_fraction``); from the pool, ``n_target_labels_per_class``
    images of each target class are drawn for ``target_train`` (the few labels). Target
    labels are re-indexed :math:`y - 5 \in \{0, \dots, 4\}`, so both tasks are 5-class
    problems. No image appears in two sets. Everything is drawn from ``rng``.

    Parameters
    ----------
    n_target_labels_per_class : int >= 1, default 10
        Labelled target images per class (at most the pool's smallest class).
    source_test_fraction, target_test_fraction : float in (0, 1)
    flat : bool, default False
        False: images of shape ``(N, 8, 8, 1)`` (channels-last, as ``keras.layers.Conv2D``
        and ``nnlib.layers.Conv2D`` take them); True: ``(N, 64)``.
    rng : numpy.random.Generator, optional

    Returns
    -------
    dict with keys ``"source_train"``, ``"source_test"``, ``"target_train"``,
    ``"target_test"``, each a pair ``(x, y)``: x float32 in [0, 1], y int64 in {0, ..., 4}.

    Notes
    -----
    The splits use scikit-learn's ``train_test_split(stratify=...)`` with a ``random_state``
    drawn from ``rng``. Used in chapter 33.
    """
    n_labels = positive_int(n_target_labels_per_class, "n_target_labels_per_class")
    source_test_fraction = fraction(source_test_fraction, "source_test_fraction")
    target_test_fraction = fraction(target_test_fraction, "target_test_fraction")
    for name, value in (("source_test_fraction", source_test_fraction), ("target_test_fraction", target_test_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"{name} expected a number in (0, 1). Received: {name}={value}")
    flat = flag(flat, "flat")
    rng = generator(rng)
    from sklearn.model_selection import train_test_split

    x, y = digits()
    if not flat:
        x = x.reshape(-1, 8, 8, 1)
    source, target = y < 5, y >= 5
    xs_train, xs_test, ys_train, ys_test = train_test_split(
        x[source], y[source], test_size=source_test_fraction, stratify=y[source], random_state=_seed(rng))
    xt_pool, xt_test, yt_pool, yt_test = train_test_split(
        x[target], y[target] - 5, test_size=target_test_fraction, stratify=y[target], random_state=_seed(rng))
    smallest = int(np.bincount(yt_pool).min())
    if n_labels > smallest:
        raise ValueError(
            f"n_target_labels_per_class expected at most {smallest} (the smallest target class in the labelled pool). "
            f"Received: n_target_labels_per_class={n_labels}")
    chosen = np.concatenate([rng.choice(np.flatnonzero(yt_pool == label), size=n_labels, replace=False) for label in range(5)])
    chosen = rng.permutation(chosen)
    return {"source_train": (xs_train, ys_train), "source_test": (xs_test, ys_test),
            "target_train": (xt_pool[chosen], yt_pool[chosen]), "target_test": (xt_test, yt_test)}


def iris():
    """Fisher's iris: X (150, 4), y (150,) in {0, 1, 2}."""
    data = _sk().load_iris()
    return data.data.astype(np.float32), data.target.astype(np.int64)


def breast_cancer():
    """Wisconsin breast cancer: X (569, 30) unscaled, y (569,) in {0, 1}."""
    data = _sk().load_breast_cancer()
    return data.data.astype(np.float32), data.target.astype(np.int64)


def wine():
    """Wine recognition: X (178, 13) unscaled, y (178,) in {0, 1, 2}."""
    data = _sk().load_wine()
    return data.data.astype(np.float32), data.target.astype(np.int64)


def diabetes():
    """Diabetes progression (regression): X (442, 10) as scikit-learn scales it, y (442,) float32."""
    data = _sk().load_diabetes()
    return data.data.astype(np.float32), data.target.astype(np.float32)


# --- a generated sentiment corpus with negation (chapter 38) ------------------------------

from nnlib._validation import fraction  # noqa: E402  (kept here so this section stays self-contained)

POSITIVE_WORDS = ("good", "great", "fun", "exciting", "lovely", "brilliant")
NEGATIVE_WORDS = ("bad", "awful", "boring", "dull", "poor", "terrible")
NEGATORS = ("not", "never")
_SUBJECTS = ("film", "movie", "plot", "story", "cast", "ending", "acting")
_DETERMINERS = ("the", "this")
_VERBS = ("was", "is", "seemed")
_ADVERBS = ("really", "very", "quite", "truly")
_CONJUNCTIONS = ("but", "and")
PAD_TOKEN, OOV_TOKEN = "", "[UNK]"  # ids 0 and 1, as in keras.layers.TextVectorization
_PUNCTUATION = str.maketrans("", "", "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'")


def sentiment_corpus(n_samples: int = 1000, *, negated_fraction: float = 0.5, rng=None):
    """Short reviews with a sentiment label, half of them negated, generated from ``rng``.

    Two kinds of sentence:

    - *plain*: ``"the film was really good"``, label = the adjective's polarity;
    - *negated*: one positive and one negative adjective, one of them negated, the two
      clauses in random order: ``"the plot was not good but really bad"`` (0),
      ``"the plot was really good and never bad"`` (1). The label is the polarity of the
      adjective that is *not* negated.

    A negated sentence's bag of words (one positive adjective, one negative adjective, one
    negator, ...) has the same distribution under both labels: which adjective the negator
    stands before is the only clue. Any model of word counts alone is at chance (50 %) on
    the negated sentences, whatever its capacity; a model that reads the order can be right.

    Parameters
    ----------
    n_samples : int
    negated_fraction : float in [0, 1]
        Expected share of negated sentences (each drawn independently).
    rng : numpy.random.Generator

    Returns
    -------
    sentences : list of str (lower case, words separated by single spaces)
    labels : ndarray (n_samples,), int64, 1 = positive (each label with probability 1/2)
    negated : ndarray (n_samples,), bool
    """
    n_samples = positive_int(n_samples, "n_samples")
    negated_fraction = fraction(negated_fraction, "negated_fraction")
    rng = generator(rng)
    labels = rng.integers(0, 2, size=n_samples).astype(np.int64)
    negated = rng.random(n_samples) < negated_fraction

    def pick(words):
        return words[int(rng.integers(len(words)))]

    sentences = []
    for label, is_negated in zip(labels, negated):
        head = [pick(_DETERMINERS), pick(_SUBJECTS), pick(_VERBS)]
        kept_words, flipped_words = (POSITIVE_WORDS, NEGATIVE_WORDS) if label == 1 else (NEGATIVE_WORDS, POSITIVE_WORDS)
        if not is_negated:
            sentences.append(" ".join(head + [pick(_ADVERBS), pick(kept_words)]))
            continue
        kept = [pick(_ADVERBS), pick(kept_words)]
        flipped = [pick(NEGATORS), pick(flipped_words)]
        first, second = (kept, flipped) if rng.random() < 0.5 else (flipped, kept)
        sentences.append(" ".join(head + first + [pick(_CONJUNCTIONS)] + second))
    return sentences, labels, negated


def sentiment_label(sentence: str) -> int:
    """The rule that labels :func:`sentiment_corpus`: polarity of the adjective not preceded by a negator.

    Refuses sentences with no un-negated sentiment word or with un-negated words of both polarities.
    """
    if not isinstance(sentence, str):
        raise TypeError(f"sentence expected a string. Received: {type(sentence).__name__}")
    tokens = tokenize(sentence)
    polarities = set()
    for index, token in enumerate(tokens):
        if token in POSITIVE_WORDS or token in NEGATIVE_WORDS:
            positive = token in POSITIVE_WORDS
            if index > 0 and tokens[index - 1] in NEGATORS:
                continue
            polarities.add(int(positive))
    if len(polarities) != 1:
        raise ValueError(f"sentiment_label expected exactly one un-negated polarity. Received: sentence={sentence!r}")
    return polarities.pop()


def tokenize(sentence: str) -> list[str]:
    """Lower-case, strip punctuation, split on whitespace (``TextVectorization``'s default rule)."""
    if not isinstance(sentence, str):
        raise TypeError(f"sentence expected a string. Received: {type(sentence).__name__}")
    return sentence.lower().translate(_PUNCTUATION).split()


def _sentence_list(sentences, name="sentences"):
    if isinstance(sentences, str) or not isinstance(sentences, (list, tuple)):
        raise TypeError(f"{name} expected a list of strings. Received: {type(sentences).__name__}")
    if not sentences:
        raise ValueError(f"{name} expected a non-empty list of strings. Received: an empty {type(sentences).__name__}")
    bad = [type(item).__name__ for item in sentences if not isinstance(item, str)]
    if bad:
        raise TypeError(f"{name} expected a list of strings. Received: an item of type {bad[0]}")
    return sentences


def build_vocabulary(sentences, *, max_tokens: int | None = None) -> list[str]:
    """Vocabulary list: ``""`` (padding, id 0), ``"[UNK]"`` (out of vocabulary, id 1), then the
    tokens by decreasing count, ties alphabetically.

    Like ``keras.layers.TextVectorization(max_tokens=...).adapt(sentences).get_vocabulary()``:
    ``max_tokens`` counts the two special entries.
    """
    sentences = _sentence_list(sentences)
    if max_tokens is not None:
        max_tokens = positive_int(max_tokens, "max_tokens")
        if max_tokens < 3:
            raise ValueError(f"max_tokens expected at least 3 (padding, [UNK] and one word). Received: max_tokens={max_tokens}")
    counts: dict[str, int] = {}
    for sentence in sentences:
        for token in tokenize(sentence):
            counts[token] = counts.get(token, 0) + 1
    words = sorted(counts, key=lambda token: (-counts[token], token))
    if max_tokens is not None:
        words = words[: max_tokens - 2]
    return [PAD_TOKEN, OOV_TOKEN] + words


def _vocabulary(vocabulary):
    if not isinstance(vocabulary, (list, tuple)) or len(vocabulary) < 2 or list(vocabulary[:2]) != [PAD_TOKEN, OOV_TOKEN]:
        received = type(vocabulary).__name__ if not isinstance(vocabulary, (list, tuple)) else repr(list(vocabulary[:2]))
        raise ValueError(f"vocabulary expected a list starting with '' (padding) and '[UNK]' (build_vocabulary). Received: {received}")
    return vocabulary


def encode(sentences, vocabulary, *, max_length: int | None = None) -> np.ndarray:
    """Integer ids (n, max_length), int64: padded with 0 after the words, truncated at the end.

    Unknown words get id 1. ``max_length`` defaults to the longest sentence. Equal to
    ``TextVectorization(vocabulary=vocabulary[2:], output_sequence_length=max_length)``.
    """
    sentences = _sentence_list(sentences)
    vocabulary = _vocabulary(vocabulary)
    index = {token: position for position, token in enumerate(vocabulary)}
    tokens = [tokenize(sentence) for sentence in sentences]
    if max_length is None:
        max_length = max(1, max(len(words) for words in tokens))
    max_length = positive_int(max_length, "max_length")
    ids = np.zeros((len(sentences), max_length), dtype=np.int64)
    for row, words in enumerate(tokens):
        codes = [index.get(word, 1) for word in words[:max_length]]
        ids[row, : len(codes)] = codes
    return ids


def decode(ids, vocabulary) -> list[str]:
    """Sentences back from ids (padding dropped, id 1 shown as ``[UNK]``)."""
    vocabulary = _vocabulary(vocabulary)
    array = np.asarray(ids) if not isinstance(ids, (str, bytes)) else np.asarray([])
    if array.ndim != 2 or array.dtype.kind not in "iu":
        raise TypeError(f"ids expected a 2-D array of integers. Received: shape={array.shape}, dtype={array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= len(vocabulary)):
        raise ValueError(f"ids expected integers in [0, {len(vocabulary)}). Received: ids in [{array.min()}, {array.max()}]")
    return [" ".join(vocabulary[code] for code in row if code != 0) for row in array]
