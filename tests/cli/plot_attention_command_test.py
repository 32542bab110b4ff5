"""`keras-s2s plot-attention`: a PNG of the expected size, and its errors."""

import os
import struct

from keras_s2s.utils import attention_weights
from keras_s2s.utils.attention_plot import default_figsize
from tests.cli.cli_test_utils import CLITestCase
from tests.cli.cli_test_utils import own_lines
from tests.cli.cli_test_utils import run_cli
from tests.cli.cli_test_utils import run_main

TEXT = "two men"  # Fits the tiny preprocessor's 8 source tokens.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """`(width, height)` from the PNG signature and IHDR chunk."""
    with open(path, "rb") as file:
        header = file.read(24)
    if header[:8] != PNG_SIGNATURE or header[12:16] != b"IHDR":
        raise AssertionError(f"'{path}' is not a PNG file: {header[:16]!r}")
    return struct.unpack(">II", header[16:24])


class PlotAttentionCommandTest(CLITestCase):
    def test_png_of_the_requested_size_in_a_process(self):
        path = os.path.join(self.tmp_dir, "attention.png")
        result = run_cli(["plot-attention", "--preset", self.preset_dir, TEXT,
                          "--output-file", path, "--figsize", "4", "3", "--dpi", "50"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(png_size(path), (200, 150))
        self.assertEqual(result.stdout, self.model.generate(TEXT) + "\n")
        source, output, _ = attention_weights(self.model, TEXT)
        self.assertEqual(
            own_lines(result.stderr),
            [f"Wrote '{path}' (200x150 pixels): attention of {len(output)} output "
             f"tokens over {len(source)} source tokens."],
        )

    def test_default_size_fits_the_tokens(self):
        path = os.path.join(self.tmp_dir, "default.png")
        status, stdout, stderr = run_main(["plot-attention", "--preset", self.preset_dir,
                                           TEXT, "-o", path, "--num-beams", "2"])
        self.assertEqual(status, 0, stderr)
        source, output, _ = attention_weights(self.model, TEXT, sampler="beam")
        width, height = default_figsize(len(source), len(output))
        self.assertEqual(png_size(path), (round(width * 100), round(height * 100)))

    def test_user_errors(self):
        preset = ["--preset", self.preset_dir]
        cases = [
            ([TEXT, "-o", os.path.join(self.tmp_dir, "a.jpg")], r"must end in \.png"),
            ([TEXT, "--cmap", "nocolors", "-o", os.path.join(self.tmp_dir, "a.png")], r"unknown colormap 'nocolors'"),
            (["  ", "-o", os.path.join(self.tmp_dir, "a.png")], r"the sentence is empty"),
            ([TEXT, "--dpi", "0"], r"--dpi: expected an integer >= 1"),
            ([TEXT, "--figsize", "4", "-3"], r"--figsize: expected a finite number > 0"),
        ]
        for args, pattern in cases:
            with self.subTest(args=args):
                status, stdout, stderr = run_main(["plot-attention", *preset, *args])
                self.assertUserError(status, stderr, pattern)
        self.assertFalse(os.path.exists(os.path.join(self.tmp_dir, "a.png")))
