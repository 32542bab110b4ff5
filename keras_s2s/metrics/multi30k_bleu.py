"""BLEU the way the Multi30k literature reports it."""

from keras_s2s.metrics.sacrebleu_metrics import corpus_bleu


def moses_lc_norm_tok(texts, language):
    """Lowercase -> Moses punctuation normalization -> Moses tokenization.

    The preprocessing of Multi30k's official `tok/*.lc.norm.tok.*` files,
    with sacremoses (`MosesPunctNormalizer(lang)`, then
    `MosesTokenizer(lang).tokenize(..., escape=True)`, which writes `'` and
    `"` as `&apos;` and `&quot;`). Applied to the raw test2016 references it
    reproduces the official files line for line (1,000 / 1,000 for en, de
    and cs, 999 / 1,000 for fr).

    Args:
        texts: list of strings.
        language: a language code (`"en"`, `"de"`, `"fr"`, `"cs"`, ...).

    Returns:
        A list of tokenized strings.

    Example:

    >>> moses_lc_norm_tok(["It's a dog, isn't it?"], "en")
    ['it &apos;s a dog , isn &apos;t it ?']
    """
    from sacremoses import MosesPunctNormalizer
    from sacremoses import MosesTokenizer

    normalizer = MosesPunctNormalizer(lang=language)
    tokenizer = MosesTokenizer(lang=language)
    return [
        tokenizer.tokenize(
            normalizer.normalize(text.lower()), escape=True, return_str=True
        )
        for text in texts
    ]


def multi30k_bleu(
    hypotheses,
    language,
    split="test_2016_flickr",
    references=None,
    data_dir=None,
):
    """Multi30k BLEU: tokenized, lowercased, against the official references.

    The hypotheses (plain detokenized text) go through `moses_lc_norm_tok`
    and are scored with sacreBLEU `tokenize="none"` against the official
    `tok/{split}.lc.norm.tok.{language}` references, the protocol of the
    WMT16-18 multimodal papers (multi-bleu.perl on tokenized lowercased
    text).

    Args:
        hypotheses: list of system outputs, one per sentence of `split`.
        language: the target language code.
        split: `"test_2016_flickr"` or `"val"`.
        references: already tokenized references to use instead of the
            official files (e.g. `moses_lc_norm_tok(raw_references)`).
        data_dir: root data directory for the official references.

    Returns:
        `MetricResult(score, signature)`; the signature reads `tok:none`.
    """
    if references is None:
        from keras_s2s.datasets.multi30k import load_multi30k_references

        references = load_multi30k_references(split, language, data_dir=data_dir)
    hypotheses = moses_lc_norm_tok(hypotheses, language)
    return corpus_bleu(hypotheses, references, tokenize="none", force=True)
