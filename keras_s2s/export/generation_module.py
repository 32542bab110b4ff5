"""The TensorFlow module behind an exported string-in, string-out SavedModel."""

import keras_hub
import tensorflow as tf
from keras import ops

from keras_s2s.samplers.beam_sampler import BeamSampler
from keras_s2s.samplers.sampler_utils import is_stop_token
from keras_s2s.utils.blank_inputs import BLANK_REGEX

SIGNATURE_KEY = "serving_default"
INPUT_KEY = "inputs"
OUTPUT_KEY = "outputs"
# Inputs searched at once by the exported signature (as `Seq2SeqLM.generate`).
DEFAULT_CHUNK_SIZE = 256
SCORES_KEY = "scores"


class _ScoredBeamSampler(BeamSampler):
    """A `BeamSampler` that keeps its final pool scores for the export.

    `BeamSampler(return_all_beams=False)` returns the best hypothesis only;
    the export also needs its score. The search is the same (same early
    stopping, so the same output as `generate()`); the pool scores, the 6th
    loop variable of the search, are kept after the loop.
    """

    def run_loop(self, *args, **kwargs):
        outputs = super().run_loop(*args, **kwargs)
        # pool_scores: (batch_size, num_beams), sorted by decreasing score.
        self.final_pool_scores = outputs[5]
        return outputs


class _LogProbabilitySampler:
    """Runs a sampler of keras-hub's token-by-token loop and keeps log P(Y).

    For the samplers that use `keras_hub.samplers.Sampler.__call__` (greedy,
    top-k, top-p, random): `next` is wrapped so that the cache also carries
    the last step's log-probabilities `(batch_size, vocabulary_size)` and a
    running score; each step adds the log-probability of the token the
    previous step wrote, until (and including) a stop token. The loop's last
    token is added from its final loop variables. The search itself is
    unchanged.
    """

    def __init__(self, sampler, vocabulary_size):
        self.sampler = sampler
        self.vocabulary_size = vocabulary_size
        self.temperature = float(getattr(sampler, "temperature", 1.0))
        self.final_loop_vars = None
        self.scores = None
        run_loop = sampler.run_loop

        def capturing_run_loop(*args, **kwargs):
            outputs = run_loop(*args, **kwargs)
            # keras-hub's loop variables: (prompt, cache, index, mask).
            self.final_loop_vars = outputs
            return outputs

        sampler.run_loop = capturing_run_loop

    @property
    def variables(self):
        return self.sampler.variables

    @staticmethod
    def _add_previous_token(prompt, state, index, start, stop_token_ids):
        """Adds log P of the token written at `index - 1` (after `start`)."""
        # previous: (batch_size,), the token the previous step wrote.
        previous = ops.cast(prompt[:, index - 1], "int32")
        log_prob = ops.take_along_axis(
            state["log_probs"], previous[:, None], axis=1
        )[:, 0]
        add = ops.logical_and(
            ops.greater(index, start), ops.logical_not(state["done"])
        )
        score = state["score"] + ops.where(add, log_prob, 0.0)
        done = state["done"]
        if stop_token_ids:
            done = ops.logical_or(
                done, ops.logical_and(add, is_stop_token(previous, stop_token_ids))
            )
        return dict(state, score=score, done=done)

    def __call__(self, next, prompt, cache=None, index=0, mask=None,
                 stop_token_ids=None, **kwargs):
        batch_size = ops.shape(prompt)[0]
        stop_token_ids = tuple(stop_token_ids or ())
        start = index
        state = {
            "model": cache,
            "log_probs": ops.zeros((batch_size, self.vocabulary_size), "float32"),
            "score": ops.zeros((batch_size,), "float32"),
            "done": ops.zeros((batch_size,), "bool"),
        }

        def scored_next(prompt, state, index):
            state = self._add_previous_token(
                prompt, state, index, start, stop_token_ids
            )
            logits, hidden_states, cache = next(prompt, state["model"], index)
            # log_probs: (batch_size, vocabulary_size), float32.
            log_probs = ops.log_softmax(
                ops.cast(logits, "float32") / self.temperature, axis=-1
            )
            return logits, hidden_states, dict(state, model=cache, log_probs=log_probs)

        result = self.sampler(
            next=scored_next,
            prompt=prompt,
            cache=state,
            index=index,
            mask=mask,
            stop_token_ids=stop_token_ids or None,
            **kwargs,
        )
        final_prompt, final_state, final_index = self.final_loop_vars[:3]
        final_state = self._add_previous_token(
            final_prompt, final_state, final_index, start, stop_token_ids
        )
        self.scores = final_state["score"]
        return result


