"""Token F1 and compression ratio for sentence compression."""

import collections
import re

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _tokens(text):
    return _TOKEN.findall(text)


def _check_aligned(predictions, references, names=("predictions", "references")):
    if isinstance(predictions, str) or isinstance(references, str):
        raise ValueError(f"Expected {names[0]} and {names[1]} to be lists of strings.")
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(
            f"Expected as many {names[1]} as {names[0]}: got {len(predictions)} "
            f"and {len(references)}."
        )
    if not predictions:
        raise ValueError(f"Expected at least one entry in {names[0]}.")
    return predictions, references


def token_f1(predictions, references):
    """Mean per-sentence token F1 between predicted and gold compressions.

    Tokens are words and punctuation marks (`\\w+` or one non-space
    symbol); precision and recall count shared tokens as multisets, and the
    F1 of each sentence is averaged over the corpus (Filippova et al. 2015).
    Two empty texts have F1 1.0; one empty text gives 0.0.

    Args:
        predictions: list of predicted compressions.
        references: list of gold compressions.

    Returns:
        float in [0, 1].

    Example:

    >>> round(token_f1(["the cat sat"], ["the cat sat down"]), 4)  # 2PR / (P + R)
    0.8571
    """
    predictions, references = _check_aligned(predictions, references)
    total = 0.0
    for prediction, reference in zip(predictions, references):
        predicted, gold = _tokens(prediction), _tokens(reference)
        if not predicted and not gold:
            total += 1.0
            continue
        common = sum((collections.Counter(predicted) & collections.Counter(gold)).values())
        if common == 0:
            continue
        precision, recall = common / len(predicted), common / len(gold)
        total += 2 * precision * recall / (precision + recall)
    return total / len(predictions)


def compression_ratio(compressions, sentences):
    """Mean per-sentence character compression ratio `len(compression) / len(sentence)`.

    Args:
        compressions: list of compressed sentences.
        sentences: list of the original sentences (non-empty).

    Returns:
        float; the gold compressions of the data set give about 0.43.
    """
    compressions, sentences = _check_aligned(
        compressions, sentences, ("compressions", "sentences")
    )
    for index, sentence in enumerate(sentences):
        if not sentence:
            raise ValueError(f"sentences[{index}] is empty; expected the original text.")
    return sum(len(c) / len(s) for c, s in zip(compressions, sentences)) / len(sentences)
