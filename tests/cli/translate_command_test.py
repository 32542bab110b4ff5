"""`keras-s2s translate`: arguments, stdin and files; search options; n-best."""

import os
import re

from keras_s2s.samplers import BeamSampler
from keras_s2s.samplers import TopKSampler
from tests.cli.cli_test_utils import CONSOLE_SCRIPT
from tests.cli.cli_test_utils import CLITestCase
from tests.cli.cli_test_utils import own_lines
from tests.cli.cli_test_utils import run_cli
from tests.cli.cli_test_utils import run_main

SENTENCES = ["a dog runs .", "two men play .", "two men"]
N_BEST_LINE = re.compile(r"^(\d+) \|\|\| (.*) \|\|\| (-?\d+\.\d{4})$")


class TranslateCommandTest(CLITestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.greedy = cls.model.generate(SENTENCES)
        cls.beam = cls.model.generate(
            SENTENCES, sampler=BeamSampler(num_beams=3, length_penalty=0.6)
        )

    def test_console_script_translates_arguments(self):
        self.assertIsNotNone(CONSOLE_SCRIPT, "the keras-s2s command is not installed")
        result = run_cli(
            ["translate", "--preset", self.preset_dir, *SENTENCES], console_script=True
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines(), self.greedy)
        # TensorFlow's C++ start-up lines are silenced; only our own remain.
        self.assertEqual(own_lines(result.stderr), result.stderr.splitlines())

    def test_stdin_through_the_generate_alias_keeps_empty_lines(self):
        text = f"{SENTENCES[0]}\n\n{SENTENCES[1]}\n   \n{SENTENCES[2]}\n"
        result = run_cli(["generate", "--preset", self.preset_dir], input=text)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            result.stdout.split("\n"),
            [self.greedy[0], "", self.greedy[1], "", self.greedy[2], ""],
        )
        # No progress bar for stdin; Python warnings (the tiny preset
        # truncates long sources) are one line each.
        lines = own_lines(result.stderr)
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertRegex(
            lines[0], r"^keras-s2s translate: warning: 2 of 3 source texts .* truncated"
        )

    def test_input_and_output_files_in_padded_batches_with_a_progress_bar(self):
        source = os.path.join(self.tmp_dir, "test.en")
        target = os.path.join(self.tmp_dir, "test.de")
        with open(source, "w", encoding="utf-8") as file:
            file.write("\n".join(SENTENCES) + "\n")
        # Batches of 2: the last one holds one sentence plus a padding copy.
        status, stdout, stderr = run_main(
            ["translate", "--preset", self.preset_dir, "--input-file", source,
             "--output-file", target, "--batch-size", "2"]
        )
        self.assertEqual(status, 0, stderr)
        self.assertEqual(stdout, "")
        with open(target, encoding="utf-8") as file:
            self.assertEqual(file.read().splitlines(), self.greedy)
        self.assertIn("3/3", stderr)  # The Keras progress bar, on stderr.

    def test_seeded_sampling_equals_the_library(self):
        # --top-k implies --sampler top_k; a fresh seeded sampler per run.
        expected = self.model.generate(SENTENCES, sampler=TopKSampler(k=4, seed=7))
        status, stdout, stderr = run_main(
            ["translate", "--preset", self.preset_dir, "--top-k", "4", "--seed", "7",
             "--quiet", *SENTENCES]
        )
        self.assertEqual(status, 0, stderr)
        self.assertEqual(stdout.splitlines(), expected)

    def test_n_best_lines_with_beam_options(self):
        status, stdout, stderr = run_main(
            ["translate", "--preset", self.preset_dir, "--n-best", "3",
             "--num-beams", "3", "--length-penalty", "0.6", *SENTENCES]
        )
        self.assertEqual(status, 0, stderr)
        lines = [N_BEST_LINE.match(line) for line in stdout.splitlines()]
        self.assertTrue(all(lines), stdout)
        by_sentence = {}
        for match in lines:
            by_sentence.setdefault(int(match[1]), []).append(
                (match[2], float(match[3]))
            )
        self.assertEqual(sorted(by_sentence), [0, 1, 2])
        for index, hypotheses in by_sentence.items():
            self.assertEqual(len(hypotheses), 3)
            scores = [score for _, score in hypotheses]
            self.assertEqual(scores, sorted(scores, reverse=True))
            # The first of the n-best is the beam search's single best.
            self.assertEqual(hypotheses[0][0], self.beam[index])

    def test_user_errors(self):
        missing = os.path.join(self.tmp_dir, "missing.txt")
        cases = [
            (["--preset", "no_such_preset", "a"], r"unknown preset 'no_such_preset'.*keras-s2s presets"),
            (["--preset", self.preset_dir, "-i", missing], r"input file '.*missing.txt' does not exist"),
            (["--preset", self.preset_dir, "--num-beams", "0", "a"], r"--num-beams: expected an integer >= 1, got '0'"),
            (["--preset", self.preset_dir, "--top-p", "1.5", "a"], r"--top-p: expected a number in \(0, 1\]"),
            (["--preset", self.preset_dir, "--sampler", "greedy", "--num-beams", "2", "a"], r"--num-beams does not apply to --sampler greedy"),
            (["--preset", self.preset_dir, "--top-p", "0.5", "--num-beams", "2", "a"], r"different samplers.*--sampler"),
            (["--preset", self.preset_dir, "--n-best", "4", "--num-beams", "2", "a"], r"--n-best 4 needs at least as many beams"),
            (["--preset", self.preset_dir, "-i", missing, "a"], r"not both"),
            (["--preset", self.preset_dir, "--sampler", "best", "a"], r"invalid choice: 'best'.*keras-s2s translate --help"),
            (["--preset", self.preset_dir, "-o", os.path.join(missing, "x"), "a"], r"does not exist"),
        ]
        for args, pattern in cases:
            with self.subTest(args=args):
                status, stdout, stderr = run_main(["translate", *args])
                self.assertUserError(status, stderr, pattern)
                self.assertEqual(stdout, "")