def _uses_base_loop(sampler):
    """True for samplers that run keras-hub's `Sampler.__call__` loop."""
    base = keras_hub.samplers.Sampler
    return (
        isinstance(sampler, base)
        and type(sampler).__call__ is base.__call__
        and type(sampler).run_loop is base.run_loop
    )


def _export_sampler(sampler, vocabulary_size):
    """A copy of `sampler` for the export (never the caller's instance).

    Wrapped so that the search also yields its score where it can do so in
    the loop; other samplers are scored by teacher forcing afterwards.
    """
    copy = sampler.__class__.from_config(sampler.get_config())
    if type(sampler) is BeamSampler and not sampler.return_all_beams:
        return _ScoredBeamSampler.from_config(sampler.get_config())
    if _uses_base_loop(copy):
        return _LogProbabilitySampler(copy, vocabulary_size)
    return copy


def _sequence_log_probability(model, inputs, token_ids, padding_mask, temperature):
    """log P(output | source) by teacher forcing, the stop token included.

    Args:
        model: the `Seq2SeqLM`.
        inputs: the packed generation inputs (encoder ids and mask).
        token_ids: int `(batch_size, max_length)`, `<s>` then the output.
        padding_mask: bool `(batch_size, max_length)`, True up to and
            including the stop token.
        temperature: the sampler's temperature.

    Returns:
        float32 `(batch_size,)`.
    """
    logits = model(
        {
            "encoder_token_ids": inputs["encoder_token_ids"],
            "encoder_padding_mask": inputs["encoder_padding_mask"],
            "decoder_token_ids": token_ids[:, :-1],
            "decoder_padding_mask": padding_mask[:, :-1],
        },
        training=False,
    )
    # log_probs: (batch_size, max_length - 1, vocabulary_size), float32.
    log_probs = ops.log_softmax(ops.cast(logits, "float32") / temperature, axis=-1)
    labels = ops.cast(token_ids[:, 1:], "int32")[..., None]
    # token_log_probs: (batch_size, max_length - 1)
    token_log_probs = ops.take_along_axis(log_probs, labels, axis=-1)[..., 0]
    weights = ops.cast(padding_mask[:, 1:], "float32")
    return ops.sum(token_log_probs * weights, axis=-1)


