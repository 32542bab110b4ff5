"""Presets registered like keras-hub's: `presets` and `from_preset` on every class."""

import numpy as np
import pytest

from keras_s2s import presets
from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqLM
from keras_s2s.models import Seq2SeqLMPreprocessor
from keras_s2s.presets import preset_registry
from keras_s2s.tokenizers import SentencePieceTokenizer
from keras_s2s.tokenizers import SymbolTokenizer
from keras_s2s.tokenizers import WordPieceTokenizer
from tests.presets.preset_fixtures import SENTENCES
from tests.presets.preset_fixtures import make_preset

MODEL_CLASSES = (Seq2SeqLM, Seq2SeqBackbone, Seq2SeqLMPreprocessor)
SYMBOL_PRESETS = ("cmudict_g2p_lstm_luong",)


def test_model_classes_list_every_shipped_preset():
    shipped = presets.preset_names()
    assert len(shipped) >= 5
    for cls in MODEL_CLASSES:
        assert sorted(cls.presets) == shipped, cls.__name__


def test_tokenizer_classes_list_the_presets_of_their_class():
    shipped = presets.preset_names()
    symbol = sorted(name for name in shipped if name in SYMBOL_PRESETS)
    assert sorted(SymbolTokenizer.presets) == symbol
    assert sorted(SentencePieceTokenizer.presets) == sorted(set(shipped) - set(symbol))
    assert WordPieceTokenizer.presets == {}


def test_preset_metadata_says_what_keras_hub_users_read():
    entry = Seq2SeqLM.presets["multi30k_en_de_gru_bahdanau"]
    metadata = entry["metadata"]
    assert metadata["params"] == 5_654_592
    assert metadata["task"] == "translation"
    assert metadata["languages"] == "en-de"
    assert metadata["domain"].startswith("image captions")
    assert "Bahdanau" in metadata["description"]
    assert metadata["headline_score"]["metric"] == "multi30k_bleu"
    assert metadata["search"]["class_name"] == "BeamSampler"
    assert entry["path"] == presets.resolve_preset("multi30k_en_de_gru_bahdanau")
    for name, entry in Seq2SeqLM.presets.items():
        assert entry["metadata"]["domain"], name


def test_backbone_from_preset_has_the_task_weights():
    name = "cmudict_g2p_lstm_luong"
    backbone = Seq2SeqBackbone.from_preset(name)
    task = Seq2SeqLM.from_preset(name)
    assert backbone.count_params() == Seq2SeqBackbone.presets[name]["metadata"]["params"]
    for mine, theirs in zip(backbone.weights, task.backbone.weights):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))


def test_preprocessor_and_tokenizers_from_preset():
    name = "cmudict_g2p_lstm_luong"
    preprocessor = Seq2SeqLMPreprocessor.from_preset(name)
    assert preprocessor.encoder_tokenizer.vocabulary_size() == 31
    assert preprocessor.decoder_tokenizer.vocabulary_size() == 43
    letters = SymbolTokenizer.from_preset(name, config_file="encoder_tokenizer.json")
    phonemes = SymbolTokenizer.from_preset(name)
    assert letters.vocabulary_size() == 31
    assert phonemes.vocabulary_size() == 43
    pieces = SentencePieceTokenizer.from_preset("multi30k_en_de_gru_bahdanau")
    assert pieces.vocabulary_size() == 8000
    assert pieces.detokenize(pieces(["A dog runs."])) == ["A dog runs."]


def test_tokenizer_of_another_class_is_refused_with_the_class_named():
    with pytest.raises(ValueError, match="has no SentencePieceTokenizer.*SymbolTokenizer"):
        SentencePieceTokenizer.from_preset("cmudict_g2p_lstm_luong")


def test_every_class_loads_a_directory_the_user_saved(tmp_path):
    model, preset_dir = make_preset(str(tmp_path))
    backbone = Seq2SeqBackbone.from_preset(preset_dir)
    for mine, theirs in zip(backbone.weights, model.backbone.weights):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    preprocessor = Seq2SeqLMPreprocessor.from_preset(preset_dir)
    tokenizer = SentencePieceTokenizer.from_preset(preset_dir)
    assert tokenizer.vocabulary_size() == model.preprocessor.tokenizer.vocabulary_size()
    assert preprocessor.decoder_sequence_length == model.preprocessor.decoder_sequence_length
    # A user's preset records no search: greedy, as the model was compiled.
    loaded = Seq2SeqLM.from_preset(preset_dir)
    assert loaded.preset_search is None
    assert type(loaded.sampler).__name__ == "GreedySampler"
    assert loaded.generate(SENTENCES, max_length=6) == model.generate(SENTENCES, max_length=6)


def test_user_presets_are_listed_from_their_directory(tmp_path):
    make_preset(str(tmp_path), name="my_en_de")
    catalog = preset_registry.preset_catalog(str(tmp_path))
    assert list(catalog) == ["my_en_de"]
    assert catalog["my_en_de"]["classes"]["backbone"] == ["keras_s2s>Seq2SeqBackbone"]
    assert catalog["my_en_de"]["metadata"]["languages"] == "en-de"


def test_from_preset_comes_compiled_with_the_recorded_search():
    model = Seq2SeqLM.from_preset("multi30k_en_de_gru_bahdanau")
    assert type(model.sampler).__name__ == "BeamSampler"
    assert model.sampler.num_beams == 5
    assert model.sampler.length_penalty == 0.6
    # compile() keeps the preset's search unless told otherwise ...
    model.compile(optimizer="sgd")
    assert type(model.sampler).__name__ == "BeamSampler"
    # ... and a sampler the user passes replaces it.
    model.compile(sampler="greedy")
    assert type(model.sampler).__name__ == "GreedySampler"


def test_parts_saved_one_by_one_load_back_verified(tmp_path):
    model, _ = make_preset(str(tmp_path / "whole"))
    parts = str(tmp_path / "parts")
    model.backbone.save_to_preset(parts)
    model.preprocessor.save_to_preset(parts)
    backbone = Seq2SeqBackbone.from_preset(parts)
    for mine, theirs in zip(backbone.weights, model.backbone.weights):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    preprocessor = Seq2SeqLMPreprocessor.from_preset(parts)
    assert preprocessor.decoder_sequence_length == model.preprocessor.decoder_sequence_length
    # A tokenizer saved into the directory again re-records the checksums.
    model.preprocessor.tokenizer.save_to_preset(parts)
    tokenizer = SentencePieceTokenizer.from_preset(parts)
    assert tokenizer.tokenize(["a dog runs ."]) == model.preprocessor.tokenizer.tokenize(
        ["a dog runs ."]
    )
    # The recorded checksums are checked: an edited file is refused.
    with open(f"{parts}/tokenizer.json", "a", encoding="utf-8") as file:
        file.write(" ")
    with pytest.raises(ValueError, match="does not match the sha256"):
        SentencePieceTokenizer.from_preset(parts)
