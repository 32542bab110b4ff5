import keras
import keras_hub
from keras import ops
from keras import tree

from keras_s2s.samplers import sampler_utils as utils
from keras_s2s.utils.argument_validation import check_float_at_least
from keras_s2s.utils.argument_validation import check_int_at_least


@keras.saving.register_keras_serializable(package="keras_s2s")
class BeamSampler(keras_hub.samplers.Sampler):
    """Beam search with a finished pool, length/coverage penalties and limits.

    At each step every open hypothesis (beam) is extended by every token; the
    `num_beams` best candidates by cumulative log-probability are kept. A
    candidate that ends with a stop token, and ranks among the `num_beams`
    best candidates of its example, is frozen in a *finished pool* and never
    extended again; the open beams are the `num_beams` best candidates that
    do not stop. The pool keeps the `num_beams` best finished hypotheses by
    their final score. So `num_beams=1` is greedy search.

    **Final score.** For an output `Y = (y_1, ..., y_n)` (the tokens written
    from position `index` on, the stop token included, the start token
    excluded) of a source with attention weights `a_ij` (step `i`, source
    position `j`):

        s(Y) = log P(Y) / lp(Y) + cp(Y)
        log P(Y) = sum_i log softmax(logits_i / temperature)[y_i]
        lp(Y) = ((5 + n) / 6) ** length_penalty
        cp(Y) = coverage_penalty * sum_j log(min(sum_i a_ij, 1))

    where `j` runs over unmasked source positions and `log(min(., 1))` is
    floored at `log(1e-10)`. With the default penalties (0) `s(Y) = log P(Y)`.
    Forced prompt tokens (positions where `mask` is True) are part of `Y` and
    of its score.

    A hypothesis is complete when it emits a stop token, or when it reaches
    the maximum number of tokens: the prompt's free positions, or, with
    `max_length_a`/`max_length_b`, `floor(a * source_length + b)` tokens
    before the stop token (the stop token is then forced; without stop tokens
    the hypothesis ends there). Search stops early once no open hypothesis of
    any example can beat its finished pool: an open hypothesis with
    cumulative log-probability `p <= 0` can reach at most
    `p / max(lp(n + 1), lp(n_max))` (coverage penalties are <= 0), compared
    with the pool's worst score (`return_all_beams=True`) or best score.

    Args:
        num_beams: int >= 1. Beams (and n-best outputs) per example.
        return_all_beams: bool. If True, return `(token_ids, scores)` with all
            `num_beams` finished hypotheses sorted by decreasing score:
            `(batch_size, num_beams, max_length)` and
            `(batch_size, num_beams)`. Slots of an example with fewer distinct
            complete hypotheses have score `-1e9`. If False, return the best
            `(batch_size, max_length)`. `Seq2SeqLM.generate` returns the
            n-best as `"decoder_token_ids"`, `"decoder_padding_mask"` and
            `"scores"`; use token-id inputs (a preprocessor detokenizes
            `(batch_size, max_length)` outputs only).
        length_penalty: float >= 0, the GNMT `alpha`.
        coverage_penalty: float >= 0, the GNMT `beta`. Needs the attention
            weights as `next`'s second output and `source_mask`.
        min_length: int >= 0. Outputs have at least this many tokens before
            the stop token.
        max_length_a: float >= 0 or None. See `max_length_b`.
        max_length_b: float >= 0 or None. If either is set, outputs have at
            most `floor(max_length_a * source_length + max_length_b)` tokens
            before the stop token (unset parts count as 0), and never more
            than the prompt's free positions.
        no_repeat_ngram_size: int >= 0. If > 0, no n-gram of this size occurs
            twice in an output (the prompt included).
        temperature: float > 0. Logits are divided by it before the softmax.

    Call arguments:
        next: callable `(prompt, cache, index) -> (logits, attention, cache)`
            with `logits` `(rows, vocabulary_size)` and `attention`
            `(rows, source_len)` (unused unless `coverage_penalty > 0`).
        prompt: int `(batch_size, max_length)`.
        cache: any pytree of tensors with a leading batch axis, or None.
        index: int, the first position to write.
        mask: bool `(batch_size, max_length)`, True on forced prompt tokens.
        stop_token_ids: tuple of ints, or None.
        source_mask: bool `(batch_size, source_len)`, True on real source
            tokens; needed for `max_length_a` and `coverage_penalty`.
        model: the model, for the stateless loop on JAX.

    Example:
    >>> backbone = keras_s2s.models.Seq2SeqBackbone(
    ...     encoder_vocabulary_size=12, embedding_dim=8, hidden_dim=16)
    >>> model = keras_s2s.models.Seq2SeqLM(backbone)
    >>> model.compile(sampler=BeamSampler(num_beams=3, return_all_beams=True,
    ...                                   length_penalty=0.6))
    >>> out = model.generate({
    ...     "encoder_token_ids": np.array([[4, 5, 6, 2]]),
    ...     "encoder_padding_mask": np.array([[1, 1, 1, 1]], dtype=bool),
    ...     "decoder_token_ids": np.array([[1, 0, 0, 0, 0]]),
    ...     "decoder_padding_mask": np.array([[1, 0, 0, 0, 0]], dtype=bool)},
    ...     stop_token_ids=[2])
    >>> out["decoder_token_ids"].shape, out["scores"].shape
    ((1, 3, 5), (1, 3))
    """

    def __init__(
        self,
        num_beams=5,
        return_all_beams=False,
        length_penalty=0.0,
        coverage_penalty=0.0,
        min_length=0,
        max_length_a=None,
        max_length_b=None,
        no_repeat_ngram_size=0,
        temperature=1.0,
        **kwargs,
    ):
        check_int_at_least("num_beams", num_beams, 1)
        if not isinstance(return_all_beams, bool):
            raise ValueError(
                "Expected return_all_beams to be a bool. "
                f"Received: return_all_beams={return_all_beams!r}"
            )
        check_float_at_least("length_penalty", length_penalty, 0.0)
        check_float_at_least("coverage_penalty", coverage_penalty, 0.0)
        check_int_at_least("min_length", min_length, 0)
        check_float_at_least("max_length_a", max_length_a, 0.0, True)
        check_float_at_least("max_length_b", max_length_b, 0.0, True)
        check_int_at_least("no_repeat_ngram_size", no_repeat_ngram_size, 0)
        utils.check_temperature(temperature)
        super().__init__(temperature=temperature, **kwargs)
        self.num_beams = num_beams
        self.return_all_beams = return_all_beams
        self.length_penalty = length_penalty
        self.coverage_penalty = coverage_penalty
        self.min_length = min_length
        self.max_length_a = max_length_a
        self.max_length_b = max_length_b
        self.no_repeat_ngram_size = no_repeat_ngram_size

    @property
    def has_length_limit(self):
        return self.max_length_a is not None or self.max_length_b is not None

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
        num_beams = self.num_beams
        alpha = self.length_penalty
        beta = self.coverage_penalty
        stop_ids = tuple(stop_token_ids) if stop_token_ids is not None else ()
        if beta > 0 and source_mask is None:
            raise ValueError(
                "coverage_penalty > 0 needs `source_mask`, the source padding "
                "mask (Seq2SeqLM.generate passes it)."
            )
        if self.max_length_a and source_mask is None:
            raise ValueError(
                "max_length_a > 0 needs `source_mask` to know the source "
                "lengths (Seq2SeqLM.generate passes it)."
            )

        batch_size = ops.shape(prompt)[0]
        max_length = prompt.shape[1]
        start = ops.cast(index, "int32")
        index = start
        if mask is None:
            mask = ops.zeros_like(prompt, dtype="bool")
        else:
            mask = ops.cast(mask, "bool")
        has_cache = cache is not None
        cache = cache if has_cache else ()

        # n_max: (batch_size,), the most output tokens per example.
        num_slots = ops.cast(max_length, "int32") - start
        n_max = ops.full((batch_size,), num_slots, dtype="int32")
        if self.has_length_limit:
            limit = utils.relative_length_limit(
                source_mask, self.max_length_a, self.max_length_b, batch_size
            )
            # With stop tokens the limit excludes the (forced) stop token.
            limit = limit + (1 if stop_ids else 0)
            n_max = ops.maximum(ops.minimum(n_max, limit), 1)
            force_stop_at = limit if stop_ids else None
        else:
            force_stop_at = None

        def tile(x):
            return ops.repeat(x, num_beams, axis=0)

        # Cache entries equal for every beam of an example (the encoder
        # memory, its attention keys, the source mask) are tiled once and
        # never reordered: beams are only ever reordered within their example.
        invariant = (
            set(getattr(model, "beam_invariant_cache_keys", ()))
            if isinstance(cache, dict) else set()
        )

        def reorder(cache, rows):
            def take(x):
                return ops.take(x, rows, axis=0)

            if not invariant:
                return tree.map_structure(take, cache)
            return {
                key: value if key in invariant else tree.map_structure(take, value)
                for key, value in cache.items()
            }

        # Rows of `prompt`, `mask`, `cache`, `log_probs`: batch_size * num_beams.
        prompt, mask = tile(prompt), tile(mask)
        cache = tree.map_structure(tile, cache)
        row_force_stop_at = (
            tile(force_stop_at) if force_stop_at is not None else None
        )
        source_mask_rows = (
            tile(ops.cast(source_mask, "bool")) if beta > 0 else None
        )
        # Only the first beam of each example is alive at the start.
        first = ops.array(
            [[0.0] + [utils.LARGE_NEGATIVE] * (num_beams - 1)], "float32"
        )
        log_probs = ops.reshape(
            ops.broadcast_to(first, (batch_size, num_beams)), (-1,)
        )
        pool_ids = ops.reshape(prompt, (-1, num_beams, max_length))
        pool_scores = ops.full(
            (batch_size, num_beams), utils.LARGE_NEGATIVE, "float32"
        )
        done = ops.zeros((batch_size,), dtype="bool")
        if beta > 0:
            coverage = ops.zeros(ops.shape(source_mask_rows), "float32")
        else:
            coverage = ops.zeros((1,), "float32")  # unused placeholder
        example_offsets = ops.arange(batch_size, dtype="int32")[:, None] * num_beams

        def cond(prompt, cache, index, log_probs, pool_ids, pool_scores, done,
                 coverage):
            return ops.logical_not(ops.all(done))

        def body(prompt, cache, index, log_probs, pool_ids, pool_scores, done,
                 coverage):
            logits, attention, cache = next(prompt, cache, index)
            vocabulary_size = logits.shape[-1]
            # n: tokens in each hypothesis once this position is written.
            n = index - start + 1
            # scores: (rows, vocabulary_size), float32.
            scores = ops.log_softmax(
                ops.cast(logits, "float32") / self.temperature, axis=-1
            )
            scores = self._constrain(
                scores, prompt, mask, index, n, stop_ids, row_force_stop_at
            )
            if beta > 0:
                # coverage: (rows, source_len), summed attention incl. this step.
                coverage = coverage + ops.cast(attention, "float32")

            # candidates: (batch_size, num_beams * vocabulary_size)
            candidates = ops.reshape(
                log_probs[:, None] + scores, (-1, num_beams * vocabulary_size)
            )
            num_candidates = min(
                (len(stop_ids) + 1) * num_beams, num_beams * vocabulary_size
            )
            # top_scores, top_indices: (batch_size, num_candidates), sorted.
            top_scores, top_indices = ops.top_k(
                candidates, k=num_candidates, sorted=True
            )
            top_indices = ops.cast(top_indices, "int32")
            parents = top_indices // vocabulary_size
            tokens = top_indices % vocabulary_size
            stops = utils.is_stop_token(tokens, stop_ids)
            at_last = ops.greater_equal(n, n_max)[:, None]  # (batch_size, 1)
            ends = ops.logical_or(stops, at_last)
            alive = ops.greater(top_scores, utils.DEAD_THRESHOLD)

            # --- Finished candidates: ending, alive, among the best num_beams.
            # (All candidates are carried, masked by rank, rather than sliced:
            # slicing the top-k output makes XLA CPU lower top-k to a sort.)
            rank = ops.arange(num_candidates, dtype="int32")[None, :]
            finishing = ops.logical_and(ends, alive)
            finishing = ops.logical_and(finishing, ops.less(rank, num_beams))
            finishing = ops.logical_and(finishing, ops.logical_not(done)[:, None])
            # fin_rows: (batch_size * num_candidates,), the parent rows.
            fin_rows = ops.reshape(example_offsets + parents, (-1,))
            fin_ids = self._write(
                ops.take(prompt, fin_rows, axis=0),
                ops.take(mask, fin_rows, axis=0),
                ops.reshape(tokens, (-1,)),
                index,
            )
            fin_ids = ops.reshape(fin_ids, (-1, num_candidates, max_length))
            fin_scores = top_scores / utils.length_penalty_tensor(n, alpha)
            if beta > 0:
                fin_coverage = ops.take(coverage, fin_rows, axis=0)
                fin_source_mask = ops.take(source_mask_rows, fin_rows, axis=0)
                penalty = utils.coverage_penalty_tensor(
                    fin_coverage, fin_source_mask, beta
                )
                fin_scores = fin_scores + ops.reshape(penalty, (-1, num_candidates))
            fin_scores = ops.where(finishing, fin_scores, utils.LARGE_NEGATIVE)
            # Merge into the pool: (batch_size, num_beams + num_candidates).
            merged_scores = ops.concatenate([pool_scores, fin_scores], axis=1)
            pool_scores, pool_index = ops.top_k(merged_scores, k=num_beams, sorted=True)
            pool_index = ops.cast(pool_index, "int32")
            merged_ids = ops.concatenate([pool_ids, fin_ids], axis=1)
            pool_ids = ops.take(
                ops.reshape(merged_ids, (-1, max_length)),
                ops.reshape(
                    ops.arange(batch_size, dtype="int32")[:, None]
                    * (num_beams + num_candidates)
                    + pool_index,
                    (-1,),
                ),
                axis=0,
            )
            pool_ids = ops.reshape(pool_ids, (-1, num_beams, max_length))

            # --- Open beams: the best num_beams candidates that do not end.
            open_scores = ops.where(ends, utils.LARGE_NEGATIVE, top_scores)
            open_scores, chosen = ops.top_k(open_scores, k=num_beams, sorted=True)
            chosen = ops.cast(chosen, "int32")
            open_parents = ops.take_along_axis(parents, chosen, axis=1)
            open_tokens = ops.take_along_axis(tokens, chosen, axis=1)
            rows = ops.reshape(example_offsets + open_parents, (-1,))
            prompt = self._write(
                ops.take(prompt, rows, axis=0),
                mask,
                ops.reshape(open_tokens, (-1,)),
                index,
            )
            if has_cache:
                cache = reorder(cache, rows)
            if beta > 0:
                coverage = ops.take(coverage, rows, axis=0)
            # Keep dead beams at a bounded large negative.
            log_probs = ops.reshape(
                ops.maximum(open_scores, 2.0 * utils.LARGE_NEGATIVE), (-1,)
            )

            # --- Early stopping per example.
            open_best = ops.max(open_scores, axis=1)  # (batch_size,)
            bound = open_best
            if alpha != 0:
                n_next = ops.minimum(n + 1, n_max)
                lp_high = ops.maximum(
                    utils.length_penalty_tensor(n_next, alpha),
                    utils.length_penalty_tensor(n_max, alpha),
                )
                bound = open_best / lp_high
            if self.return_all_beams:
                reference = pool_scores[:, num_beams - 1]
            else:
                reference = pool_scores[:, 0]
            beaten = ops.logical_and(
                ops.greater(reference, utils.DEAD_THRESHOLD),
                ops.less_equal(bound, reference),
            )
            finished = ops.logical_or(
                beaten, ops.less_equal(open_best, utils.DEAD_THRESHOLD)
            )
            finished = ops.logical_or(finished, ops.greater_equal(n, n_max))
            done = ops.logical_or(done, finished)
            return (prompt, cache, index + 1, log_probs, pool_ids, pool_scores,
                    done, coverage)

        outputs = self.run_loop(
            cond=cond,
            body=body,
            loop_vars=(prompt, cache, index, log_probs, pool_ids, pool_scores,
                       done, coverage),
            maximum_iterations=(max_length - start),
            model=model,
        )
        pool_ids, pool_scores = outputs[4], outputs[5]
        if self.return_all_beams:
            return pool_ids, pool_scores
        return pool_ids[:, 0, :]

    def _constrain(self, scores, prompt, mask, index, n, stop_ids,
                   force_stop_at):
        """Applies forced tokens, min/max length and n-gram blocking.

        Each length rule costs one pass over `(rows, vocabulary_size)`, and
        only when configured.
        """
        vocabulary_size = scores.shape[-1]
        original = scores
        if stop_ids and (force_stop_at is not None or self.min_length > 0):
            stop_columns = utils.stop_token_columns(vocabulary_size, stop_ids)
            stop_columns = stop_columns[None, :]  # (1, vocabulary_size)
            # force_stop / ban_stop: (rows, 1) or scalar.
            force_stop = ops.zeros((), "bool")
            if force_stop_at is not None:
                force_stop = ops.equal(n, force_stop_at)[:, None]
            ban_stop = ops.logical_and(
                ops.less_equal(n, self.min_length), ops.logical_not(force_stop)
            )
            banned = ops.logical_or(
                ops.logical_and(force_stop, ops.logical_not(stop_columns)),
                ops.logical_and(ban_stop, stop_columns),
            )
            scores = ops.where(banned, utils.LARGE_NEGATIVE, scores)
        if self.no_repeat_ngram_size > 0:
            scores = utils.block_repeated_ngrams(
                scores, prompt, index, self.no_repeat_ngram_size
            )
        # Forced prompt tokens override every other rule: the forced token
        # keeps its log-probability, the others are ruled out. (Elementwise,
        # so XLA fuses it into the softmax pass.)
        forced = mask[:, index][:, None]  # (rows, 1)
        forced_token = ops.cast(prompt[:, index], "int32")[:, None]
        columns = ops.arange(vocabulary_size, dtype="int32")[None, :]
        is_forced = ops.logical_and(forced, ops.equal(columns, forced_token))
        others = ops.where(forced, utils.LARGE_NEGATIVE, scores)
        return ops.where(is_forced, original, others)

    @staticmethod
    def _write(prompt, mask, tokens, index):
        """Writes `tokens` at `index` except where `mask` forces the prompt."""
        tokens = ops.cast(tokens, prompt.dtype)
        tokens = ops.where(mask[:, index], prompt[:, index], tokens)
        return ops.slice_update(prompt, [0, index], tokens[:, None])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_beams": self.num_beams,
                "return_all_beams": self.return_all_beams,
                "length_penalty": self.length_penalty,
                "coverage_penalty": self.coverage_penalty,
                "min_length": self.min_length,
                "max_length_a": self.max_length_a,
                "max_length_b": self.max_length_b,
                "no_repeat_ngram_size": self.no_repeat_ngram_size,
            }
        )
        return config
