import gzip
import os

import pytest

from keras_s2s.datasets import load_cmudict
from keras_s2s.datasets import load_cmudict_references
from tests.test_case import TestCase


class CMUdictTest(TestCase):
    def test_counts(self):
        words, phonemes = load_cmudict("train")
        self.assertLen(words, 108952)
        self.assertEqual((words[0], phonemes[0]), ("'CAUSE", "K AH Z"))
        distinct, references = load_cmudict_references("train")
        self.assertLen(distinct, 102068)
        self.assertEqual(sum(len(r) for r in references), 108952)
        self.assertEqual(max(len(w) for w in words), 22)
        self.assertEqual(max(len(p.split()) for p in phonemes), 20)
        self.assertLen(load_cmudict("dev")[0], 5447)

    def test_several_pronunciations(self):
        distinct, references = load_cmudict_references("train")
        by_word = dict(zip(distinct, references))
        self.assertGreater(sum(len(r) > 1 for r in references), 5000)
        self.assertIn("K AH Z", by_word["'CAUSE"])

    def test_unseen_in_keeps_the_dev_words_train_lacks(self):
        train_words = set(load_cmudict("train")[0])
        all_words, all_references = load_cmudict_references("dev")
        words, references = load_cmudict_references("dev", unseen_in="train")
        self.assertLen(all_words, 5447)
        self.assertLen(words, 4726)
        self.assertEqual(set(words) & train_words, set())
        self.assertEqual(set(all_words) - set(words), set(all_words) & train_words)
        by_word = dict(zip(all_words, all_references))
        self.assertEqual(references, [by_word[w] for w in words])
        with pytest.raises(ValueError, match="another split than 'dev'"):
            load_cmudict_references("dev", unseen_in="dev")
        with pytest.raises(ValueError, match="unseen_in"):
            load_cmudict_references("dev", unseen_in="training")

    def test_test_split_needs_download(self):
        with pytest.raises(FileNotFoundError, match="download=True"):
            load_cmudict("test")
        with pytest.raises(ValueError, match="split in"):
            load_cmudict("valid")

    def test_malformed_line(self):
        folder = os.path.join(self.tmp_dir, "cmudict")
        os.makedirs(folder)
        with gzip.open(os.path.join(folder, "cmudict-0.7b.dev.gz"), "wt") as f:
            f.write("CAT  K AE T\nDOG D AO G\n")
        expected = r"cmudict-0\.7b\.dev\.gz, line 2: expected 'WORD  PH ON EMES'"
        with pytest.raises(ValueError, match=expected):
            load_cmudict("dev", data_dir=self.tmp_dir)
        with gzip.open(os.path.join(folder, "cmudict-0.7b.dev.gz"), "wt") as f:
            f.write("CAT  K AE T\n\n")
        with pytest.raises(ValueError, match="line 2"):
            load_cmudict("dev", data_dir=self.tmp_dir)
