"""Multi-reference BLEU for E2E NLG."""

from keras_s2s.metrics.sacrebleu_metrics import corpus_bleu


def e2e_bleu(hypotheses, references, lowercase=True):
    """Multi-reference corpus BLEU, one output per distinct MR.

    The E2E challenge scores each output against all human references of its
    MR (`keras_s2s.datasets.load_e2e_references`) with mteval-v13a, whose
    default is case-insensitive; this uses sacreBLEU's `13a` tokenizer,
    lowercased by default, which follows the same definition.

    Args:
        hypotheses: list of outputs, one per distinct MR.
        references: list of lists of reference strings, aligned with
            `hypotheses` (the lists may differ in length).
        lowercase: case-insensitive BLEU (default, as mteval-v13a).

    Returns:
        `MetricResult(score, signature)`.
    """
    return corpus_bleu(hypotheses, references, tokenize="13a", lowercase=lowercase)
