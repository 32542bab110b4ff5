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
    "e2e_bleu": (
        "BLEU, E2E protocol: one output per distinct MR against all its "
        "human references, lowercased, 13a tokenization (sacreBLEU)"
    ),
    "rouge_l": "ROUGE-L F-measure (rouge-score), best over the references, percent",
    "slot_coverage": (
        "percent of the input's slot values (all slots but familyFriendly) "
        "found word for word in the output; slot error rate = 100 - coverage"
    ),
    "wer": (
        "word error rate, percent: a word is right if it equals any reference; "
        "CMUdict words that have an entry in the training split are not scored "
        "(dev was cut per entry, test per word)"
    ),
    "per": "phoneme error rate, percent: edits to the closest reference / its length",
    "token_f1": "mean per-sentence token F1 against the gold compression (0-1)",
    "compression_ratio": "mean characters(output) / characters(sentence)",
}
# Metrics where a lower value is better (model selection minimizes them).
LOWER_IS_BETTER = frozenset({"wer", "per"})
# Metrics that are reported but do not rank outputs (a ratio).
NOT_A_QUALITY = frozenset({"compression_ratio"})
METRICS = tuple(METRIC_DESCRIPTIONS)
# Metrics on a 0-1 scale: recorded and printed with 4 decimals (others 2).
FRACTION_METRICS = frozenset({"token_f1", "compression_ratio"})


def score_digits(metric):
    """Decimals a score of `metric` is recorded and printed with."""
    return 4 if metric in FRACTION_METRICS else 2


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
    hypotheses,
    references,
    metric,
    language=None,
    split=None,
    tokenized_references=None,
    sources=None,
):
    """Scores output strings with one of the recipe metrics.

    Args:
        hypotheses: list of output strings.
        references: list of raw (cased, detokenized) reference strings,
            or of lists of acceptable references (E2E, CMUdict).
        metric: one of `METRICS` (see `METRIC_DESCRIPTIONS`).
        language: the target language (for `"multi30k_bleu"`).
        split: the Multi30k split (for `"multi30k_bleu"` without
            `tokenized_references`).
        tokenized_references: the official tokenized references (for
            `"multi30k_bleu"`), e.g. a prefix of
            `keras_s2s.datasets.load_multi30k_references(split, language)`.
        sources: the inputs (for `"slot_coverage"`: the MRs; for
            `"compression_ratio"`: the sentences).

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
    if metric == "e2e_bleu":
        return metrics.e2e_bleu(hypotheses, references)
    if metric == "rouge_l":
        return metrics.MetricResult(
            metrics.rouge_l(hypotheses, references), "rouge-score rougeL fmeasure"
        )
    if metric in ("wer", "per"):
        rates = metrics.g2p_error_rates(hypotheses, references)
        return metrics.MetricResult(rates[metric], f"{metric}, any reference")
    if metric == "token_f1":
        return metrics.MetricResult(
            metrics.token_f1(hypotheses, references), "token F1, mean per sentence"
        )
    if metric in ("slot_coverage", "compression_ratio"):
        if sources is None:
            raise ValueError(f"The metric {metric!r} needs the sources.")
        if metric == "slot_coverage":
            return metrics.MetricResult(
                metrics.slot_value_coverage(hypotheses, sources),
                "slot values found verbatim, all slots but familyFriendly",
            )
        return metrics.MetricResult(
            metrics.compression_ratio(hypotheses, sources), "characters, mean per sentence"
        )
    raise ValueError(
        f"Expected metric in {{{', '.join(repr(m) for m in METRICS)}}}. "
        f"Received: metric={metric!r}"
    )
