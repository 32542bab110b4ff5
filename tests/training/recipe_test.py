import json
import os

import pytest

from keras_s2s.training import Recipe
from keras_s2s.training.task_data import DATASETS
from tests.test_case import TestCase

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZOO_DIR = os.path.join(REPO_ROOT, "zoo")


def minimal(**overrides):
    config = {
        "name": "tiny_en_de",
        "data": {"source_language": "en", "target_language": "de"},
        "tokenizer": {"vocabulary_size": 300},
        "model": {"embedding_dim": 16, "hidden_dim": 32},
    }
    config.update(overrides)
    return config


class RecipeTest(TestCase):
    def test_defaults_are_filled_and_config_round_trips(self):
        recipe = Recipe.from_dict(minimal())
        config = recipe.get_config()
        self.assertEqual(config["training"]["batch_size"], 64)
        self.assertEqual(config["training"]["epochs"], 20)
        self.assertEqual(config["optimizer"]["class_name"], "Adam")
        self.assertEqual(config["data"]["test_splits"], ["test_2016_flickr"])
        self.assertEqual(config["evaluation"]["search"], "greedy")
        self.assertEqual(config["evaluation"]["headline_metric"], "multi30k_bleu")
        self.assertEqual(config["evaluation"]["headline_split"], "test_2016_flickr")
        self.assertIsNone(config["scheduled_sampling"])
        self.assertEqual(Recipe.from_dict(config).get_config(), config)
        # JSON-serializable as recorded in presets.
        self.assertEqual(json.loads(json.dumps(config)), config)

    def test_gradient_clipping_is_on_by_default(self):
        import keras

        sgd = {"class_name": "SGD", "config": {"learning_rate": 0.1}}
        cases = [
            (None, 5.0, None),
            (sgd, 5.0, None),
            ({"class_name": "SGD"}, 5.0, None),
            ({"class_name": "SGD", "config": {"clipnorm": 1.0}}, None, 1.0),
            ({"class_name": "SGD", "config": {"global_clipnorm": None}}, None, None),
        ]
        for optimizer, global_clipnorm, clipnorm in cases:
            recipe = Recipe.from_dict(minimal(optimizer=optimizer))
            built = keras.optimizers.get(recipe.optimizer)
            self.assertEqual(built.global_clipnorm, global_clipnorm, optimizer)
            self.assertEqual(built.clipnorm, clipnorm, optimizer)
        self.assertEqual(sgd["config"], {"learning_rate": 0.1})  # Not mutated.
        with pytest.raises(ValueError, match="optimizer config"):
            Recipe.from_dict(minimal(optimizer={"class_name": "SGD", "config": "x"}))

    def test_nested_defaults(self):
        recipe = Recipe.from_dict(
            minimal(
                training={"reduce_lr_on_plateau": {"factor": 0.3}},
                scheduled_sampling={"max_probability": 0.2},
            )
        )
        self.assertEqual(
            recipe.training["reduce_lr_on_plateau"],
            {"factor": 0.3, "patience": 2, "min_learning_rate": 1e-5},
        )
        self.assertEqual(
            recipe.scheduled_sampling,
            {"max_probability": 0.2, "start_epoch": 1, "ramp_epochs": 1},
        )

    def test_fingerprint_ignores_epochs_description_and_evaluation(self):
        base = Recipe.from_dict(minimal()).fingerprint()
        self.assertEqual(len(base), 64)
        same = [
            minimal(training={"epochs": 99}),
            minimal(description="other words"),
            minimal(evaluation={"search": "beam"}),
        ]
        for config in same:
            self.assertEqual(Recipe.from_dict(config).fingerprint(), base)
        different = [
            minimal(model={"embedding_dim": 16, "hidden_dim": 64}),
            minimal(seed=1),
            minimal(training={"batch_size": 32}),
            minimal(validation={"metric": "chrf"}),
        ]
        for config in different:
            self.assertNotEqual(Recipe.from_dict(config).fingerprint(), base)

    def test_errors_name_the_key_and_the_allowed_values(self):
        cases = [
            (minimal(extra=1), "Unknown recipe key 'extra'"),
            (minimal(name="Bad Name"), "name"),
            (minimal(data={"source_language": "en", "target_language": "en"}),
             "differ"),
            (minimal(data={"source_language": "xx", "target_language": "de"}),
             "data.source_language in"),
            (minimal(data={"source_language": "en", "target_language": "de",
                           "split": "train"}), "Unknown key 'split'"),
            (minimal(tokenizer={"vocabulary_size": 3}), "vocabulary_size"),
            (minimal(tokenizer={"vocabulary_size": {"source": 100, "target": 100}}),
             "joint = false"),
            (minimal(model={"encoder_vocabulary_size": 10}), "come from the trained tokenizer"),
            (minimal(model={"hidden_size": 10}), "Unknown key 'hidden_size'"),
            (minimal(training={"batch_size": 0}), "training.batch_size"),
            (minimal(training={"bucket_boundaries": [8, 8]}), "bucket_boundaries"),
            (minimal(training={"label_smoothing": 1.0}), "label_smoothing"),
            (minimal(validation={"metric": "bleu"}), "validation.metric in"),
            (minimal(validation={"search": 5}), "validation.search"),
            (minimal(optimizer="adam"), "optimizer config"),
            (minimal(scheduled_sampling={"max_probability": 2.0}), "max_probability"),
            (minimal(evaluation={"headline_split": "train"}), "headline_split"),
        ]
        for config, message in cases:
            with self.subTest(message=message):
                with pytest.raises(ValueError, match=message):
                    Recipe.from_dict(config)

    def test_from_file_json_and_yaml(self):
        config = minimal()
        json_path = os.path.join(self.tmp_dir, "recipe.json")
        with open(json_path, "w") as file:
            json.dump(config, file)
        from_json = Recipe.from_file(json_path)
        self.assertEqual(from_json.name, "tiny_en_de")
        yaml = pytest.importorskip("yaml")
        yaml_path = os.path.join(self.tmp_dir, "recipe.yaml")
        with open(yaml_path, "w") as file:
            yaml.safe_dump(config, file)
        self.assertEqual(Recipe.from_file(yaml_path).get_config(), from_json.get_config())
        bad = os.path.join(self.tmp_dir, "recipe.txt")
        with open(bad, "w") as file:
            file.write("{}")
        with pytest.raises(ValueError, match=r"\.json, \.yaml or \.yml"):
            Recipe.from_file(bad)
        with pytest.raises(FileNotFoundError, match="No recipe file"):
            Recipe.from_file(os.path.join(self.tmp_dir, "missing.json"))
        broken = os.path.join(self.tmp_dir, "broken.json")
        with open(broken, "w") as file:
            file.write("{")
        with pytest.raises(ValueError, match="not valid JSON"):
            Recipe.from_file(broken)

    def test_zoo_recipes_are_valid_and_named_after_their_files(self):
        names = sorted(n for n in os.listdir(ZOO_DIR) if n.endswith(".json"))
        self.assertGreaterEqual(len(names), 2)
        for file_name in names:
            recipe = Recipe.from_file(os.path.join(ZOO_DIR, file_name))
            self.assertEqual(recipe.name + ".json", file_name)
            self.assertIn(recipe.data["dataset"], DATASETS)
            # The headline metric is one the data set is scored with.
            self.assertIn(recipe.evaluation["headline_metric"], recipe.task_data.metrics)


