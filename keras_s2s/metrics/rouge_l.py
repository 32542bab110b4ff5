"""ROUGE-L through the rouge-score package."""


def rouge_l(predictions, references, use_stemmer=False):
    """Mean ROUGE-L F-measure (percent), with one or several references.

    Uses `rouge_score.rouge_scorer.RougeScorer(["rougeL"])` (its tokenizer
    lowercases and keeps alphanumeric tokens); with several references a
    prediction takes its best-scoring one (`score_multi`).

    Args:
        predictions: list of strings.
        references: one string, or one list of strings, per prediction.
        use_stemmer: apply the Porter stemmer (English).

    Returns:
        float in 0-100.

    Example:

    >>> round(rouge_l(["the cat sat on the mat"], ["the cat was on the mat"]), 2)
    83.33
    """
    from rouge_score import rouge_scorer

    if isinstance(predictions, str) or isinstance(references, str):
        raise ValueError("Expected predictions and references to be lists.")
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(
            "Expected one references entry per prediction: got "
            f"{len(predictions)} predictions and {len(references)} references."
        )
    if not predictions:
        raise ValueError("Expected at least one prediction.")
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=use_stemmer)
    total = 0.0
    for prediction, refs in zip(predictions, references):
        refs = [refs] if isinstance(refs, str) else list(refs)
        total += scorer.score_multi(refs, prediction)["rougeL"].fmeasure
    return 100.0 * total / len(predictions)
