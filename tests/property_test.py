"""Property tests: the text pipeline and `generate` on arbitrary Unicode.

Hypothesis draws strings from all of Unicode except lone surrogates (which
are not text; `tests/bad_input_test.py` checks they are refused): control
characters, NUL, combining marks, right-to-left scripts, emoji, whitespace
of every kind. The examples are derandomized (the same on every run) and
few, so the file runs in seconds per backend.
"""

import contextlib
import warnings

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from keras_s2s.tokenizers import SentencePieceTokenizer
from keras_s2s.tokenizers import SymbolTokenizer
from keras_s2s.tokenizers import WordPieceTokenizer
from keras_s2s.tokenizers import compute_symbol_vocabulary
from keras_s2s.tokenizers import train_sentencepiece
from keras_s2s.tokenizers import train_word_piece
from tests.presets.preset_fixtures import TEXTS
from tests.presets.preset_fixtures import make_model

PAD, START, END = 0, 2, 3
WORDS = ["a", "dog", "runs", "two", "men", "play", "ein", "hund", "rennt", "."]


def properties(max_examples):
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


texts = st.text(max_size=40)
batches = st.lists(texts, min_size=1, max_size=3)


def to_rows(ids):
    if hasattr(ids, "to_list"):
        return ids.to_list()
    return [np.asarray(row).tolist() for row in ids]


@pytest.fixture(scope="module")
def tokenizers():
    return {
        "sentence_piece": SentencePieceTokenizer(
            train_sentencepiece(TEXTS * 20, vocabulary_size=30)
        ),
        "word_piece": WordPieceTokenizer(train_word_piece(TEXTS, vocabulary_size=60)),
        "symbol": SymbolTokenizer(compute_symbol_vocabulary(TEXTS)),
    }


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(3)
    return make_model()  # SentencePiece, encoder and decoder length 8.


@pytest.mark.parametrize("kind", ["sentence_piece", "word_piece", "symbol"])
@properties(max_examples=40)
@given(batch=batches)
def test_tokenize_and_detokenize_any_text(tokenizers, kind, batch):
    tokenizer = tokenizers[kind]
    rows = to_rows(tokenizer(batch))
    assert len(rows) == len(batch)
    size = tokenizer.vocabulary_size()
    for row in rows:
        assert all(isinstance(i, int) and 0 <= i < size for i in row), row
    # Batching changes nothing, and bytes are the same text.
    for text, row in zip(batch, rows):
        assert to_rows(tokenizer([text]))[0] == row
        assert to_rows(tokenizer([text.encode("utf-8")]))[0] == row
    outputs = tokenizer.detokenize(rows)
    outputs = [o.decode("utf-8") if isinstance(o, bytes) else o for o in outputs]
    assert len(outputs) == len(batch)
    assert all(isinstance(o, str) for o in outputs)


@properties(max_examples=30)
@given(words=st.lists(st.sampled_from(WORDS), max_size=12))
def test_sentence_piece_round_trips_in_vocabulary_text(tokenizers, words):
    tokenizer = tokenizers["sentence_piece"]
    text = " ".join(words)
    rows = to_rows(tokenizer([text]))
    assert 1 not in rows[0]  # No `<unk>`.
    assert tokenizer.detokenize(rows) == [text]


@properties(max_examples=40)
@given(sources=batches, targets=batches)
def test_preprocessor_packs_any_text(model, sources, targets):
    preprocessor = model.preprocessor
    size = preprocessor.decoder_tokenizer.vocabulary_size()
    targets = (targets * 3)[: len(sources)]
    with _ignore_truncation():
        x, y, sample_weight = preprocessor(
            {"encoder_text": sources, "decoder_text": targets}
        )
    x = {k: keras.ops.convert_to_numpy(v) for k, v in x.items()}
    y = keras.ops.convert_to_numpy(y)
    sample_weight = keras.ops.convert_to_numpy(sample_weight)
    batch = len(sources)
    assert x["encoder_token_ids"].shape == (batch, 8)
    assert x["decoder_token_ids"].shape == y.shape == sample_weight.shape == (batch, 8)
    for key in ("encoder", "decoder"):
        ids, mask = x[f"{key}_token_ids"], x[f"{key}_padding_mask"]
        assert ids.min() >= 0 and ids.max() < size
        lengths = mask.sum(axis=1)
        # Right-padded: real tokens first, then `<pad>` only.
        np.testing.assert_array_equal(mask, np.arange(8)[None] < lengths[:, None])
        np.testing.assert_array_equal(ids[~mask], 0)
        assert (lengths >= 1).all()
    encoder_lengths = x["encoder_padding_mask"].sum(axis=1)
    # Every source ends with `</s>`, even an empty or truncated one.
    np.testing.assert_array_equal(
        x["encoder_token_ids"][np.arange(batch), encoder_lengths - 1], END
    )
    np.testing.assert_array_equal(x["decoder_token_ids"][:, 0], START)
    # Labels are the decoder inputs shifted left by one.
    np.testing.assert_array_equal(y[:, :-1], x["decoder_token_ids"][:, 1:])
    np.testing.assert_array_equal(sample_weight, y != PAD)


@properties(max_examples=30)
@given(rows=st.lists(st.lists(st.integers(0, 29), min_size=1, max_size=8),
                     min_size=1, max_size=3))
def test_generate_postprocess_any_ids(model, rows):
    ids = np.zeros((len(rows), 8), "int32")
    for index, row in enumerate(rows):
        ids[index, : len(row)] = row
    outputs = model.preprocessor.generate_postprocess(
        {"decoder_token_ids": ids, "decoder_padding_mask": ids != PAD}
    )
    assert len(outputs) == len(rows)
    assert all(isinstance(o, str) for o in outputs)


@properties(max_examples=15)
@given(batch=batches)
def test_generate_returns_one_string_per_input(model, batch):
    with _ignore_truncation():
        outputs = model.generate(batch, max_length=6)
    assert isinstance(outputs, list) and len(outputs) == len(batch)
    assert all(isinstance(o, str) for o in outputs)


@properties(max_examples=10)
@given(text=texts)
def test_generate_one_string_in_one_string_out(model, text):
    with _ignore_truncation():
        output = model.generate(text, max_length=6)
    assert isinstance(output, str)


@contextlib.contextmanager
def _ignore_truncation():
    """Ignores the truncation warning that long drawn texts may cause."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*were truncated")
        yield
