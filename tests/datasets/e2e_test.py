import gzip
import os

import pytest

from keras_s2s.datasets import load_e2e
from keras_s2s.datasets import load_e2e_references
from tests.test_case import TestCase


def write_csv(folder, text):
    os.makedirs(os.path.join(folder, "e2e"), exist_ok=True)
    with gzip.open(os.path.join(folder, "e2e", "devset.csv.gz"), "wb") as f:
        f.write(text.encode("utf-8"))


class E2ETest(TestCase):
    def test_train_counts(self):
        mrs, references = load_e2e("train")
        self.assertLen(mrs, 42061)
        self.assertLen(references, 42061)
        self.assertEqual(
            mrs[0],
            "name[The Vaults], eatType[pub], priceRange[more than £30], "
            "customer rating[5 out of 5], near[Café Adriatic]",
        )
        # Two references hold a line break inside a quoted field.
        self.assertEqual(sum("\n" in r for r in references), 2)
        distinct, grouped = load_e2e_references("train")
        self.assertLen(distinct, 4862)
        self.assertEqual(sum(len(g) for g in grouped), 42061)
        self.assertEqual(distinct[0], mrs[0])

    def test_dev_grouping_in_file_order(self):
        mrs, references = load_e2e("dev")
        self.assertLen(mrs, 4672)
        distinct, grouped = load_e2e_references("dev")
        self.assertLen(distinct, 547)
        # Dev rows of one MR are consecutive: flattening restores the file.
        self.assertEqual([r for g in grouped for r in g], references)
        self.assertEqual([m for m, g in zip(distinct, grouped) for _ in g], mrs)

    def test_cleaned_dev(self):
        mrs, _ = load_e2e("dev", cleaned=True)
        self.assertLen(mrs, 4299)
        self.assertLen(load_e2e_references("dev", cleaned=True)[0], 1484)
        with pytest.raises(ValueError, match="cleaned dev set"):
            load_e2e("train", cleaned=True)
        with pytest.raises(ValueError, match="split in"):
            load_e2e("test")

    def test_malformed_rows(self):
        write_csv(self.tmp_dir, 'mr,ref\r\n"name[A]","Good."\r\n"name[B]","x",extra\r\n')
        with pytest.raises(ValueError, match=r"devset\.csv\.gz, line 3: expected 2 fields"):
            load_e2e("dev", data_dir=self.tmp_dir)
        write_csv(self.tmp_dir, 'meaning,text\r\n"name[A]","Good."\r\n')
        with pytest.raises(ValueError, match="line 1: expected a header starting with 'mr,ref'"):
            load_e2e("dev", data_dir=self.tmp_dir)
        write_csv(self.tmp_dir, 'mr,ref\r\n"name[A]","Good."\r\n"name[B]",""\r\n')
        with pytest.raises(ValueError, match="line 3: empty 'ref' field"):
            load_e2e("dev", data_dir=self.tmp_dir)
        write_csv(self.tmp_dir, 'mr,ref\r\n"name[A]","Two\r\nlines."\r\n"name[B]","ok"\r\n')
        mrs, refs = load_e2e("dev", data_dir=self.tmp_dir)
        self.assertEqual(refs, ["Two\r\nlines.", "ok"])
