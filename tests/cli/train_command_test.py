"""`keras-s2s train` and `tools/train.py`: recipes, errors, a run and its resume."""

import copy
import json
import os
import shlex
import subprocess
import sys

import keras
import pytest

from keras_s2s import presets
from keras_s2s.cli import train_command
from keras_s2s.presets import preset_registry
from keras_s2s.training import Recipe
from tests.cli.cli_test_utils import DATA_DIR
from tests.cli.cli_test_utils import REPO_ROOT
from tests.cli.cli_test_utils import CLITestCase
from tests.cli.cli_test_utils import cli_env
from tests.cli.cli_test_utils import own_lines
from tests.cli.cli_test_utils import run_main
from tests.training.trainer_test import TINY


def tiny_recipe(name="tiny_cli_en_de"):
    recipe = copy.deepcopy(TINY)
    recipe["name"] = name
    recipe["data"].update(max_train_examples=64, max_validation_examples=8,
                          max_test_examples=8)
    recipe["training"].update(epochs=1, average_last_n=0)
    recipe["scheduled_sampling"] = None
    recipe["evaluation"] = {"headline_metric": "chrf", "headline_split": "test_2016_flickr",
                            "batch_size": 8, "max_length": 12}
    return recipe


class TrainCommandTest(CLITestCase):
    make_tiny_preset = False

    def test_recipe_names_resolve_to_the_zoo_and_to_shipped_presets(self):
        self.assertEqual(
            train_command.resolve_recipe("multi30k_en_de_gru_bahdanau"),
            os.path.join(REPO_ROOT, "zoo", "multi30k_en_de_gru_bahdanau.json"),
        )
        config = Recipe.from_dict(tiny_recipe("recorded")).get_config()
        preset_dir = os.path.join(self.tmp_dir, "recorded")
        os.makedirs(preset_dir)
        presets.write_metadata(preset_dir, {"keras_s2s": {"recipe": config}})
        with mock_presets_dir(self.tmp_dir):
            recipe = train_command.resolve_recipe("recorded")
        self.assertEqual(recipe.get_config(), config)

    def test_model_card_command(self):
        backend = keras.backend.backend()
        argv = ["my recipe.json", "--output-dir", "out"]
        self.assertEqual(
            train_command.reproduce_command(argv),
            f"KERAS_BACKEND={backend} keras-s2s train 'my recipe.json' --output-dir out",
        )
        self.assertEqual(
            train_command.reproduce_command(argv, "tools/train.py"),
            f"KERAS_BACKEND={backend} python tools/train.py 'my recipe.json' --output-dir out",
        )

    def test_model_card_command_writes_home_paths_with_a_tilde(self):
        backend = keras.backend.backend()
        home = os.path.expanduser("~")
        argv = ["r.json", "--checkpoint-dir", os.path.join(home, ".cache", "my run")]
        self.assertEqual(
            train_command.reproduce_command(argv),
            f"KERAS_BACKEND={backend} keras-s2s train r.json --checkpoint-dir ~/'.cache/my run'",
        )
        # Only a whole leading home directory is shortened.
        other = home.rstrip(os.sep) + "-other/out"
        self.assertIn(f"--output-dir {other}", train_command.reproduce_command(["--output-dir", other]))

    def test_user_errors(self):
        recipe = os.path.join(self.tmp_dir, "tiny.json")
        with open(recipe, "w") as file:
            json.dump(tiny_recipe(), file)
        bad = os.path.join(self.tmp_dir, "bad.json")
        with open(bad, "w") as file:
            json.dump(dict(tiny_recipe(), epochs=3), file)
        existing = os.path.join(self.tmp_dir, "existing")
        os.makedirs(existing)
        cases = [
            (["missing.json", "--output-dir", "x"], r"recipe file 'missing.json' does not exist", 1),
            (["no_such_recipe", "--output-dir", "x"], r"no recipe 'no_such_recipe'", 1),
            ([recipe], r"the following arguments are required: --output-dir", 2),
            ([recipe, "--output-dir", "x", "--max-epochs", "0"], r"--max-epochs must be >= 1", 2),
            ([bad, "--output-dir", "x"], r"Recipe '.*bad.json': Unknown recipe key 'epochs'", 1),
            ([recipe, "--output-dir", existing, "--checkpoint-dir", self.tmp_dir],
             r"The preset directory '.*existing' already exists", 1),
        ]
        for args, pattern, code in cases:
            with self.subTest(args=args):
                status, _, stderr = run_main(["train", *args])
                self.assertUserError(status, stderr, pattern, exit_code=code)
        # tools/train.py is the same command.
        result = subprocess.run(
            [sys.executable, os.path.join("tools", "train.py"), "missing.json",
             "--output-dir", "x"],
            capture_output=True, text=True, env=cli_env(), cwd=REPO_ROOT, timeout=300,
        )
        self.assertEqual(result.returncode, 1)
        self.assertEqual(
            own_lines(result.stderr),
            ["tools/train.py: error: recipe file 'missing.json' does not exist."],
        )

    @pytest.mark.slow
    @pytest.mark.needs_data
    def test_train_then_resume_for_one_more_epoch(self):
        recipe = os.path.join(self.tmp_dir, "tiny.json")
        with open(recipe, "w") as file:
            json.dump(tiny_recipe(), file)
        output = os.path.join(self.tmp_dir, "presets", "tiny_cli_en_de")
        argv = ["train", recipe, "--output-dir", output, "--checkpoint-dir",
                os.path.join(self.tmp_dir, "run"), "--data-dir", DATA_DIR, "--verbose", "2"]
        status, stdout, stderr = run_main(argv)
        self.assertEqual(status, 0, stderr)
        info = presets.verify_preset(output)["keras_s2s"]
        self.assertEqual(
            info["command"],
            f"KERAS_BACKEND={keras.backend.backend()} keras-s2s train "
            + shlex.join(argv[1:]),
        )
        headline = info["headline_score"]
        self.assertEqual(stdout.splitlines()[-1],
                         f"tiny_cli_en_de: {headline['value']:.2f} chrf on test_2016_flickr")
        self.assertEqual(info["training"]["epochs_run"], 1)
        # The same command with one more epoch resumes from epoch 1.
        status, stdout, stderr = run_main(argv + ["--max-epochs", "2", "--overwrite"])
        self.assertEqual(status, 0, stderr)
        self.assertIn("Resuming from", stdout)
        self.assertIn("Epoch 2/2", stdout)
        self.assertNotIn("Epoch 1/2", stdout)
        info = presets.verify_preset(output)["keras_s2s"]
        self.assertEqual([h["epoch"] for h in info["training"]["history"]], [1, 2])


class mock_presets_dir:
    """Points the shipped-preset registry at another directory."""

    def __init__(self, presets_dir):
        self.presets_dir = presets_dir

    def __enter__(self):
        self.saved = preset_registry.PRESETS_DIR
        preset_registry.PRESETS_DIR = self.presets_dir

    def __exit__(self, *exc):
        preset_registry.PRESETS_DIR = self.saved
