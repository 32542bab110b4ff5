"""Every preset shipped in the package: size, integrity, known outputs.

The expected strings are the greedy outputs recorded when the preset was
shipped; every backend must reproduce them exactly (the same weights give
the same tokens under TensorFlow, JAX and PyTorch).
"""

import os

import pytest

from keras_s2s import presets
from keras_s2s.models import Seq2SeqLM
from tests.datasets.conftest import SHARED_DATA_DIR
from tests.test_case import TestCase

MAX_PRESET_BYTES = 25 * 10**6

# preset name -> ({source: greedy output}, greedy Multi30k-protocol BLEU of the
# first 64 validation sentences).
EXPECTED = {
    "multi30k_en_de_gru_bahdanau": (
        {
            "A man is riding a bike.": "Ein Mann fährt auf einem Fahrrad.",
            "Two dogs are playing in the snow.": "Zwei Hunde spielen im Schnee.",
            "A little girl in a pink dress is eating ice cream.":
                "Ein kleines Mädchen in einem rosa Kleid isst Eiscreme.",
            "People are walking down a busy city street.":
                "Leute gehen eine belebte städtische Straße entlang.",
        },
        34.26,
    ),
}




class ShippedPresetsTest(TestCase):
    def test_every_shipped_preset_has_expected_outputs(self):
        shipped = {entry["name"] for entry in presets.list_presets()}
        self.assertEqual(shipped - set(EXPECTED), set())

    def test_presets_are_small_enough(self):
        for name in presets.preset_names():
            directory = presets.resolve_preset(name)
            size = sum(
                os.path.getsize(os.path.join(root, f))
                for root, _, files in os.walk(directory)
                for f in files
            )
            self.assertLessEqual(size, MAX_PRESET_BYTES, name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_known_sentences_translate_as_recorded(name):
    if name not in presets.preset_names():
        pytest.skip(f"{name} is not shipped")
    model = Seq2SeqLM.from_preset(name)
    model.compile(sampler="greedy")
    examples, _ = EXPECTED[name]
    sources = list(examples)
    assert model.generate(sources, max_length=64) == [examples[s] for s in sources]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validation_slice_score_as_recorded(name, monkeypatch):
    if name not in presets.preset_names():
        pytest.skip(f"{name} is not shipped")
    if not os.path.isdir(SHARED_DATA_DIR):
        pytest.skip(f"Data directory not found: {SHARED_DATA_DIR}")
    monkeypatch.setenv("KERAS_S2S_DATA_DIR", SHARED_DATA_DIR)
    from keras_s2s.datasets import load_multi30k
    from keras_s2s.datasets import load_multi30k_references
    from keras_s2s.training.evaluation import score_translations

    model = Seq2SeqLM.from_preset(name)
    model.compile(sampler="greedy")
    metadata = presets.list_presets()
    entry = next(e for e in metadata if e["name"] == name)
    source_language, target_language = entry["languages"].split("-")
    sources, targets = load_multi30k("val", source_language, target_language)
    references = load_multi30k_references("val", target_language)
    hypotheses = model.generate(sources[:64], max_length=64)
    score = score_translations(
        hypotheses, targets[:64], "multi30k_bleu", language=target_language,
        split="val", tokenized_references=references[:64],
    ).score
    assert score == pytest.approx(EXPECTED[name][1], abs=0.01)
