import gzip
import os

import pytest

from keras_s2s.datasets import get_data_dir
from keras_s2s.datasets import load_multi30k
from keras_s2s.datasets import load_multi30k_references
from tests.test_case import TestCase


class Multi30kTest(TestCase):
    def test_split_sizes(self):
        for split, size in (("train", 29000), ("val", 1014), ("test_2016_flickr", 1000)):
            sources, targets = load_multi30k(split, "de", "en")
            self.assertLen(sources, size)
            self.assertLen(targets, size)
        # Any pair of the four languages, aligned line by line.
        cs, fr = load_multi30k("test_2016_flickr", "cs", "fr")
        en, de = load_multi30k("test_2016_flickr", "en", "de")
        self.assertEqual(len(cs), 1000)
        self.assertEqual(fr[0], load_multi30k("test_2016_flickr", "fr", "en")[0][0])

    def test_first_pair(self):
        sources, targets = load_multi30k("train", "de", "en")
        self.assertEqual(
            sources[0], "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche."
        )
        self.assertEqual(targets[0], "Two young, White males are outside near many bushes.")

    def test_official_references(self):
        references = load_multi30k_references("test_2016_flickr", "en")
        self.assertLen(references, 1000)
        self.assertEqual(references, [r.lower() for r in references])
        self.assertLen(load_multi30k_references("val", "cs"), 1014)

    def test_data_dir_from_environment(self):
        self.assertEqual(get_data_dir(), os.environ["KERAS_S2S_DATA_DIR"])
        self.assertEqual(get_data_dir("~/x"), os.path.expanduser("~/x"))

    def test_unknown_language_pair_or_split(self):
        with pytest.raises(ValueError, match=r"source_language in \{'en', 'de', 'fr', 'cs'\}"):
            load_multi30k("train", "es", "en")
        with pytest.raises(ValueError, match="two different languages"):
            load_multi30k("train", "en", "en")
        with pytest.raises(ValueError, match="split in"):
            load_multi30k("test_2017_flickr", "de", "en")
        with pytest.raises(ValueError, match="split in"):
            load_multi30k_references("train", "en")

    def test_missing_directory_or_file(self):
        missing = os.path.join(self.tmp_dir, "nowhere")
        with pytest.raises(FileNotFoundError, match="Data directory .*nowhere.* does not exist"):
            load_multi30k("train", "de", "en", data_dir=missing)
        os.makedirs(os.path.join(self.tmp_dir, "multi30k"))
        with pytest.raises(FileNotFoundError, match=r"multi30k/train\.de\.gz"):
            load_multi30k("train", "de", "en", data_dir=self.tmp_dir)

    def test_empty_line_and_misaligned_files(self):
        folder = os.path.join(self.tmp_dir, "multi30k")
        os.makedirs(folder)
        with gzip.open(os.path.join(folder, "val.en.gz"), "wt") as f:
            f.write("A dog.\n\nA cat.\n")
        with gzip.open(os.path.join(folder, "val.de.gz"), "wt") as f:
            f.write("Ein Hund.\nEin Vogel.\nEine Katze.\n")
        with pytest.raises(ValueError, match=r"val\.en\.gz, line 2: empty line"):
            load_multi30k("val", "en", "de", data_dir=self.tmp_dir)
        with gzip.open(os.path.join(folder, "val.en.gz"), "wt") as f:
            f.write("A dog.\nA cat.\n")
        with pytest.raises(ValueError, match="has 3 lines.*has 2|has 2 lines.*has 3"):
            load_multi30k("val", "en", "de", data_dir=self.tmp_dir)
