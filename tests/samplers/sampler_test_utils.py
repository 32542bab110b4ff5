"""Tiny models, constructed `next` functions and scoring for sampler tests."""

import keras
import numpy as np
from keras import ops

from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqLM

PAD, BOS, EOS = 0, 1, 2


def make_model(vocabulary_size=9, sharpness=4.0, seed=0, **kwargs):
    """A random `Seq2SeqLM` with peaked next-token distributions.

    The weights are drawn with NumPy from `seed`, so the model is the same on
    every backend. The output embedding is scaled by `sharpness` so that the
    model prefers some tokens clearly (a near-uniform model makes every
    search equal).
    """
    keras.utils.set_random_seed(seed)
    config = dict(
        encoder_vocabulary_size=vocabulary_size,
        embedding_dim=8,
        hidden_dim=16,
    )
    config.update(kwargs)
    model = Seq2SeqLM(Seq2SeqBackbone(**config))
    rng = np.random.default_rng(seed)
    # Sorted by path: the order of `model.weights` differs across backends.
    for variable in sorted(model.weights, key=lambda v: v.path):
        shape = tuple(variable.shape)
        scale = 1.0 / np.sqrt(shape[0]) if len(shape) >= 2 else 0.1
        variable.assign(rng.normal(0.0, scale, shape).astype("float32"))
    reverse = model.backbone.token_embedding.reverse_embeddings
    reverse.assign(ops.convert_to_numpy(reverse) * sharpness)
    return model


def make_inputs(batch_size=4, source_len=5, max_length=7, vocabulary_size=9,
                seed=0, prefix=None):
    """Random sources (some padded) and a `[BOS] + padding` prompt.

    `prefix`: optional list of token ids forced after BOS in every row.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, source_len + 1, size=batch_size)
    lengths[0] = source_len
    mask = np.arange(source_len)[None, :] < lengths[:, None]
    ids = rng.integers(3, vocabulary_size, (batch_size, source_len))
    prompt = np.zeros((batch_size, max_length), "int32")
    prompt[:, 0] = BOS
    prompt_mask = np.zeros((batch_size, max_length), bool)
    prompt_mask[:, 0] = True
    if prefix:
        prompt[:, 1 : 1 + len(prefix)] = prefix
        prompt_mask[:, 1 : 1 + len(prefix)] = True
    return {
        "encoder_token_ids": np.where(mask, ids, PAD).astype("int32"),
        "encoder_padding_mask": mask,
        "decoder_token_ids": prompt,
        "decoder_padding_mask": prompt_mask,
    }


def output_length(row, stop_token_ids=(EOS,), start=1):
    """Tokens after BOS up to and including the first stop token."""
    generated = list(row[start:])
    for i, token in enumerate(generated):
        if token in stop_token_ids:
            return i + 1
    return len(generated)


def sequence_log_probs(model, inputs, token_ids, stop_token_ids=(EOS,)):
    """log P(y | x) of each row of `token_ids` by teacher forcing (float64).

    Sums the log-probabilities of the tokens after BOS up to and including
    the first stop token (all of them if there is none).
    """
    token_ids = np.asarray(token_ids)
    x = dict(inputs)
    x["decoder_token_ids"] = token_ids.astype("int32")
    x["decoder_padding_mask"] = np.ones_like(token_ids, bool)
    logits = np.asarray(ops.convert_to_numpy(model(x)), np.float64)
    logits = logits - logits.max(-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    scores = np.zeros(len(token_ids))
    for b, row in enumerate(token_ids):
        n = output_length(row, stop_token_ids)
        for t in range(1, n + 1):
            scores[b] += log_probs[b, t - 1, row[t]]
    return scores


def table_next(table, attention=None):
    """A `next` whose logits depend only on (position, previous token).

    Args:
        table: float array `(max_length, vocabulary_size, vocabulary_size)`:
            `table[index, previous]` are the log-probabilities (logits) of the
            token at `index` after `previous`.
        attention: optional float array `(max_length, vocabulary_size,
            source_len)`, the attention weights of each step, looked up the
            same way. Defaults to zeros of source length 1.

    Returns:
        `next(prompt, cache, index) -> (logits, attention, cache)`; the cache
        is a dict `{"steps": (rows, 1)}` counting the calls of each row, so
        beam gathering of the cache is exercised.
    """
    table = np.asarray(table, "float32")
    max_length, vocabulary_size, _ = table.shape
    flat = table.reshape(max_length * vocabulary_size, vocabulary_size)
    if attention is None:
        attention = np.zeros((max_length, vocabulary_size, 1), "float32")
    attention = np.asarray(attention, "float32")
    flat_attention = attention.reshape(max_length * vocabulary_size, -1)

    def next(prompt, cache, index):
        batch_size = ops.shape(prompt)[0]
        previous = ops.slice(prompt, [0, index - 1], [batch_size, 1])[:, 0]
        row = ops.cast(index, "int32") * vocabulary_size + ops.cast(previous, "int32")
        logits = ops.take(ops.convert_to_tensor(flat), row, axis=0)
        weights = ops.take(ops.convert_to_tensor(flat_attention), row, axis=0)
        cache = {"steps": cache["steps"] + 1.0}
        return logits, weights, cache

    return next


def bos_prompt(batch_size, max_length):
    prompt = np.zeros((batch_size, max_length), "int32")
    prompt[:, 0] = BOS
    mask = np.zeros((batch_size, max_length), bool)
    mask[:, 0] = True
    return prompt, mask


def initial_cache(batch_size):
    return {"steps": ops.zeros((batch_size, 1), "float32")}


def teacher_forced_logits(model, inputs, token_ids):
    """Logits `(batch_size, max_length, vocabulary_size)` for given outputs.

    `logits[:, t - 1]` is the distribution the model gives the token at `t`.
    """
    x = dict(inputs)
    x["decoder_token_ids"] = np.asarray(token_ids, "int32")
    x["decoder_padding_mask"] = np.ones_like(token_ids, bool)
    return np.asarray(ops.convert_to_numpy(model(x)))
