import warnings

import keras
import keras_hub
import numpy as np
from keras import ops
from keras import tree

from keras_s2s.samplers import sampler_utils as utils
from keras_s2s.utils.argument_validation import check_float_at_least
from keras_s2s.utils.argument_validation import check_int_at_least
from keras_s2s.samplers.beam_sampler import BeamSampler


@keras.saving.register_keras_serializable(package="keras_s2s")
class ExactSampler(keras_hub.samplers.Sampler):
    """Exact (optimal) decoding by depth-first branch-and-bound.

    Finds, for each example, the output with the highest score under the
    model among all outputs the prompt allows:

        s(Y) = log P(Y) / lp(Y),   lp(Y) = ((5 + |Y|) / 6) ** length_penalty

    with `log P(Y)` the sum of token log-probabilities (at `temperature`) and
    `|Y|` the number of tokens written from position `index` on, the stop
    token included. This is `BeamSampler`'s final score without the coverage
    term (the coverage term rises as an output covers more of the source, so
    it would break the pruning bound below; n-gram blocking is not offered
    either).
    An output is complete when it emits a stop token or reaches the
    maximum number of tokens (the prompt's free positions, or the
    `max_length_a`/`max_length_b` limit, as in `BeamSampler`).

    The search starts from the `BeamSampler(num_beams=beam_size)` result as
    the initial lower bound, then walks the prefix tree depth first, most
    probable child first. Log-probabilities only decrease as a prefix grows,
    so a prefix with cumulative log-probability `p` can reach at most
    `p / max(lp(n + 1), lp(n_max))`; it is pruned when that is not above the
    best complete output found so far. When every branch is explored the
    result is proven optimal. After `max_expansions` calls to `next` for an
    example the search stops with the best output found, flags it
    `proven_optimal=False` and warns.

    This sampler runs **eagerly, per example, in Python** over `next` (one
    call of batch size 1 per expanded prefix); `Seq2SeqLM.generate` runs it
    outside `tf.function`/`jax.jit` (the class attribute `run_eagerly` is
    True). Cost grows with the number of prefixes that cannot be pruned: use
    it on small models or short outputs, or to measure search errors
    (`search_error_report`).

    Args:
        length_penalty: float >= 0, the GNMT `alpha` (0: pure log-probability).
        min_length: int >= 0. Outputs have at least this many tokens before
            the stop token.
        max_length_a: float >= 0 or None. See `BeamSampler`.
        max_length_b: float >= 0 or None. See `BeamSampler`.
        beam_size: int >= 1. Beam width of the initial lower bound.
        max_expansions: int >= 1. Budget of `next` calls per example.
        temperature: float > 0. Logits are divided by it before the softmax.

    Call arguments:
        Those of `BeamSampler`; `prompt`, `cache` and `index` must be
        concrete (eager) values.

    Returns:
        A dict: `"token_ids"` `(batch_size, max_length)`, `"scores"`
        `(batch_size,)` float32, `"proven_optimal"` `(batch_size,)` bool and
        `"num_expansions"` `(batch_size,)` int32.

    Example:
    >>> backbone = keras_s2s.models.Seq2SeqBackbone(
    ...     encoder_vocabulary_size=6, embedding_dim=8, hidden_dim=16)
    >>> model = keras_s2s.models.Seq2SeqLM(backbone)
    >>> out = model.generate({
    ...     "encoder_token_ids": np.array([[4, 5, 3, 2]]),
    ...     "encoder_padding_mask": np.array([[1, 1, 1, 1]], dtype=bool),
    ...     "decoder_token_ids": np.array([[1, 0, 0, 0]]),
    ...     "decoder_padding_mask": np.array([[1, 0, 0, 0]], dtype=bool)},
    ...     stop_token_ids=[2], sampler=ExactSampler(max_expansions=500))
    >>> bool(out["proven_optimal"][0])
    True
    """

    # Read by `Seq2SeqLM.generate`: run outside tf.function / jax.jit.
    run_eagerly = True

    def __init__(
        self,
        length_penalty=0.0,
        min_length=0,
        max_length_a=None,
        max_length_b=None,
        beam_size=5,
        max_expansions=10000,
        temperature=1.0,
        **kwargs,
    ):
        check_float_at_least("length_penalty", length_penalty, 0.0)
        check_int_at_least("min_length", min_length, 0)
        check_float_at_least("max_length_a", max_length_a, 0.0, True)
        check_float_at_least("max_length_b", max_length_b, 0.0, True)
        check_int_at_least("beam_size", beam_size, 1)
        check_int_at_least("max_expansions", max_expansions, 1)
        utils.check_temperature(temperature)
        super().__init__(temperature=temperature, **kwargs)
        self.length_penalty = length_penalty
        self.min_length = min_length
        self.max_length_a = max_length_a
        self.max_length_b = max_length_b
        self.beam_size = beam_size
        self.max_expansions = max_expansions

    def __call__(
        self,
        next,
        prompt,
        cache=None,
        index=0,
        mask=None,
        stop_token_ids=None,
        hidden_states=None,
        model=None,
        source_mask=None,
        **kwargs,
    ):
        try:
            prompt_np = np.asarray(ops.convert_to_numpy(prompt))
            start = int(ops.convert_to_numpy(index))
        except Exception as error:  # symbolic tensors under tf.function/jit
            raise ValueError(
                "ExactSampler runs eagerly and needs concrete inputs; it was "
                "called inside a compiled function. Use Seq2SeqLM.generate "
                "(which runs it eagerly) or call it outside tf.function / "
                "jax.jit."
            ) from error
        stop_ids = tuple(int(t) for t in stop_token_ids) if stop_token_ids else ()
        batch_size, max_length = prompt_np.shape
        if mask is None:
            mask_np = np.zeros_like(prompt_np, dtype=bool)
        else:
            mask_np = np.asarray(ops.convert_to_numpy(mask)).astype(bool)

        # The beam result is the initial lower bound.
        beam = BeamSampler(
            num_beams=self.beam_size,
            return_all_beams=True,
            length_penalty=self.length_penalty,
            min_length=self.min_length,
            max_length_a=self.max_length_a,
            max_length_b=self.max_length_b,
            temperature=self.temperature,
        )
        beam_ids, beam_scores = beam(
            next,
            prompt,
            cache=cache,
            index=start,
            mask=mask,
            stop_token_ids=stop_ids or None,
            model=model,
            source_mask=source_mask,
        )
        beam_ids = np.asarray(ops.convert_to_numpy(beam_ids))[:, 0]
        beam_scores = np.asarray(ops.convert_to_numpy(beam_scores))[:, 0]

        # n_max: the most output tokens per example; force_stop_at: the
        # length at which a stop token is forced (length limit), or 0.
        n_max = np.full((batch_size,), max_length - start, dtype=np.int64)
        force_stop_at = np.zeros((batch_size,), dtype=np.int64)
        if self.max_length_a is not None or self.max_length_b is not None:
            limit = np.asarray(
                ops.convert_to_numpy(
                    utils.relative_length_limit(
                        source_mask, self.max_length_a, self.max_length_b,
                        batch_size,
                    )
                )
            ).astype(np.int64)
            limit = limit + (1 if stop_ids else 0)
            n_max = np.maximum(np.minimum(n_max, limit), 1)
            if stop_ids:
                force_stop_at = limit

        token_ids = np.array(prompt_np)
        scores = np.zeros((batch_size,), np.float32)
        proven = np.ones((batch_size,), bool)
        expansions = np.zeros((batch_size,), np.int32)
        for b in range(batch_size):
            row_cache = tree.map_structure(lambda x: x[b : b + 1], cache)
            best_score = float(beam_scores[b])
            if best_score <= utils.DEAD_THRESHOLD:
                best_score = None
            result = self._search(
                next,
                row_cache,
                prompt_np[b],
                mask_np[b],
                start,
                int(n_max[b]),
                int(force_stop_at[b]),
                stop_ids,
                best_score,
                beam_ids[b],
            )
            token_ids[b], score, proven[b], expansions[b] = result
            scores[b] = utils.LARGE_NEGATIVE if score is None else score
        if not proven.all():
            warnings.warn(
                f"ExactSampler: the search budget (max_expansions="
                f"{self.max_expansions}) ran out for {int((~proven).sum())} of "
                f"{batch_size} examples; their outputs are the best found, not "
                "proven optimal (see `proven_optimal`). Raise max_expansions "
                "to search further.",
                stacklevel=2,
            )
        return {
            "token_ids": ops.convert_to_tensor(token_ids.astype(prompt_np.dtype)),
            "scores": ops.convert_to_tensor(scores),
            "proven_optimal": ops.convert_to_tensor(proven),
            "num_expansions": ops.convert_to_tensor(expansions),
        }

    def _search(self, next, cache, prompt, mask, start, n_max, force_stop_at,
                stop_ids, best_score, best_tokens):
        """Branch-and-bound for one example.

        Returns:
            `(token_ids, score, proven_optimal, num_expansions)`.
        """
        alpha = self.length_penalty
        penalty = [utils.length_penalty_value(n, alpha) for n in range(n_max + 2)]
        # high[n]: the largest penalty of an output of length in [n, n_max].
        high = [max(penalty[n], penalty[n_max]) for n in range(n_max + 2)]
        best_tokens = np.array(best_tokens)
        if n_max <= 0 or start >= len(prompt):
            return prompt, best_score, True, 0

        # Stack entries: (position, tokens, log-probability, cache, bound).
        stack = [(start, np.array(prompt), 0.0, cache, 0.0)]
        expansions = 0
        while stack:
            position, tokens, log_prob, node_cache, bound = stack.pop()
            if best_score is not None and bound <= best_score:
                continue
            if expansions >= self.max_expansions:
                return best_tokens, best_score, False, expansions
            logits, _, child_cache = next(
                ops.convert_to_tensor(tokens[None, :]), node_cache, position
            )
            expansions += 1
            logits = np.asarray(ops.convert_to_numpy(logits), np.float64)[0]
            logits = logits / self.temperature
            shifted = logits - logits.max()
            log_probs = shifted - np.log(np.exp(shifted).sum())
            n = position - start + 1  # output length once `position` is set
            allowed = np.ones_like(log_probs, dtype=bool)
            is_stop = np.zeros_like(allowed)
            is_stop[list(stop_ids)] = True
            if stop_ids and force_stop_at and n == force_stop_at:
                allowed &= is_stop
            elif stop_ids and n <= self.min_length:
                allowed &= ~is_stop
            if mask[position]:
                allowed[:] = False
                allowed[int(prompt[position])] = True

            children = []
            for token in np.argsort(-log_probs, kind="stable"):
                if not allowed[token]:
                    continue
                child_log_prob = log_prob + log_probs[token]
                if is_stop[token] or n >= n_max:
                    score = child_log_prob / penalty[n]
                    if best_score is None or score > best_score:
                        best_score = score
                        best_tokens = np.array(tokens)
                        best_tokens[position] = token
                    continue
                child_bound = child_log_prob / high[n + 1]
                if best_score is not None and child_bound <= best_score:
                    # Children come by decreasing log-probability: every
                    # later one (stop tokens included) is bounded by this.
                    break
                child = np.array(tokens)
                child[position] = token
                children.append(
                    (position + 1, child, child_log_prob, child_cache, child_bound)
                )
            stack.extend(reversed(children))
        return best_tokens, best_score, True, expansions

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "length_penalty": self.length_penalty,
                "min_length": self.min_length,
                "max_length_a": self.max_length_a,
                "max_length_b": self.max_length_b,
                "beam_size": self.beam_size,
                "max_expansions": self.max_expansions,
            }
        )
        return config