class GenerationModule(tf.Module):
    """Strings in, generated strings and scores out, as one `tf.function`.

    Holds the model's variables, the tokenizers' TensorFlow resources and,
    for random samplers, the seed state; `serving_default` packs the sources
    with the model's preprocessor (in-graph tokenization), runs
    `Seq2SeqLM.generate_step` with `sampler` (the whole search loop as a
    `tf.while_loop`), and detokenizes the outputs. Built under the TensorFlow
    backend; saved with `tf.saved_model.save`, it needs only TensorFlow and
    TensorFlow Text to run.

    Args:
        model: a `keras_s2s.models.Seq2SeqLM` with a preprocessor.
        sampler: a sampler instance (not `run_eagerly`).
        max_length: int or None, the decoder length (the start token plus
            at most `max_length - 1` output tokens); None uses the
            preprocessor's `decoder_sequence_length`.
        jit_compile: compile the search with XLA.
        chunk_size: the most inputs searched at once; a larger batch runs in
            chunks of this size, one after another, so memory does not grow
            with the batch.

    Call arguments (`serving_default`):
        inputs: tf.string `(batch_size,)`, the sources.

    Returns (`serving_default`):
        A dict with `"outputs"`, tf.string `(batch_size,)`, and `"scores"`,
        float32 `(batch_size,)`; with an n-best `BeamSampler`
        (`return_all_beams=True`) both are `(batch_size, num_beams)`.
    """

    def __init__(self, model, sampler, max_length=None, jit_compile=False,
                 chunk_size=DEFAULT_CHUNK_SIZE):
        super().__init__(name="keras_s2s_generation")
        preprocessor = model.preprocessor
        if not preprocessor.built:
            preprocessor.build(None)
        self.max_length = max_length
        self.jit_compile = jit_compile
        sampler = _export_sampler(
            sampler, model.backbone.decoder_vocabulary_size
        )
        stop_token_ids = (preprocessor.decoder_tokenizer.end_token_id,)
        temperature = float(getattr(sampler, "temperature", 1.0))

        # Tracked so that tf.saved_model.save writes them.
        self.model_variables = list(model.variables)
        self.sampler_variables = list(sampler.variables)
        self.encoder_tokenizer = preprocessor.encoder_tokenizer
        self.decoder_tokenizer = preprocessor.decoder_tokenizer

        def search(inputs):
            saved = model.sampler
            model.sampler = sampler
            try:
                outputs = model.generate_step(inputs, stop_token_ids=stop_token_ids)
            finally:
                model.sampler = saved
            token_ids = outputs["decoder_token_ids"]
            padding_mask = outputs["decoder_padding_mask"]
            if "scores" in outputs:
                scores = outputs["scores"]
            elif isinstance(sampler, _ScoredBeamSampler):
                scores = sampler.final_pool_scores[:, 0]
            elif isinstance(sampler, _LogProbabilitySampler):
                scores = sampler.scores
            else:
                scores = _sequence_log_probability(
                    model, inputs, token_ids, padding_mask, temperature
                )
            return token_ids, padding_mask, ops.cast(scores, "float32")

        search = tf.function(search, jit_compile=jit_compile, autograph=False)

        def generate_chunk(inputs):
            packed = preprocessor.generate_preprocess(
                inputs, sequence_length=max_length
            )
            token_ids, padding_mask, scores = search(packed)
            if len(token_ids.shape) == 3:
                # n-best: (batch_size, num_beams, max_length).
                batch_size = tf.shape(token_ids)[0]
                num_beams = token_ids.shape[1]
                length = tf.shape(token_ids)[2]
                texts = preprocessor.generate_postprocess(
                    {
                        "decoder_token_ids": tf.reshape(token_ids, [-1, length]),
                        "decoder_padding_mask": tf.reshape(padding_mask, [-1, length]),
                    }
                )
                texts = tf.reshape(texts, [batch_size, num_beams])
            else:
                texts = preprocessor.generate_postprocess(
                    {
                        "decoder_token_ids": token_ids,
                        "decoder_padding_mask": padding_mask,
                    }
                )
            # Empty and whitespace-only inputs give "" with score 0, as in
            # `Seq2SeqLM.generate()` (keras_s2s.utils.blank_inputs).
            blank = tf.strings.regex_full_match(inputs, BLANK_REGEX)
            if len(texts.shape) == 2:
                blank = blank[:, None]
            texts = tf.where(blank, tf.constant("", tf.string), texts)
            scores = tf.where(blank, tf.zeros_like(scores), scores)
            return texts, scores

        # One chunk's outputs: (chunk,), or (chunk, num_beams) for n-best.
        n_best = getattr(sampler, "return_all_beams", False)
        row_shape = [None, sampler.num_beams] if n_best else [None]

        @tf.function(
            input_signature=[tf.TensorSpec([None], tf.string, name=INPUT_KEY)],
            autograph=False,
        )
        def serving_default(inputs):
            # Bounded memory whatever the batch: the inputs run in chunks of
            # at most `chunk_size`, one after another (the last chunk padded
            # with empty inputs, whose outputs are dropped).
            count = tf.shape(inputs)[0]
            chunk = tf.maximum(tf.minimum(count, chunk_size), 1)
            num_chunks = tf.maximum((count + chunk - 1) // chunk, 1)
            padded = tf.concat(
                [inputs, tf.fill([num_chunks * chunk - count], "")], axis=0
            )
            texts, scores = tf.map_fn(
                generate_chunk,
                tf.reshape(padded, [num_chunks, chunk]),
                fn_output_signature=(
                    tf.TensorSpec(row_shape, tf.string),
                    tf.TensorSpec(row_shape, tf.float32),
                ),
                parallel_iterations=1,
            )
            # (num_chunks, chunk[, num_beams]) -> (count[, num_beams]).
            texts = tf.reshape(texts, [-1, *row_shape[1:]])[:count]
            scores = tf.reshape(scores, [-1, *row_shape[1:]])[:count]
            return {OUTPUT_KEY: texts, SCORES_KEY: scores}

        self.serving_default = serving_default

    def save(self, path):
        """Writes the SavedModel (with its `serving_default` signature)."""
        tf.saved_model.save(
            self, path, signatures={SIGNATURE_KEY: self.serving_default}
        )
