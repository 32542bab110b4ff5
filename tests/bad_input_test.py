"""Bad inputs across the Python API, one table row per case.

Every row calls the library with something wrong (or odd) and states the
documented outcome: a result (checked against a reference), a result with a
warning, or an exception of a given type whose message names what was wrong
and what is expected. `CASES` is the table; print its size with
`python -m pytest tests/bad_input_test.py --collect-only -q`.
"""

import gzip
import json
import os
import re
import shutil
import warnings

import keras
import keras_hub
import numpy as np
import pytest

from keras_s2s import presets
from keras_s2s import samplers
from keras_s2s.datasets import load_parallel_text
from keras_s2s.datasets import load_tsv
from keras_s2s.datasets import make_dataset
from keras_s2s.datasets.cmudict import read_cmudict
from keras_s2s.datasets.e2e import read_e2e_csv
from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqLM
from keras_s2s.models import Seq2SeqLMPreprocessor
from keras_s2s.tokenizers import train_sentencepiece
from keras_s2s.training import Recipe
from keras_s2s.training import Trainer
from tests.presets.preset_fixtures import TEXTS
from tests.presets.preset_fixtures import make_model
from tests.presets.preset_fixtures import make_preset

MAX_LENGTH = 6
LONG_SOURCE = " ".join(["dog"] * 10_000)  # 10,000 words, 40,000 pieces.
RECIPE = {"name": "tiny", "data": {"source_language": "en", "target_language": "de"}}


class Context:
    """What the cases work on; built once per backend."""

    def __init__(self, root):
        self.root = root
        keras.utils.set_random_seed(1)
        # SentencePiece model with a preprocessor, encoder length 8.
        self.lm = make_model()
        self.preprocessor = self.lm.preprocessor
        self.tokenizer = self.preprocessor.encoder_tokenizer
        # Token-id model without a preprocessor.
        self.id_model = Seq2SeqLM(
            Seq2SeqBackbone(encoder_vocabulary_size=20, embedding_dim=8, hidden_dim=8)
        )
        self.id_model.compile(sampler="greedy")
        self.preset_dir = make_preset(os.path.join(root, "presets"), model=self.lm)[1]
        self.plain_dir = os.path.join(root, "plain")
        # A preset made by hand: keras-hub's files, no recorded checksums.
        keras_hub.models.Task.save_to_preset(self.lm, self.plain_dir)
        metadata = presets.read_metadata(self.plain_dir)
        metadata.pop("files", None)
        with open(os.path.join(self.plain_dir, "metadata.json"), "w", encoding="utf-8") as file:
            json.dump(metadata, file)
        self.copies = 0

    def generate(self, inputs, **kwargs):
        kwargs.setdefault("max_length", MAX_LENGTH)
        return self.lm.generate(inputs, **kwargs)

    def token_inputs(self, **overrides):
        inputs = {
            "encoder_token_ids": np.array([[4, 5, 6, 3], [7, 3, 0, 0]], "int32"),
            "encoder_padding_mask": np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool),
            "decoder_token_ids": np.array([[2, 0, 0, 0, 0]] * 2, "int32"),
            "decoder_padding_mask": np.array([[1, 0, 0, 0, 0]] * 2, bool),
        }
        inputs.update(overrides)
        return inputs

    def generate_ids(self, inputs, **kwargs):
        return self.id_model.generate(inputs, stop_token_ids=[3], **kwargs)

    def preset_copy(self, plain=False):
        self.copies += 1
        path = os.path.join(self.root, f"copy_{self.copies}")
        shutil.copytree(self.plain_dir if plain else self.preset_dir, path)
        return path

    def write(self, name, data):
        path = os.path.join(self.root, name)
        if name.endswith(".gz"):
            with gzip.open(path, "wb") as file:
                file.write(data)
        else:
            with open(path, "wb") as file:
                file.write(data)
        return path


# ------------------------------------------------------------ expectations


class Raises:
    def __init__(self, error, match):
        self.error, self.match = error, match


class Returns:
    """The call returns; `check(result, context)` asserts what it must be."""

    def __init__(self, check, warns=None):
        self.check, self.warns = check, warns


