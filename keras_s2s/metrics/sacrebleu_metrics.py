"""Corpus BLEU and chrF through sacreBLEU."""

from keras_s2s.metrics.metric_result import MetricResult


def _check_hypotheses(hypotheses):
    if isinstance(hypotheses, str):
        raise ValueError(
            "Expected hypotheses to be a list of strings, not a single string."
        )
    hypotheses = list(hypotheses)
    for index, hypothesis in enumerate(hypotheses):
        if not isinstance(hypothesis, str):
            raise ValueError(
                f"Expected hypotheses to contain strings. hypotheses[{index}] "
                f"is {type(hypothesis).__name__}."
            )
    return hypotheses


def reference_streams(references, num_hypotheses):
    """Turns per-hypothesis references into sacreBLEU's reference streams.

    Args:
        references: one string per hypothesis, or one list of strings per
            hypothesis (any number each, at least one).
        num_hypotheses: int.

    Returns:
        A list of streams (one per reference slot), each `num_hypotheses`
        long, with `None` where a hypothesis has fewer references.
    """
    if isinstance(references, str):
        raise ValueError("Expected references to be a list, not a single string.")
    references = list(references)
    if len(references) != num_hypotheses:
        raise ValueError(
            f"Expected one entry of references per hypothesis: got "
            f"{num_hypotheses} hypotheses and {len(references)} references."
        )
    grouped = [[r] if isinstance(r, str) else list(r) for r in references]
    for index, refs in enumerate(grouped):
        if not refs or not all(isinstance(r, str) for r in refs):
            raise ValueError(
                f"Expected references[{index}] to be a string or a non-empty "
                f"list of strings. Received: {references[index]!r}"
            )
    slots = max(len(refs) for refs in grouped) if grouped else 1
    return [
        [refs[slot] if slot < len(refs) else None for refs in grouped]
        for slot in range(slots)
    ]


def corpus_bleu(
    hypotheses,
    references,
    tokenize="13a",
    lowercase=False,
    smooth_method="exp",
    force=False,
):
    """Corpus BLEU with sacreBLEU.

    Args:
        hypotheses: list of system output strings.
        references: one reference string per hypothesis, or one list of
            reference strings per hypothesis (the lists may differ in
            length: multi-reference BLEU).
        tokenize: sacreBLEU tokenizer: `"13a"` (default, mteval-v13a),
            `"intl"`, `"char"`, `"none"` (already tokenized text), ...
        lowercase: case-insensitive BLEU.
        smooth_method: `"exp"`, `"floor"`, `"add-k"` or `"none"`.
        force: silence sacreBLEU's warning about tokenized-looking input
            (expected with `tokenize="none"`).

    Returns:
        `MetricResult(score, signature)`, score in 0-100.

    Example:

    >>> result = corpus_bleu(
    ...     ["The dog bit the man.", "It wasn't surprising."],
    ...     [["The dog bit the man."], ["It was not unexpected.", "No one was surprised."]],
    ... )
    >>> round(result.score, 2), result.signature.split("|version")[0]
    (63.98, 'nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp')
    """
    from sacrebleu.metrics import BLEU

    hypotheses = _check_hypotheses(hypotheses)
    streams = reference_streams(references, len(hypotheses))
    metric = BLEU(
        tokenize=tokenize,
        lowercase=lowercase,
        smooth_method=smooth_method,
        force=force,
    )
    score = metric.corpus_score(hypotheses, streams)
    return MetricResult(float(score.score), str(metric.get_signature()))


def corpus_chrf(
    hypotheses,
    references,
    char_order=6,
    word_order=0,
    beta=2,
    lowercase=False,
):
    """Corpus chrF (or chrF++ with `word_order=2`) with sacreBLEU.

    Args:
        hypotheses: list of system output strings.
        references: one string, or one list of strings, per hypothesis.
        char_order: character n-gram order.
        word_order: word n-gram order (2 gives chrF++).
        beta: recall weight.
        lowercase: case-insensitive scoring.

    Returns:
        `MetricResult(score, signature)`, score in 0-100.

    Example:

    >>> corpus_chrf(["The dog bit the man."], ["The dog bit the man."]).score
    100.0
    """
    from sacrebleu.metrics import CHRF

    hypotheses = _check_hypotheses(hypotheses)
    streams = reference_streams(references, len(hypotheses))
    metric = CHRF(
        char_order=char_order, word_order=word_order, beta=beta, lowercase=lowercase
    )
    score = metric.corpus_score(hypotheses, streams)
    return MetricResult(float(score.score), str(metric.get_signature()))
