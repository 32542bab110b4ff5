"""Every preset shipped in the package: size, integrity, known outputs.

The expected strings are the greedy outputs recorded when the preset was
shipped; every backend must reproduce them exactly (the same weights give
the same tokens under TensorFlow, JAX and PyTorch).
"""

import json
import os

import pytest

from keras_s2s import presets
from keras_s2s.models import Seq2SeqLM
from tests.datasets.conftest import SHARED_DATA_DIR
from tests.test_case import TestCase
from tests.shared_data import require_shared_data

MAX_PRESET_BYTES = 25 * 10**6

# preset name -> ({source: greedy output}, greedy score of the first 64
# validation inputs with the recipe's validation metric: Multi30k-protocol
# BLEU or sacreBLEU, E2E multi-reference BLEU, WER or token F1).
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
    "multi30k_de_en_lstm_luong": (
        {
            "Ein Mann fährt Fahrrad.": "A man is riding a bike.",
            "Zwei Hunde spielen im Schnee.": "Two dogs are playing in the snow.",
            "Ein kleines Mädchen in einem rosa Kleid isst ein Eis.":
                "A little girl in a pink dress eating an ice cream.",
            "Leute gehen eine belebte Straße in der Stadt entlang.":
                "People are walking in a city street.",
        },
        37.31,
    ),
    "cmudict_g2p_lstm_luong": (
        {
            "cat": "K AE T",
            "phoneme": "F AH N IY M",
            "keras": "K EH R AH Z",
            "sequence": "S IY K W AH N S",
            "Tuesday": "T UW Z D EY",
        },
        31.25,
    ),
    "e2e_nlg_lstm_luong_copy": (
        {
            "name[The Eagle], eatType[coffee shop], food[French], priceRange[moderate], "
            "customer rating[3 out of 5], area[riverside], familyFriendly[yes], "
            "near[Burger King]":
                "The Eagle is a coffee shop that serves French food. It is located in the "
                "riverside area near Burger King. It is kid friendly and has a moderate "
                "price range.",
            "name[Blue Spice], eatType[pub], area[city centre]":
                "Blue Spice is a pub in the city centre.",
            "name[Zizzi], eatType[restaurant], food[Italian], priceRange[cheap], "
            "near[The Rice Boat]":
                "Zizzi is a restaurant that serves Italian food. It is located near The "
                "Rice Boat and has a cheap price range.",
        },
        70.63,
    ),
    "sentence_compression_lstm_luong_copy": (
        {
            "The Gilmer City Council plans to consider canceling its council election, "
            "the mayor said on Tuesday.":
                "The Gilmer City Council plans to consider canceling its council election.",
            "Apple has released a new version of its iPhone operating system that fixes a "
            "security flaw, the company said in a statement on Monday.":
                "Apple has released a new version of its iPhone operating system.",
            "Police in Ohio arrested a man who allegedly robbed three banks in one day, "
            "according to a report.":
                "Police in Ohio arrested a man who allegedly robbed three banks.",
        },
        0.7700,
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
    with open(os.path.join(presets.resolve_preset(name), "metadata.json"), encoding="utf-8") as file:
        recipe = json.load(file)["keras_s2s"]["recipe"]
    max_length = recipe["preprocessor"]["decoder_sequence_length"]
    assert model.generate(sources, max_length=max_length) == [examples[s] for s in sources]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_model_card_example_is_the_preset_output(name):
    """The card's `generate()` example prints what the preset gives (its own search)."""
    if name not in presets.preset_names():
        pytest.skip(f"{name} is not shipped")
    directory = presets.resolve_preset(name)
    with open(os.path.join(directory, "metadata.json"), encoding="utf-8") as file:
        metadata = json.load(file)["keras_s2s"]
    example = metadata["example"]
    with open(os.path.join(directory, "README.md"), encoding="utf-8") as file:
        card = file.read()
    assert f"print(model.generate([{json.dumps(example['input'], ensure_ascii=False)}]))" in card
    assert json.dumps([example["output"]], ensure_ascii=False) in card
    model = Seq2SeqLM.from_preset(name)
    max_length = metadata["recipe"]["preprocessor"]["decoder_sequence_length"]
    assert model.generate([example["input"]], max_length=max_length) == [example["output"]]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validation_slice_score_as_recorded(name, monkeypatch):
    """Greedy score of the first 64 validation inputs, with the recipe's metric."""
    if name not in presets.preset_names():
        pytest.skip(f"{name} is not shipped")
    if not os.path.isdir(SHARED_DATA_DIR):
        require_shared_data()
    monkeypatch.setenv("KERAS_S2S_DATA_DIR", SHARED_DATA_DIR)
    from keras_s2s.training.evaluation import score_translations
    from keras_s2s.training.recipe import Recipe

    model = Seq2SeqLM.from_preset(name)
    model.compile(sampler="greedy")
    with open(os.path.join(presets.resolve_preset(name), "metadata.json"), encoding="utf-8") as file:
        recipe = Recipe.from_dict(json.load(file)["keras_s2s"]["recipe"])
    split, metric = recipe.data["validation_split"], recipe.validation["metric"]
    sources, references = recipe.task_data.scored_set(split)
    sources, references = sources[:64], references[:64]
    tokenized = None
    if metric == "multi30k_bleu":
        from keras_s2s.datasets import load_multi30k_references

        tokenized = load_multi30k_references(split, recipe.target_language)[:64]
    hypotheses = model.generate(sources, max_length=recipe.preprocessor["decoder_sequence_length"])
    score = score_translations(
        hypotheses, references, metric, language=recipe.target_language,
        split=split, tokenized_references=tokenized, sources=sources,
    ).score
    assert score == pytest.approx(EXPECTED[name][1], abs=1e-4 if metric == "token_f1" else 0.01)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_command_line_generates_the_recorded_outputs(name):
    """`keras-s2s generate --preset NAME` takes the task's input (a sentence, an MR)."""
    if name not in presets.preset_names():
        pytest.skip(f"{name} is not shipped")
    from tests.cli.cli_test_utils import run_main

    examples, _ = EXPECTED[name]
    sources = list(examples)[:2]
    status, stdout, stderr = run_main(
        ["generate", "--preset", name, "--sampler", "greedy", "-q", *sources]
    )
    assert status == 0, stderr
    assert stdout.splitlines() == [examples[s] for s in sources]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_model_card_states_domain_limits_and_two_honest_examples(name):
    """Domain, strengths, weaknesses, an in- and an out-of-domain example as generated."""
    if name not in presets.preset_names():
        pytest.skip(f"{name} is not shipped")
    directory = presets.resolve_preset(name)
    with open(os.path.join(directory, "metadata.json"), encoding="utf-8") as file:
        use = json.load(file)["keras_s2s"]["model_card"]
    with open(os.path.join(directory, "README.md"), encoding="utf-8") as file:
        card = file.read()
    for key, label in (("domain", "Domain"), ("strengths", "Good at"), ("weaknesses", "Bad at")):
        assert f"- {label}: {use[key]}" in card
    assert [e["kind"] for e in use["examples"]] == ["in-domain", "out-of-domain"]
    model = Seq2SeqLM.from_preset(name)
    inputs = [e["input"] for e in use["examples"]]
    assert model.generate(inputs) == [e["output"] for e in use["examples"]]
    for example in use["examples"]:
        assert f"| {example['kind']} | {example['output']} |" in card
