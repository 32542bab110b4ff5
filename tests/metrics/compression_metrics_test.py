import pytest

from keras_s2s.datasets import load_sentence_compression
from keras_s2s.metrics import compression_ratio
from keras_s2s.metrics import token_f1
from tests.test_case import TestCase


class CompressionMetricsTest(TestCase):
    def test_token_f1_hand_computed(self):
        # 3 shared tokens: P = 3/3, R = 3/4, F1 = 2 * 0.75 / 1.75.
        self.assertAlmostEqual(token_f1(["the cat sat"], ["the cat sat down"]), 1.5 / 1.75)
        # Punctuation is a token; multiset overlap ("the" counted once).
        self.assertAlmostEqual(token_f1(["the the cat."], ["the cat"]), 2 * (2 / 4) * 1 / 1.5)
        self.assertEqual(token_f1(["x"], ["y"]), 0.0)
        self.assertEqual(token_f1([""], [""]), 1.0)
        self.assertAlmostEqual(token_f1(["a b", "c"], ["a b", "d"]), 0.5)

    def test_compression_ratio_hand_computed(self):
        self.assertAlmostEqual(compression_ratio(["abcd", "ab"], ["abcdefgh", "ab"]), 0.75)

    def test_gold_dev_statistics(self):
        sentences, compressions = load_sentence_compression("dev")
        self.assertAlmostEqual(compression_ratio(compressions, sentences), 0.43078, places=4)
        self.assertEqual(token_f1(compressions, compressions), 1.0)
        self.assertAlmostEqual(compression_ratio(sentences, sentences), 1.0)
        # Copying the source: full recall, low precision.
        self.assertLess(token_f1(sentences, compressions), 0.65)

    def test_bad_input(self):
        with pytest.raises(ValueError, match="as many references"):
            token_f1(["a"], [])
        with pytest.raises(ValueError, match=r"sentences\[0\] is empty"):
            compression_ratio(["a"], [""])
