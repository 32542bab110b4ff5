"""tools/evaluate_presets.py: the one table of every preset's scores."""

import contextlib
import io
import json
import os

import pytest

from keras_s2s import presets
from tests.datasets.conftest import SHARED_DATA_DIR
from tests.presets.shipped_presets_test import EXPECTED
from tests.test_case import TestCase
from tests.test_case import load_tool
from tests.shared_data import require_shared_data


class EvaluatePresetsToolTest(TestCase):
    def test_recorded_table_lists_every_score_of_every_preset(self):
        tool = load_tool("evaluate_presets.py")
        path = os.path.join(self.tmp_dir, "rows.json")
        with contextlib.redirect_stdout(io.StringIO()) as stdout:
            self.assertEqual(tool.main(["--recorded", "--markdown", "--json", path]), 0)
        with open(path, encoding="utf-8") as file:
            rows = json.load(file)
        expected = []
        for entry in presets.list_presets():
            with open(os.path.join(entry["path"], "metadata.json"), encoding="utf-8") as file:
                scores = json.load(file)["keras_s2s"]["scores"]
            expected += [(entry["name"], s["split"], s["metric"], s["value"]) for s in scores]
        self.assertEqual([(r["preset"], r["split"], r["metric"], r["value"]) for r in rows], expected)
        self.assertEqual(len(stdout.getvalue().splitlines()), len(expected) + 2)

    def test_measured_scores_match_a_fresh_greedy_run(self):
        name = "sentence_compression_lstm_luong_copy"
        if name not in presets.preset_names():
            pytest.skip(f"{name} is not shipped")
        if not os.path.isdir(SHARED_DATA_DIR):
            require_shared_data()
        tool = load_tool("evaluate_presets.py")
        path = os.path.join(self.tmp_dir, "rows.json")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            tool.main(["--preset", name, "--max-examples", "64", "--data-dir",
                       SHARED_DATA_DIR, "--json", path])
        with open(path, encoding="utf-8") as file:
            rows = {r["metric"]: r["value"] for r in json.load(file)}
        # The preset's recorded search is greedy: the first 64 dev pairs score
        # as in the shipped-presets test.
        self.assertAlmostEqual(rows["token_f1"], EXPECTED[name][1], delta=1e-4)
        self.assertEqual(sorted(rows), ["compression_ratio", "rouge_l", "token_f1"])
