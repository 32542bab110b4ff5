import pytest

from keras_s2s.datasets import load_multi30k
from keras_s2s.datasets import load_multi30k_references
from keras_s2s.metrics import moses_lc_norm_tok
from keras_s2s.metrics import multi30k_bleu
from tests.test_case import TestCase


class Multi30kBleuTest(TestCase):
    def test_pipeline_reproduces_official_references(self):
        english, german = load_multi30k("test_2016_flickr", "en", "de")
        counts = {}
        for language, raw in (("en", english), ("de", german)):
            official = load_multi30k_references("test_2016_flickr", language)
            tokenized = moses_lc_norm_tok(raw, language)
            counts[language] = sum(a == b for a, b in zip(tokenized, official))
        # 1000 / 1000 for both languages with sacremoses' default options.
        self.assertGreaterEqual(counts["en"], 999)
        self.assertGreaterEqual(counts["de"], 999)
        self.assertEqual(counts, {"en": 1000, "de": 1000})

    def test_escaping_and_normalization(self):
        self.assertEqual(
            moses_lc_norm_tok(['A man\'s "big" dog, running.'], "en"),
            ["a man &apos;s &quot; big &quot; dog , running ."],
        )
        self.assertEqual(
            moses_lc_norm_tok(["Ein Mann sagt: „Hallo!“"], "de"),
            ["ein mann sagt : &quot; hallo ! &quot;"],
        )

    def test_bleu_against_official_references(self):
        german = load_multi30k("test_2016_flickr", "en", "de")[1]
        result = multi30k_bleu(german, "de")
        self.assertAlmostEqual(result.score, 100.0)
        self.assertIn("tok:none", result.signature)
        self.assertIn("case:mixed", result.signature)
        # Dropping the final word of every sentence costs BLEU.
        truncated = [" ".join(s.split()[:-1]) for s in german]
        self.assertLess(multi30k_bleu(truncated, "de").score, 90.0)

    def test_bad_split(self):
        with pytest.raises(ValueError, match="split in"):
            multi30k_bleu(["a"], "en", split="train")