def _same_as(reference):
    def check(result, context):
        assert result == reference(context), (result, reference(context))

    return check


def _strings(count):
    def check(result, context):
        assert isinstance(result, list) and len(result) == count, result
        assert all(isinstance(text, str) for text in result), result

    return check


# ------------------------------------------------------------------ cases


def _flip_byte(path, offset=100):
    with open(path, "r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 1]))


def _truncate(path):
    with open(path, "r+b") as file:
        file.truncate(os.path.getsize(path) // 2)


def _preset_missing_file(c):
    path = c.preset_copy()
    os.remove(os.path.join(path, "model.weights.h5"))
    return Seq2SeqLM.from_preset(path)


def _preset_truncated_file(c):
    path = c.preset_copy()
    _truncate(os.path.join(path, "model.weights.h5"))
    return Seq2SeqLM.from_preset(path)


def _preset_tampered_file(c):
    path = c.preset_copy()
    _flip_byte(os.path.join(path, "assets", "tokenizer", "vocabulary.spm"))
    return Seq2SeqLM.from_preset(path)


def _plain_preset_truncated_weights(c):
    path = c.preset_copy(plain=True)
    _truncate(os.path.join(path, "model.weights.h5"))
    return Seq2SeqLM.from_preset(path, trust_unverified=True)


def _plain_preset_truncated_config(c):
    path = c.preset_copy(plain=True)
    _truncate(os.path.join(path, "config.json"))
    return Seq2SeqLM.from_preset(path, trust_unverified=True)


def _plain_preset_truncated_vocabulary(c):
    path = c.preset_copy(plain=True)
    _truncate(os.path.join(path, "assets", "tokenizer", "vocabulary.spm"))
    return Seq2SeqLM.from_preset(path, trust_unverified=True)


def _vocabulary_not_matching_weights(c):
    # A vocabulary of 25 pieces next to weights trained with 30; the
    # checksums are recomputed, as whoever swapped the file would do.
    path = c.preset_copy()
    with open(os.path.join(path, "assets", "tokenizer", "vocabulary.spm"), "wb") as file:
        file.write(train_sentencepiece(TEXTS * 20, vocabulary_size=25))
    presets.write_metadata(path, presets.read_metadata(path))
    return Seq2SeqLM.from_preset(path)


def _pieces(context, text):
    ids = context.tokenizer([text])
    return (ids.to_list() if hasattr(ids, "to_list") else [list(r) for r in ids])[0]


def _long_source_packing(c):
    x = c.preprocessor.generate_preprocess([LONG_SOURCE])
    return keras.ops.convert_to_numpy(x["encoder_token_ids"]).tolist()


def _long_source_expected(result, context):
    # The first 7 pieces, then `</s>`: what the docstring promises.
    pieces = _pieces(context, "dog dog")
    assert result == [(pieces * 2)[:7] + [3]], result


def _labels_end_with_end_token(result, context):
    # Truncated to 7 target pieces and `</s>`: the labels fill all 8 places.
    labels = keras.ops.convert_to_numpy(result[1]).tolist()
    pieces = _pieces(context, "dog dog")
    assert labels == [(pieces * 2)[:7] + [3]], labels


CASES = {
    # --- generate() on strings: empty, whitespace, long, bytes, types.
    "generate_empty_string": (
        lambda c: c.generate(""),
        Returns(_same_as(lambda c: c.generate([""])[0])),
    ),
    "generate_empty_string_in_batch": (
        lambda c: c.generate(["", "a dog"]),
        Returns(_same_as(lambda c: c.generate([""]) + c.generate(["a dog"]))),
    ),
    "generate_whitespace_only": (
        lambda c: c.generate([" \t\n  "]),
        Returns(_same_as(lambda c: c.generate([""]))),
    ),
    "generate_10000_token_source": (
        lambda c: c.generate([LONG_SOURCE]),
        Returns(_strings(1), warns=r"1 of 1 source texts .*truncated to the first 7"),
    ),
    "preprocess_10000_token_source_keeps_the_end_token": (
        _long_source_packing,
        Returns(_long_source_expected, warns="encoder_sequence_length=8"),
    ),
    "generate_invalid_utf8_bytes": (
        lambda c: c.generate([b"\xff a dog"]),
        Raises(ValueError, r"inputs\[0\] is not valid UTF-8: byte 0xff at position 0"),
    ),
    "generate_utf8_bytes": (
        lambda c: c.generate([b"a dog"]),
        Returns(_same_as(lambda c: c.generate(["a dog"]))),
    ),
    "generate_lone_surrogate": (
        lambda c: c.generate(["a \ud800 dog"]),
        Raises(ValueError, r"inputs\[0\] is not valid Unicode: lone surrogate U\+D800"),
    ),
    "generate_int": (
        lambda c: c.generate(5),
        Raises(TypeError, r"Expected inputs to be a string or a list of strings.*int"),
    ),
    "generate_none": (
        lambda c: c.generate(None),
        Raises(TypeError, r"Expected inputs to be a string or a list of strings.*None"),
    ),
    "generate_list_of_ints": (
        lambda c: c.generate([1, 2]),
        Raises(TypeError, r"inputs\[0\] is int: 1"),
    ),
    "generate_mixed_list": (
        lambda c: c.generate(["a dog", 3.5]),
        Raises(TypeError, r"inputs\[1\] is float: 3.5"),
    ),
    "generate_nested_list": (
        lambda c: c.generate([["a dog"]]),
        Raises(ValueError, r"flat batch of strings, shape \(batch_size,\).*nested list"),
    ),
    "generate_float_array": (
        lambda c: c.generate(np.ones((2, 3))),
        Raises(TypeError, r"Expected inputs to hold strings.*float64"),
    ),
    "generate_empty_batch": (
        lambda c: c.generate([]),
        Raises(ValueError, r"at least one string"),
    ),
    "generate_dict_without_encoder_text": (
        lambda c: c.generate({"source": ["a dog"]}),
        Raises(ValueError, r"'encoder_text'.*Received keys: \['source'\]"),
    ),
    # --- generate() search options.
    "generate_max_length_zero": (
        lambda c: c.generate(["a dog"], max_length=0),
        Raises(ValueError, r"max_length to be a positive integer.*max_length=0"),
    ),
    "generate_max_length_negative": (
        lambda c: c.generate(["a dog"], max_length=-3),
        Raises(ValueError, r"max_length=-3"),
    ),
    "generate_max_length_float": (
        lambda c: c.generate(["a dog"], max_length=2.5),
        Raises(ValueError, r"max_length=2.5"),
    ),
    "generate_unknown_sampler": (
        lambda c: c.generate(["a dog"], sampler="bem"),
        Raises(ValueError, r"Unknown sampler 'bem'.*'beam', 'exact', 'greedy'"),
    ),
    "generate_sampler_of_wrong_type": (
        lambda c: c.generate(["a dog"], sampler=3),
        Raises(ValueError, r"sampler to be a name, a config dict or a Sampler"),
    ),
    "compile_unknown_sampler": (
        lambda c: c.lm.compile(sampler="nucleus"),
        Raises(ValueError, r"Unknown sampler 'nucleus'"),
    ),
    "generate_stop_id_outside_vocabulary": (
        lambda c: c.generate(["a dog"], stop_token_ids=[999]),
        Raises(ValueError, r"stop_token_ids .*in \[0, 30\).*\[999\]"),
    ),
    "generate_stop_ids_string": (
        lambda c: c.generate(["a dog"], stop_token_ids="</s>"),
        Raises(ValueError, r"stop_token_ids to be \"auto\", None or a list"),
    ),
    "beam_sampler_zero_beams": (
        lambda c: samplers.BeamSampler(num_beams=0),
        Raises(ValueError, r"num_beams to be an integer >= 1.*num_beams=0"),
    ),
    "beam_sampler_fractional_beams": (
        lambda c: samplers.BeamSampler(num_beams=2.5),
        Raises(ValueError, r"num_beams=2.5"),
    ),
    "beam_sampler_nan_length_penalty": (
        lambda c: samplers.BeamSampler(length_penalty=float("nan")),
        Raises(ValueError, r"length_penalty to be a finite number >= 0.0"),
    ),
    "beam_sampler_negative_coverage_penalty": (
        lambda c: samplers.BeamSampler(coverage_penalty=-0.1),
        Raises(ValueError, r"coverage_penalty.*-0.1"),
    ),
    "top_k_sampler_k_zero": (
        lambda c: samplers.TopKSampler(k=0),
        Raises(ValueError, r"k to be an integer >= 1"),
    ),
    "top_p_sampler_p_above_one": (
        lambda c: samplers.TopPSampler(p=1.5),
        Raises(ValueError, r"p \(top_p\) in \(0, 1\]. Received: p=1.5"),
    ),
    "random_sampler_negative_temperature": (
        lambda c: samplers.RandomSampler(temperature=-1),
        Raises(ValueError, r"temperature to be a positive finite number"),
    ),
    # --- generate() on token ids: ranks, dtypes, shapes, ranges.
    "ids_rank_1": (
        lambda c: c.generate_ids(c.token_inputs(encoder_token_ids=np.array([4, 5, 6, 3]))),
        Raises(ValueError, r"`encoder_token_ids` of rank 2 \(batch_size, length\).*\(4,\)"),
    ),
    "ids_rank_3": (
        lambda c: c.generate_ids(c.token_inputs(
            encoder_token_ids=np.ones((2, 4, 1), "int32"))),
        Raises(ValueError, r"rank 2.*\(2, 4, 1\)"),
    ),
    "ids_float_dtype": (
        lambda c: c.generate_ids(c.token_inputs(
            encoder_token_ids=np.ones((2, 4), "float32"))),
        Raises(ValueError, r"integer `encoder_token_ids`. Received dtype: float32"),
    ),
    "ids_string_dtype": (
        lambda c: c.generate_ids(c.token_inputs(
            decoder_token_ids=np.array([["<s>", "", "", "", ""]] * 2))),
        Raises(ValueError, r"integer `decoder_token_ids`"),
    ),
    "ids_outside_vocabulary": (
        lambda c: c.generate_ids(c.token_inputs(
            encoder_token_ids=np.array([[4, 5, 6, 3], [7, 25, 0, 0]], "int32"))),
        Raises(ValueError, r"outside \[0, 20\): min 0, max 25"),
    ),
    "mask_float_dtype": (
        lambda c: c.generate_ids(c.token_inputs(
            encoder_padding_mask=np.ones((2, 4), "float32"))),
        Raises(ValueError, r"boolean `encoder_padding_mask`. Received dtype: float32"),
    ),
    "mask_shape_differs_from_ids": (
        lambda c: c.generate_ids(c.token_inputs(encoder_padding_mask=np.ones((2, 3), bool))),
        Raises(ValueError, r"`encoder_padding_mask` to have the shape of "
                           r"`encoder_token_ids`. Received shapes \(2, 3\) and \(2, 4\)"),
    ),
    "encoder_and_decoder_batch_sizes_differ": (
        lambda c: c.generate_ids(c.token_inputs(
            decoder_token_ids=np.array([[2, 0, 0, 0, 0]], "int32"),
            decoder_padding_mask=np.array([[1, 0, 0, 0, 0]], bool))),
        Raises(ValueError, r"same batch size.*\(2, 4\) \(encoder\) and \(1, 5\)"),
    ),
    "ids_empty_source": (
        lambda c: c.generate_ids(c.token_inputs(
            encoder_token_ids=np.zeros((2, 0), "int32"),
            encoder_padding_mask=np.zeros((2, 0), bool))),
        Raises(ValueError, r"at least one source position"),
    ),
    "ids_as_python_lists": (
        lambda c: c.generate_ids({k: v.tolist() for k, v in c.token_inputs().items()}),
        Returns(lambda r, c: np.testing.assert_array_equal(
            r["decoder_token_ids"], c.generate_ids(c.token_inputs())["decoder_token_ids"])),
    ),
    "strings_to_a_model_without_preprocessor": (
        lambda c: c.generate_ids(["a dog"]),
        Raises(ValueError, r"Without a preprocessor, `generate\(\)` expects a dict"),
    ),
    "stop_ids_auto_without_preprocessor": (
        lambda c: c.id_model.generate(c.token_inputs()),
        Raises(ValueError, r"`preprocessor` must be attached.*stop_token_ids"),
    ),
    "encoder_called_on_float_ids": (
        lambda c: c.id_model.backbone.encoder(np.ones((2, 3), "float32")),
        Raises(ValueError, r"integer `token_ids`"),
    ),
    # --- tokenizer and preprocessor.
    "tokenizer_invalid_utf8": (
        lambda c: c.tokenizer([b"caf\xe9"]),
        Raises(ValueError, r"inputs\[0\] is not valid UTF-8: byte 0xe9 at position 3"),
    ),
    "tokenizer_non_string": (
        lambda c: c.tokenizer([b"a", 7]),
        Raises(TypeError, r"inputs\[1\] is int: 7"),
    ),
    "detokenize_id_outside_vocabulary": (
        lambda c: c.tokenizer.detokenize([[4, 30]]),
        Raises(ValueError, r"ids outside \[0, 30\): min 4, max 30"),
    ),
    "detokenize_float_ids": (
        lambda c: c.tokenizer.detokenize([[4.0, 5.5]]),
        Raises(TypeError, r"integer token ids.*float64"),
    ),
    "preprocessor_sources_and_targets_differ_in_number": (
        lambda c: c.preprocessor({"encoder_text": ["a", "b"], "decoder_text": ["a"]}),
        Raises(ValueError, r"as many targets as sources. Received 2 encoder_text "
                           r"strings and 1 decoder_text"),
    ),
    "preprocessor_long_target_warns": (
        lambda c: c.preprocessor({"encoder_text": ["a dog"], "decoder_text": [LONG_SOURCE]}),
        Returns(_labels_end_with_end_token,
                warns=r"1 of 1 target texts .*decoder_sequence_length=8"),
    ),
    "postprocess_ids_outside_vocabulary": (
        lambda c: c.preprocessor.generate_postprocess({
            "decoder_token_ids": np.array([[2, 31, 3]]),
            "decoder_padding_mask": np.ones((1, 3), bool)}),
        Raises(ValueError, r"decoder_token_ids holds ids outside \[0, 30\)"),
    ),
    "preprocessor_zero_sequence_length": (
        lambda c: Seq2SeqLMPreprocessor(tokenizer=c.tokenizer, encoder_sequence_length=0),
        Raises(ValueError, r"encoder_sequence_length to be a positive integer"),
    ),
    # --- presets: unknown, missing, truncated, tampered, mismatched.
    "unknown_preset_name": (
        lambda c: Seq2SeqLM.from_preset("no_such_preset"),
        Raises(ValueError, r"Unknown preset 'no_such_preset'. Available presets"),
    ),
    "preset_of_wrong_type": (
        lambda c: Seq2SeqLM.from_preset(3),
        Raises(ValueError, r"preset name or a directory path. Received: preset=3"),
    ),
    "preset_missing_file": (
        _preset_missing_file,
        Raises(ValueError, r"Preset file 'model.weights.h5' is missing"),
    ),
    "preset_truncated_file": (
        _preset_truncated_file,
        Raises(ValueError, r"Preset file 'model.weights.h5' .*does not match the "
                           r"sha256"),
    ),
    "preset_tampered_file": (
        _preset_tampered_file,
        Raises(ValueError, r"'assets/tokenizer/vocabulary.spm' .*does not match"),
    ),
    "plain_preset_without_checksums": (
        lambda c: Seq2SeqLM.from_preset(c.preset_copy(plain=True)),
        Raises(ValueError, r"records no file checksums .*trust_unverified=True"),
    ),
    "plain_preset_truncated_weights": (
        _plain_preset_truncated_weights,
        Raises(ValueError, r"Preset file 'model.weights.h5' .*cannot be read"),
    ),
    "plain_preset_truncated_config": (
        _plain_preset_truncated_config,
        Raises(ValueError, r"Preset file 'config.json' .*cannot be read.*JSONDecodeError"),
    ),
    "plain_preset_truncated_vocabulary": (
        _plain_preset_truncated_vocabulary,
        Raises(ValueError, r"'assets/tokenizer/vocabulary.spm' .*cannot be read"),
    ),
    "vocabulary_not_matching_weights": (
        _vocabulary_not_matching_weights,
        Raises(ValueError, r"source vocabulary .*has 25 tokens, but its weights were "
                           r"trained with encoder_vocabulary_size=30"),
    ),
    # --- data files with malformed rows.
    "tsv_invalid_utf8": (
        lambda c: load_tsv(c.write("bad.tsv", b"ein Hund\ta dog\nzwei\xff\ttwo\n")),
        Raises(ValueError, r"bad.tsv, line 2: not valid UTF-8 \(byte 0xff at column 5"),
    ),
    "tsv_missing_column": (
        lambda c: load_tsv(c.write("short.tsv", b"ein Hund\ta dog\nzwei Katzen\n")),
        Raises(ValueError, r"short.tsv, line 2: expected at least 2 '\\t'-separated"),
    ),
    "tsv_empty_side_is_skipped": (
        lambda c: load_tsv(c.write("empty.tsv", b"ein Hund\ta dog\n\t\nzwei\t \n")),
        Returns(_same_as(lambda c: (["ein Hund"], ["a dog"])),
                warns=r"Skipped 2 of 3 pairs .*lines 2, 3"),
    ),
    "parallel_text_line_counts_differ": (
        lambda c: load_parallel_text(c.write("s.de", b"a\nb\n"), c.write("s.en", b"a\n")),
        Raises(ValueError, r"same number of lines. '.*s.de' has 2 lines, '.*s.en' has 1"),
    ),
    "truncated_gzip": (
        lambda c: load_tsv(_truncated_gzip(c, "cut.tsv.gz")),
        Raises(ValueError, r"cut.tsv.gz' is not a complete gzip file"),
    ),
    "cmudict_malformed_row": (
        lambda c: read_cmudict(c.write("dict.gz", b"HELLO  HH AH L OW\nWORLD W ER L D\n")),
        Raises(ValueError, r"dict.gz, line 2: expected 'WORD  PH ON EMES'"),
    ),
    "e2e_row_with_extra_field": (
        lambda c: read_e2e_csv(c.write("e2e.csv.gz", b"mr,ref\nname[x],a b,extra\n")),
        Raises(ValueError, r"e2e.csv.gz, line 2: expected 2 fields \(mr,ref\), got 3"),
    ),
    "make_dataset_non_string": (
        lambda c: make_dataset(["a", None], ["b", "c"]),
        Raises(ValueError, r"sources\[1\] is NoneType"),
    ),
    "make_dataset_lengths_differ": (
        lambda c: make_dataset(["a"], ["b", "c"]),
        Raises(ValueError, r"as many targets as sources. Received 1 sources and 2"),
    ),
    # --- training configuration.
    "recipe_unknown_model_key": (
        lambda c: Recipe.from_dict(dict(RECIPE, model={"hiden_dim": 8})),
        Raises(ValueError, r"Unknown key 'hiden_dim' in recipe section 'model'"),
    ),
    "trainer_zero_epochs": (
        lambda c: Trainer(RECIPE, max_epochs=0),
        Raises(ValueError, r"max_epochs to be a positive integer or None"),
    ),
}


def _truncated_gzip(context, name):
    path = os.path.join(context.root, name)
    with gzip.open(path, "wb") as file:
        file.write(b"ein Hund\ta dog\n" * 2000)
    _truncate(path)
    return path


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    return Context(str(tmp_path_factory.mktemp("bad_input")))


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, context):
    call, expected = CASES[name]
    if isinstance(expected, Raises):
        with pytest.raises(expected.error, match=expected.match) as info:
            call(context)
        # The message speaks to the user, not from deep inside a backend.
        assert "in user code" not in str(info.value)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call(context)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if expected.warns is None:
        assert not [m for m in messages if "truncated" in m or "Skipped" in m], messages
    else:
        assert any(re.search(expected.warns, m) for m in messages), messages
    expected.check(result, context)


def test_the_table_has_at_least_thirty_cases():
    assert len(CASES) >= 30
    assert sum(isinstance(e, Raises) for _, e in CASES.values()) >= 30
