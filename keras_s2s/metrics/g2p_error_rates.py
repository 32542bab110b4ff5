"""Word and phoneme error rates for grapheme-to-phoneme conversion."""


def edit_distance(hypothesis, reference):
    """Levenshtein distance between two sequences (unit costs).

    Example:

    >>> edit_distance("K AE T".split(), "K AH T".split())
    1
    """
    previous = list(range(len(reference) + 1))
    for i, h in enumerate(hypothesis, start=1):
        current = [i] + [0] * len(reference)
        for j, r in enumerate(reference, start=1):
            current[j] = min(
                previous[j] + 1,  # deletion
                current[j - 1] + 1,  # insertion
                previous[j - 1] + (h != r),  # substitution or match
            )
        previous = current
    return previous[-1]


def g2p_error_rates(predictions, references):
    """WER and PER of G2P predictions, with several references per word.

    A word is right if its predicted phonemes equal any of its references.
    For PER, each word is compared with its closest reference (fewest edits;
    on ties the first in order) and
    `PER = sum of edits / sum of the chosen references' lengths`.

    Args:
        predictions: list of predicted pronunciations, one per word, as
            space-separated phoneme strings (or lists of phonemes).
        references: list aligned with `predictions`; each entry a
            pronunciation or a list of pronunciations (same formats).

    Returns:
        `{"wer": float, "per": float}`, both in percent (0-100).

    Example:

    >>> rates = g2p_error_rates(
    ...     ["K AE T", "D AO G"], [["K AE T"], ["D AA G", "D AO G Z"]]
    ... )
    >>> rates["wer"], round(rates["per"], 2)  # 1 of 2 words; 1 edit / 6 phonemes
    (50.0, 16.67)
    """

    def phonemes(pronunciation):
        if isinstance(pronunciation, str):
            return pronunciation.split()
        return list(pronunciation)

    if isinstance(predictions, str):
        raise ValueError("Expected predictions to be a list, not a single string.")
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(
            "Expected one references entry per prediction: got "
            f"{len(predictions)} predictions and {len(references)} references."
        )
    if not predictions:
        raise ValueError("Expected at least one prediction.")
    wrong_words = 0
    total_edits = 0
    total_length = 0
    for index, (prediction, refs) in enumerate(zip(predictions, references)):
        if isinstance(refs, str):
            refs = [refs]
        refs = [phonemes(r) for r in refs]
        if not refs or any(not r for r in refs):
            raise ValueError(
                f"Expected references[{index}] to hold non-empty "
                f"pronunciations. Received: {references[index]!r}"
            )
        hypothesis = phonemes(prediction)
        distances = [edit_distance(hypothesis, r) for r in refs]
        best = min(range(len(refs)), key=lambda k: distances[k])
        wrong_words += distances[best] > 0
        total_edits += distances[best]
        total_length += len(refs[best])
    return {
        "wer": 100.0 * wrong_words / len(predictions),
        "per": 100.0 * total_edits / total_length,
    }
