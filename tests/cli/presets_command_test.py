"""`keras-s2s presets`: the table of presets."""

import json
import os

from keras_s2s import presets
from tests.cli.cli_test_utils import CLITestCase
from tests.cli.cli_test_utils import own_lines
from tests.cli.cli_test_utils import run_cli
from tests.cli.cli_test_utils import run_main


class PresetsCommandTest(CLITestCase):
    def test_table_in_a_process(self):
        result = run_cli(["presets", "--presets-dir", self.presets_dir])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(own_lines(result.stderr), [])
        header, rule, row = result.stdout.splitlines()
        self.assertEqual(header.split(), ["name", "task", "languages", "domain", "params",
                                          "size", "headline", "score"])
        self.assertEqual(set(rule.replace(" ", "")), {"-"})
        size = sum(
            os.path.getsize(os.path.join(root, name))
            for root, _, names in os.walk(self.preset_dir)
            for name in names
            if name != "metadata.json"
        )
        params = self.model.count_params()
        self.assertLess(params, 10**6)
        self.assertEqual(
            row.split(),
            ["tiny_test_en_de", "translation", "en-de", "-", f"{params / 1e3:.1f}", "K",
             f"{size / 2**20:.1f}", "MiB", "12.34", "multi30k_bleu", "(test_2016_flickr)"],
        )

    def test_markdown_json_and_empty(self):
        status, stdout, _ = run_main(["presets", "--presets-dir", self.presets_dir,
                                      "--format", "markdown"])
        self.assertEqual(status, 0)
        lines = stdout.splitlines()
        self.assertEqual(
            lines[0], "| name | task | languages | domain | params | size | headline score |"
        )
        self.assertTrue(lines[2].startswith("| tiny_test_en_de | translation | en-de | - | "))
        self.assertTrue(lines[2].endswith(" | 12.34 multi30k_bleu (test_2016_flickr) |"))
        status, stdout, _ = run_main(["presets", "--presets-dir", self.presets_dir,
                                      "--format", "json"])
        self.assertEqual(json.loads(stdout), presets.list_presets(self.presets_dir))
        empty = os.path.join(self.tmp_dir, "empty")
        os.makedirs(empty)
        self.assertEqual(run_main(["presets", "--presets-dir", empty]),
                         (0, f"No presets in '{empty}'.\n", ""))
        # The shipped presets: a table, or a sentence when there are none.
        status, stdout, _ = run_main(["presets"])
        self.assertEqual(status, 0)
        shipped = presets.list_presets()
        if shipped:
            self.assertEqual(len(stdout.splitlines()), 2 + len(shipped))
        else:
            self.assertEqual(stdout, "No presets are shipped with this installation of keras-s2s.\n")
        status, _, stderr = run_main(["presets", "--presets-dir", os.path.join(empty, "x")])
        self.assertUserError(status, stderr, r"presets directory '.*' does not exist")

    def test_shipped_presets_show_their_domain(self):
        status, stdout, _ = run_main(["presets"])
        self.assertEqual(status, 0)
        rows = {line.split()[0]: line for line in stdout.splitlines()[2:]}
        self.assertIn("image captions", rows["multi30k_en_de_gru_bahdanau"])
        self.assertIn("37.43 multi30k_bleu (test_2016_flickr)", rows["multi30k_en_de_gru_bahdanau"])
        self.assertIn("English news sentences", rows["sentence_compression_lstm_luong_copy"])
