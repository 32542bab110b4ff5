import gzip
import os

import pytest

from keras_s2s.datasets import load_sentence_compression
from tests.test_case import TestCase


class SentenceCompressionTest(TestCase):
    def test_counts(self):
        sources, targets = load_sentence_compression("train")
        self.assertLen(sources, 8000)
        self.assertLen(targets, 8000)
        sources, targets = load_sentence_compression("dev")
        self.assertLen(sources, 1000)
        self.assertTrue(sources[0].startswith("The Gilmer City Council on Tuesday plans"))
        self.assertEqual(
            targets[0], "The Gilmer City Council plans to consider canceling its council election."
        )

    def test_bad_input(self):
        with pytest.raises(ValueError, match="split in"):
            load_sentence_compression("validation")
        with pytest.raises(FileNotFoundError, match="download=True"):
            load_sentence_compression("test")
        folder = os.path.join(self.tmp_dir, "sentence-compression")
        os.makedirs(folder)
        files = (("dev.src.gz", "A long sentence.\n \n"), ("dev.tgt.gz", "A sentence.\nB.\n"))
        for name, text in files:
            with gzip.open(os.path.join(folder, name), "wt") as f:
                f.write(text)
        with pytest.raises(ValueError, match=r"dev\.src\.gz, line 2: empty line"):
            load_sentence_compression("dev", data_dir=self.tmp_dir)
