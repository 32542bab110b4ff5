import gzip
import os
import warnings

import pytest

from keras_s2s.datasets import load_parallel_text
from keras_s2s.datasets import load_tsv
from tests.test_case import TestCase


class ParallelTextTest(TestCase):
    def write(self, name, text):
        path = os.path.join(self.tmp_dir, name)
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "wt", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_empty_lines_are_skipped_in_pairs(self):
        source = self.write("src.gz", "ein Hund\n\nzwei Katzen\ndrei Vögel\n")
        target = self.write("tgt.txt", "a dog\nsomething\n\nthree birds\n")
        with pytest.warns(UserWarning, match=r"Skipped 2 of 4 pairs .*lines 2, 3"):
            sources, targets = load_parallel_text(source, target)
        self.assertEqual(sources, ["ein Hund", "drei Vögel"])
        self.assertEqual(targets, ["a dog", "three birds"])
        with pytest.raises(ValueError, match=r"line 2: empty source or target"):
            load_parallel_text(source, target, skip_empty=False)

    def test_no_warning_without_empty_lines(self):
        source = self.write("a.txt", "x\r\ny\n")
        target = self.write("b.txt", "1\n2\n")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            self.assertEqual(load_parallel_text(source, target), (["x", "y"], ["1", "2"]))

    def test_misaligned_or_missing_files(self):
        source = self.write("a.txt", "x\ny\nz\n")
        target = self.write("b.txt", "1\n2\n")
        with pytest.raises(ValueError, match=r"a\.txt' has 3 lines, .*b\.txt' has 2"):
            load_parallel_text(source, target)
        with pytest.raises(FileNotFoundError, match="missing.txt"):
            load_parallel_text(source, os.path.join(self.tmp_dir, "missing.txt"))

    def test_tsv(self):
        path = self.write(
            "pairs.tsv", "id\tsrc\ttgt\n1\tein Hund\ta dog\n\n2\tzwei\t\n3\tdrei\tthree\n"
        )
        with pytest.warns(UserWarning, match="Skipped 2 of 4 pairs"):
            sources, targets = load_tsv(path, source_column=1, target_column=2, header=True)
        self.assertEqual((sources, targets), (["ein Hund", "drei"], ["a dog", "three"]))
        swapped = load_tsv(self.write("p.tsv", "a\tb\n"), source_column=1, target_column=0)
        self.assertEqual(swapped, (["b"], ["a"]))

    def test_tsv_malformed_row(self):
        path = self.write("bad.tsv.gz", "a\tb\nonly-one-column\n")
        with pytest.raises(ValueError, match=r"bad\.tsv\.gz, line 2: expected at least 2"):
            load_tsv(path)
        with pytest.raises(ValueError, match="source_column"):
            load_tsv(path, source_column=-1)
