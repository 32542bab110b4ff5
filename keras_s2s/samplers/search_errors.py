"""Search errors of beam search, measured against exact search."""

import numpy as np
from keras import ops
from keras import tree

from keras_s2s.samplers.beam_sampler import BeamSampler
from keras_s2s.samplers.exact_sampler import ExactSampler


def search_error_report(
    model,
    inputs,
    stop_token_ids,
    num_beams=5,
    length_penalty=0.0,
    min_length=0,
    max_length_a=None,
    max_length_b=None,
    max_expansions=10000,
    batch_size=64,
    tolerance=1e-4,
):
    """Compares beam search with exact search over a data set.

    Both searches use the same score, `log P(Y) / lp(Y)` (see
    `ExactSampler`), and the same output constraints. A *search error* is an
    input where beam search's output scores below the exact one (by more
    than `tolerance`): the model prefers another output that beam search
    missed. An *empty* output is one whose first generated token is a stop
    token.

    Args:
        model: a `keras_s2s.models.Seq2SeqLM`.
        inputs: a dict of token ids as taken by `Seq2SeqLM.generate` without
            a preprocessor (`"encoder_token_ids"`, `"encoder_padding_mask"`,
            `"decoder_token_ids"` `(num_examples, max_length)`,
            `"decoder_padding_mask"`), or, for a model with a preprocessor, a
            list of source strings.
        stop_token_ids: list of ints.
        num_beams: int, the beam width compared (and exact search's initial
            bound).
        length_penalty, min_length, max_length_a, max_length_b: as in
            `BeamSampler`, shared by both searches.
        max_expansions: int, exact search's budget per example.
        batch_size: int, examples per generation call.
        tolerance: float, score differences up to this count as equal.

    Returns:
        A dict of floats: `"num_examples"`, `"search_error_rate"` (share of
        inputs where beam scores below exact), `"mean_score_gap"` (mean of
        exact minus beam score, >= 0), `"exact_empty_rate"` and
        `"beam_empty_rate"` (shares of empty outputs), and
        `"proven_optimal_rate"` (share of exact results proven optimal
        within the budget).

    Example:
    >>> backbone = keras_s2s.models.Seq2SeqBackbone(
    ...     encoder_vocabulary_size=6, embedding_dim=8, hidden_dim=16)
    >>> model = keras_s2s.models.Seq2SeqLM(backbone)
    >>> report = search_error_report(model, {
    ...     "encoder_token_ids": np.array([[4, 5, 3, 2]]),
    ...     "encoder_padding_mask": np.array([[1, 1, 1, 1]], dtype=bool),
    ...     "decoder_token_ids": np.array([[1, 0, 0, 0]]),
    ...     "decoder_padding_mask": np.array([[1, 0, 0, 0]], dtype=bool)},
    ...     stop_token_ids=[2], num_beams=2)
    >>> report["search_error_rate"] >= 0.0
    True
    """
    if isinstance(inputs, dict):
        data = {k: np.asarray(ops.convert_to_numpy(v)) for k, v in inputs.items()}
    else:
        if model.preprocessor is None:
            raise ValueError(
                "Expected `inputs` to be a dict of token ids for a model "
                f"without a preprocessor. Received: {type(inputs).__name__}"
            )
        data = tree.map_structure(
            lambda x: np.asarray(ops.convert_to_numpy(x)),
            model.preprocessor.generate_preprocess(list(inputs)),
        )
    stop_token_ids = tuple(int(t) for t in stop_token_ids)
    shared = dict(
        length_penalty=length_penalty,
        min_length=min_length,
        max_length_a=max_length_a,
        max_length_b=max_length_b,
    )
    beam = BeamSampler(num_beams=num_beams, return_all_beams=True, **shared)
    exact = ExactSampler(
        beam_size=num_beams, max_expansions=max_expansions, **shared
    )
    num_examples = len(data["decoder_token_ids"])
    max_length = data["decoder_token_ids"].shape[1]
    # The first generated position of each row: right after its prompt.
    first = np.sum(data["decoder_padding_mask"].astype(bool), axis=-1)
    first = np.minimum(first, max_length - 1)
    rows = np.arange(num_examples)
    beam_out = _generate(model, beam, data, stop_token_ids, batch_size)
    exact_out = _generate(model, exact, data, stop_token_ids, batch_size)
    beam_ids = beam_out["decoder_token_ids"][:, 0]
    beam_scores = beam_out["scores"][:, 0]
    exact_ids = exact_out["decoder_token_ids"]
    exact_scores = exact_out["scores"]
    proven = exact_out["proven_optimal"]
    beam_empty = np.isin(beam_ids[rows, first], stop_token_ids)
    exact_empty = np.isin(exact_ids[rows, first], stop_token_ids)
    gap = np.maximum(
        exact_scores.astype(np.float64) - beam_scores.astype(np.float64), 0.0
    )
    return {
        "num_examples": float(num_examples),
        "search_error_rate": float(np.mean(gap > tolerance)),
        "mean_score_gap": float(np.mean(gap)),
        "exact_empty_rate": float(np.mean(exact_empty)),
        "beam_empty_rate": float(np.mean(beam_empty)),
        "proven_optimal_rate": float(np.mean(proven)),
    }


def _generate(model, sampler, data, stop_token_ids, batch_size):
    """Runs `model`'s generation function with `sampler` batch by batch.

    The function is built once for all batches (compiled unless the sampler
    runs eagerly); the model's own sampler is restored afterwards.

    Returns:
        A dict of NumPy arrays, the batches' outputs concatenated.
    """
    saved = (model.sampler, model.generate_function, model.run_eagerly)
    outputs = []
    try:
        model.sampler = sampler
        model.generate_function = None
        model.run_eagerly = saved[2] or getattr(sampler, "run_eagerly", False)
        generate = model.make_generate_function()
        num_examples = len(data["decoder_token_ids"])
        for begin in range(0, num_examples, batch_size):
            batch = {k: v[begin : begin + batch_size] for k, v in data.items()}
            output = generate(batch, stop_token_ids=stop_token_ids)
            outputs.append(
                {k: np.asarray(ops.convert_to_numpy(v)) for k, v in output.items()}
            )
    finally:
        model.sampler, model.generate_function, model.run_eagerly = saved
    return {k: np.concatenate([o[k] for o in outputs]) for k in outputs[0]}