class TaskRecipeTest(TestCase):
    """Recipes for data-to-text, G2P and compression data sets."""

    def test_defaults_come_from_the_data_set(self):
        expected = {
            "e2e": ("dev", "e2e_bleu", "data-to-text", ("mr", "en")),
            "cmudict": ("dev", "wer", "grapheme-to-phoneme", ("graphemes", "arpabet")),
            "sentence_compression": ("dev", "token_f1", "sentence-compression", ("en", "en")),
            "multi30k": ("val", "multi30k_bleu", "translation", ("en", "de")),
        }
        for dataset, (split, metric, task, languages) in expected.items():
            data = {"dataset": dataset}
            if dataset == "multi30k":
                data.update(source_language="en", target_language="de")
            recipe = Recipe.from_dict({"name": "x", "data": data})
            self.assertEqual(recipe.data["validation_split"], split)
            self.assertEqual(recipe.validation["metric"], metric)
            self.assertEqual(recipe.task, task)
            self.assertEqual((recipe.source_language, recipe.target_language), languages)

    def test_wer_is_minimized_and_bleu_maximized(self):
        g2p = Recipe.from_dict({"name": "g", "data": {"dataset": "cmudict"}})
        e2e = Recipe.from_dict({"name": "e", "data": {"dataset": "e2e"}})
        self.assertFalse(g2p.greater_is_better)
        self.assertTrue(e2e.greater_is_better)

    def test_bad_task_recipes_say_what_is_wrong(self):
        cases = [
            ({"dataset": "e2e", "validation_split": "val"}, {}, "data.validation_split"),
            ({"dataset": "e2e", "source_language": "en"}, {}, "translation data sets"),
            ({"dataset": "cmudict"}, {"validation": {"metric": "e2e_bleu"}}, "validation.metric"),
            (
                {"dataset": "sentence_compression"},
                {"validation": {"metric": "compression_ratio"}},
                "does not rank",
            ),
            (
                {"dataset": "cmudict"},
                {"tokenizer": {"type": "symbol", "source_split": "bytes"}},
                "tokenizer.source_split",
            ),
            (
                {"dataset": "cmudict"},
                {"tokenizer": {"type": "symbol", "joint": True}},
                "separate source and target",
            ),
            ({"dataset": "wikipedia"}, {}, "data.dataset"),
        ]
        for data, extra, message in cases:
            with self.subTest(message=message):
                with pytest.raises(ValueError, match=message):
                    Recipe.from_dict({"name": "x", "data": data, **extra})

    def test_symbol_tokenizer_keys_do_not_change_sentencepiece_fingerprints(self):
        # Runs started before symbol tokenizers existed still resume.
        config = {
            "name": "x",
            "data": {"source_language": "en", "target_language": "de"},
        }
        recipe = Recipe.from_dict(config)
        self.assertNotIn("source_split", recipe.tokenizer)
        self.assertEqual(recipe.fingerprint(), Recipe.from_dict(recipe.get_config()).fingerprint())
