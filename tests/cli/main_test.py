"""`keras-s2s`: help, version, the default preset, search options, error reporting."""

import argparse
from unittest import mock

import pytest

from keras_s2s.cli import cli_utils
from keras_s2s.cli.cli_error import CLIError
from keras_s2s.cli.main import build_parser
from keras_s2s.samplers import BeamSampler
from keras_s2s.samplers import ExactSampler
from keras_s2s.samplers import GreedySampler
from keras_s2s.samplers import TopPSampler
from keras_s2s.version import __version__
from tests.cli.cli_test_utils import CLITestCase
from tests.cli.cli_test_utils import own_lines
from tests.cli.cli_test_utils import run_cli
from tests.cli.cli_test_utils import run_main

COMMANDS = ("translate", "generate", "evaluate", "train", "presets", "plot-attention",
            "export", "serve")
RECORDED_BEAM = {"class_name": "BeamSampler", "config": {"num_beams": 4, "length_penalty": 0.6}}


def search_args(*argv):
    parser = argparse.ArgumentParser()
    cli_utils.add_search_arguments(parser)
    return parser.parse_args(list(argv))


def preset_entry(name, languages, value, task="translation"):
    return {"name": name, "task": task, "languages": languages, "params": 1,
            "size_bytes": 1, "path": name,
            "headline_score": {"metric": "multi30k_bleu", "split": "test", "value": value}}


