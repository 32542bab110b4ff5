"""tools/benchmark_fused_rnn.py: Keras's recurrent layers on and off cuDNN, side by side."""

import contextlib
import io
import json
import os

import keras

from tests.test_case import TestCase
from tests.test_case import load_tool


class FusedRNNBenchmarkToolTest(TestCase):
    def test_rows_time_both_kernels_and_compare_every_gradient(self):
        path = os.path.join(self.tmp_dir, "rows.json")
        with contextlib.redirect_stdout(io.StringIO()) as stdout:
            status = load_tool("benchmark_fused_rnn.py").main(
                ["--batch-size", "3", "--length", "4", "--repeats", "1", "--cells", "gru",
                 "--json", path]
            )
        self.assertEqual(status, 0)
        with open(path) as file:
            report = json.load(file)
        self.assertEqual(report["backend"], keras.backend.backend())
        rows = report["rows"]
        self.assertEqual(
            [row["layer"] for row in rows], ["biGRU 256", "GRU 512", "GRU 512 + state"]
        )
        for row in rows:
            self.assertIn(row["layer"], stdout.getvalue())
            self.assertGreater(row["loop_ms"], 0.0)
            # No GPU here: cuDNN is never taken.
            self.assertFalse(row["cudnn_taken"])
            if "cudnn_error" in row:
                continue
            # Keras ran its step loop for both: the same numbers.
            self.assertLess(row["max_diff_outputs"], 1e-5)
            gradients = row["max_relative_diff_gradients"]
            # The inputs, the given initial state, and kernel, recurrent
            # kernel and bias of each direction.
            with_state = row["layer"].endswith("+ state")
            directions = 2 if row["layer"].startswith("bi") else 1
            self.assertEqual(len(gradients), 1 + with_state + 3 * directions)
            self.assertIn("inputs", gradients)
            self.assertEqual("initial_state_0" in gradients, with_state)
            self.assertLess(max(gradients.values()), 1e-5)

    def test_non_positive_sizes_are_refused(self):
        with contextlib.redirect_stderr(io.StringIO()) as stderr:
            with self.assertRaises(SystemExit):
                load_tool("benchmark_fused_rnn.py").main(["--length", "0"])
        self.assertIn("must be positive integers", stderr.getvalue())
