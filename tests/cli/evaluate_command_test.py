"""`keras-s2s evaluate`: scores on a slice, with their protocol and signature."""

import json
import os

import pytest

from keras_s2s.datasets import load_multi30k
from keras_s2s.datasets import load_multi30k_references
from keras_s2s.training import METRIC_DESCRIPTIONS
from keras_s2s.training import score_translations
from tests.cli.cli_test_utils import DATA_DIR
from tests.cli.cli_test_utils import CLITestCase
from tests.cli.cli_test_utils import run_cli
from tests.cli.cli_test_utils import run_main

pytestmark = pytest.mark.needs_data
SLICE = 6


class EvaluateCommandTest(CLITestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sources, cls.references = load_multi30k("val", "en", "de", data_dir=DATA_DIR)
        cls.sources, cls.references = sources[:SLICE], cls.references[:SLICE]
        cls.hypotheses = cls.model.generate(cls.sources)
        tokenized = load_multi30k_references("val", "de", data_dir=DATA_DIR)[:SLICE]
        cls.expected = {
            metric: score_translations(
                cls.hypotheses, cls.references, metric, language="de", split="val",
                tokenized_references=tokenized,
            )
            for metric in ("multi30k_bleu", "sacrebleu", "chrf")
        }

    def test_slice_in_a_process_as_json(self):
        result = run_cli(["evaluate", "--preset", self.preset_dir, "--split", "val",
                          "--max-examples", str(SLICE), "--batch-size", "4", "--json"])
        self.assertEqual(result.returncode, 0, result.stderr)
        report = json.loads(result.stdout)
        self.assertEqual(report["data"], "multi30k val en->de")
        self.assertEqual((report["examples"], report["total_examples"]), (SLICE, 1014))
        self.assertEqual(report["search"], "GreedySampler()")
        self.assertEqual([s["metric"] for s in report["scores"]],
                         ["multi30k_bleu", "sacrebleu", "chrf"])
        for score in report["scores"]:
            expected = self.expected[score["metric"]]
            self.assertEqual(score["score"], round(expected.score, 2))
            self.assertEqual(score["signature"], expected.signature)
            self.assertEqual(score["protocol"], METRIC_DESCRIPTIONS[score["metric"]])
        self.assertIn("tok:none", report["scores"][0]["signature"])

    def test_text_report_from_files(self):
        source = os.path.join(self.tmp_dir, "val.en")
        reference = os.path.join(self.tmp_dir, "val.de")
        hypotheses = os.path.join(self.tmp_dir, "hyp.de")
        for path, lines in ((source, self.sources), (reference, self.references)):
            with open(path, "w", encoding="utf-8") as file:
                file.write("\n".join(lines) + "\n")
        status, stdout, stderr = run_main(
            ["evaluate", "--preset", self.preset_dir, "--source-file", source,
             "--reference-file", reference, "--metric", "chrf", "--output-file",
             hypotheses, "--quiet"]
        )
        self.assertEqual(status, 0, stderr)
        with open(hypotheses, encoding="utf-8") as file:
            self.assertEqual(file.read().splitlines(), self.hypotheses)
        chrf = self.expected["chrf"]
        self.assertEqual(
            stdout.splitlines(),
            [
                "preset:   tiny_test_en_de",
                f"data:     '{source}', {SLICE} sentences",
                "search:   GreedySampler(), max_length=8",
                f"chrf           {chrf.score:6.2f}  {chrf.signature}",
                f"               protocol: {METRIC_DESCRIPTIONS['chrf']}",
            ],
        )

    def test_user_errors(self):
        short = os.path.join(self.tmp_dir, "short.txt")
        with open(short, "w", encoding="utf-8") as file:
            file.write("one line\n")
        with open(os.path.join(self.tmp_dir, "two.txt"), "w", encoding="utf-8") as file:
            file.write("one\ntwo\n")
        two = os.path.join(self.tmp_dir, "two.txt")
        preset = ["--preset", self.preset_dir]
        cases = [
            (["--split", "test"], r"unknown Multi30k split 'test'"),
            (["--data-dir", os.path.join(self.tmp_dir, "nodata")], r"Data directory .* does not exist"),
            (["--source-file", short], r"--source-file and --reference-file go together"),
            (["--source-file", short, "--reference-file", two], r"has 1 lines but .* has 2"),
            (["--source-file", short, "--reference-file", short, "--metric", "multi30k_bleu"], r"multi30k_bleu needs the official"),
            (["--max-examples", "0"], r"--max-examples: expected an integer >= 1"),
            (["--n-best", "2"], r"unrecognized arguments: --n-best 2"),
        ]
        for args, pattern in cases:
            with self.subTest(args=args):
                status, stdout, stderr = run_main(["evaluate", *preset, *args])
                self.assertUserError(status, stderr, pattern)
                self.assertEqual(stdout, "")