class MainTest(CLITestCase):
    make_tiny_preset = False

    def test_help_of_every_command_has_examples(self):
        status, stdout, _ = run_main(["--help"])
        self.assertEqual(status, 0)
        for command in ("translate", "evaluate", "train", "presets", "plot-attention",
                        "export", "serve"):
            self.assertIn(command, stdout)
        for command in COMMANDS:
            with self.subTest(command=command):
                status, stdout, stderr = run_main([command, "--help"])
                self.assertEqual((status, stderr), (0, ""))
                self.assertIn("usage: keras-s2s ", stdout)
                self.assertIn("examples:\n  keras-s2s", stdout.replace("KERAS_BACKEND=jax ", ""))
        status, stdout, _ = run_main(["--version"])
        self.assertEqual(status, 0)
        self.assertRegex(stdout, rf"^keras-s2s {__version__} \(keras .*, backend \w+\)$")

    def test_user_error_in_a_process_is_one_line_without_traceback(self):
        result = run_cli(["translate", "--preset", "no_such_preset", "A dog runs."])
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertNotIn("Traceback", result.stderr)
        self.assertEqual(
            own_lines(result.stderr),
            ["keras-s2s translate: error: unknown preset 'no_such_preset': not a "
             "shipped preset name (shipped: "
             + (", ".join(__import__("keras_s2s").presets.preset_names()) or "none")
             + "; see 'keras-s2s presets') and not a preset directory."],
        )

    def test_debug_raises_instead(self):
        with pytest.raises(CLIError, match="unknown preset"):
            run_main(["translate", "--preset", "no_such_preset", "a", "--debug"])
        with pytest.raises(CLIError, match="unknown preset"):
            run_main(["--debug", "translate", "--preset", "no_such_preset", "a"])

    def test_malformed_command_lines_exit_2(self):
        cases = [
            ([], None),
            (["translate", "--bogus"], r"unrecognized arguments: --bogus \(see 'keras-s2s translate --help'\)"),
            (["nosuch"], r"^keras-s2s: error: argument COMMAND: invalid choice: 'nosuch'"),
            (["translate", "--batch-size", "-1", "a"], r"--batch-size: expected an integer >= 1, got '-1'"),
            (["translate", "--max-length", "1", "a"], r"--max-length: expected an integer >= 2"),
            (["translate", "--temperature", "0", "a"], r"--temperature: expected a finite number > 0"),
            (["translate", "--temperature", "inf", "a"], r"--temperature: expected a finite number > 0, got .inf."),
            (["plot-attention", "--figsize", "4", "a"], r"plot-attention: error: "),
            (["serve", "x", "--port", "70000"], r"--port: expected a port in 0..65535"),
        ]
        for argv, pattern in cases:
            with self.subTest(argv=argv):
                status, stdout, stderr = run_main(argv)
                if pattern is None:  # No command: the help.
                    self.assertEqual(status, 0)
                    self.assertIn("commands:", stdout)
                    continue
                self.assertUserError(status, stderr, pattern, exit_code=2)

    def test_no_shipped_preset_names_the_presets_command(self):
        with mock.patch("keras_s2s.presets.list_presets", return_value=[]):
            status, stdout, stderr = run_main(["translate", "A dog runs."])
        self.assertUserError(status, stderr, r"no default preset: .*keras-s2s presets")
        self.assertEqual(stdout, "")

    def test_default_preset_is_the_best_en_de_then_de_en(self):
        presets = [
            preset_entry("de_en_best", "de-en", 40.0),
            preset_entry("en_de_low", "en-de", 30.0),
            preset_entry("en_de_high", "en-de", 35.0),
            preset_entry("g2p", "en-en", 99.0, task="g2p"),
        ]
        with mock.patch("keras_s2s.presets.list_presets", return_value=presets):
            self.assertEqual(cli_utils.default_preset(), "en_de_high")
        with mock.patch("keras_s2s.presets.list_presets", return_value=presets[:1]):
            self.assertEqual(cli_utils.default_preset(), "de_en_best")

    def test_search_options_to_samplers(self):
        # No options: the preset's recorded search, else the compiled one.
        sampler, n_best = cli_utils.build_sampler(search_args(), RECORDED_BEAM)
        self.assertIsInstance(sampler, BeamSampler)
        self.assertEqual((sampler.num_beams, sampler.length_penalty, n_best), (4, 0.6, None))
        self.assertEqual(cli_utils.build_sampler(search_args(), None), (None, None))
        # Options override the recorded search of the same sampler.
        sampler, _ = cli_utils.build_sampler(search_args("--num-beams", "8"), RECORDED_BEAM)
        self.assertEqual((sampler.num_beams, sampler.length_penalty), (8, 0.6))
        sampler, _ = cli_utils.build_sampler(
            search_args("--sampler", "greedy"), RECORDED_BEAM
        )
        self.assertIsInstance(sampler, GreedySampler)
        # Implied samplers; --top-k is top_p's cut when both are given.
        sampler, _ = cli_utils.build_sampler(
            search_args("--top-p", "0.9", "--top-k", "20", "--seed", "3"), None
        )
        self.assertIsInstance(sampler, TopPSampler)
        self.assertEqual((sampler.p, sampler.k, sampler.seed), (0.9, 20, 3))
        sampler, _ = cli_utils.build_sampler(
            search_args("--sampler", "exact", "--num-beams", "3", "--length-penalty", "1"),
            None,
        )
        self.assertIsInstance(sampler, ExactSampler)
        self.assertEqual((sampler.beam_size, sampler.length_penalty), (3, 1.0))
        # n-best: all beams returned, at least n of them.
        sampler, n_best = cli_utils.build_sampler(search_args("--n-best", "7"), RECORDED_BEAM)
        self.assertEqual((sampler.num_beams, sampler.return_all_beams, n_best), (7, True, 7))
        sampler, n_best = cli_utils.build_sampler(search_args("--n-best", "2"), RECORDED_BEAM)
        self.assertEqual((sampler.num_beams, sampler.return_all_beams, n_best), (4, True, 2))
        sampler, n_best = cli_utils.build_sampler(search_args("--n-best", "1"), None)
        self.assertEqual((sampler.return_all_beams, n_best), (False, None))
        self.assertEqual(
            cli_utils.describe_sampler(BeamSampler(num_beams=4, length_penalty=0.6)),
            "BeamSampler(num_beams=4, length_penalty=0.6)",
        )
