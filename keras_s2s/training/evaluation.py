"""Translating a corpus with a `Seq2SeqLM` and scoring the output."""

METRIC_DESCRIPTIONS = {
    "multi30k_bleu": (
        "BLEU, Multi30k literature protocol: hypotheses lowercased, Moses "
        "punctuation-normalized and tokenized (sacremoses), scored with "
        "sacreBLEU (tokenize=none) against the official "
        "tok/*.lc.norm.tok.* references"
    ),
    "sacrebleu": "sacreBLEU, cased, detokenized text, 13a tokenization",
    "chrf": "chrF2 (sacreBLEU), cased, detokenized text",
}


def translate(model, sources, batch_size=128, max_length=None, sampler=None):
    """Generates one output string per source string, in fixed-size batches.

    Every batch has exactly `batch_size` rows (the last one is padded with
    copies of its first source, whose outputs are dropped), so the compiled
    generation function is traced once.

    Args:
        model: a `keras_s2s.models.Seq2SeqLM` with a preprocessor.
        sources: list of source strings.
        batch_size: int, sentences per `generate()` call.
        max_length: maximum output length in tokens (including `<s>`), or
            None for the preprocessor's `decoder_sequence_length`.
        sampler: None (the compiled sampler) or a sampler name, config or
            instance for these calls only.

    Returns:
        A list of strings, `len(sources)` long.
    """
    if model.preprocessor is None:
        raise ValueError(
            "translate() needs a model with a preprocessor (strings in, "
            "strings out)."
        )
    sources = list(sources)
    outputs = []
    kwargs = {"max_length": max_length}
    if sampler is not None:
        kwargs["sampler"] = sampler
    for start in range(0, len(sources), batch_size):
        batch = sources[start : start + batch_size]
        size = len(batch)
        if len(sources) > batch_size and size < batch_size:
            batch = batch + [batch[0]] * (batch_size - size)
        generated = model.generate(batch, **kwargs)
        if isinstance(generated, str):
            generated = [generated]
        outputs.extend(str(text) for text in list(generated)[:size])
    return outputs


def score_translations(
    hypotheses, references, metric, language=None, split=None, tokenized_references=None
):
    """Scores output strings with one of the recipe metrics.

    Args:
        hypotheses: list of output strings.
        references: list of raw (cased, detokenized) reference strings.
        metric: `"multi30k_bleu"`, `"sacrebleu"` or `"chrf"` (see
            `METRIC_DESCRIPTIONS`).
        language: the target language (for `"multi30k_bleu"`).
        split: the Multi30k split (for `"multi30k_bleu"` without
            `tokenized_references`).
        tokenized_references: the official tokenized references (for
            `"multi30k_bleu"`), e.g. a prefix of
            `keras_s2s.datasets.load_multi30k_references(split, language)`.

    Returns:
        A `keras_s2s.metrics.MetricResult` `(score, signature)`.

    Example:
    >>> score_translations(["A dog runs ."], ["A dog runs ."], "chrf").score
    100.0
    """
    from keras_s2s import metrics

    if metric == "multi30k_bleu":
        return metrics.multi30k_bleu(
            hypotheses, language, split=split, references=tokenized_references
        )
    if metric == "sacrebleu":
        return metrics.corpus_bleu(hypotheses, references)
    if metric == "chrf":
        return metrics.corpus_chrf(hypotheses, references)
    raise ValueError(
        "Expected metric in {'multi30k_bleu', 'sacrebleu', 'chrf'}. "
        f"Received: metric={metric!r}"
    )
