import pytest

from keras_s2s.metrics import MetricResult
from keras_s2s.metrics import corpus_bleu
from keras_s2s.metrics import corpus_chrf
from keras_s2s.metrics.sacrebleu_metrics import reference_streams
from tests.test_case import TestCase

# The example of the sacreBLEU README (two references per sentence).
SYSTEM = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
REFERENCES = [
    ["The dog bit the man.", "The dog had bit the man."],
    ["It was not unexpected.", "No one was surprised."],
    ["The man bit him first.", "The man had bitten the dog."],
]


class SacreBleuMetricsTest(TestCase):
    def test_documented_bleu(self):
        result = corpus_bleu(SYSTEM, REFERENCES)
        self.assertIsInstance(result, MetricResult)
        # sacreBLEU README: BLEU = 48.53 82.4/50.0/45.5/37.5
        self.assertAlmostEqual(result.score, 48.53, places=2)
        self.assertTrue(
            result.signature.startswith("nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:")
        )

    def test_documented_chrf(self):
        result = corpus_chrf(SYSTEM, REFERENCES)
        # sacreBLEU README: chrF2 = 59.73
        self.assertAlmostEqual(result.score, 59.73, places=2)
        self.assertIn("nrefs:2", result.signature)

    def test_documented_variable_references(self):
        # sacreBLEU README: first sentence without its first reference -> 29.44.
        references = [["The dog had bit the man."]] + REFERENCES[1:]
        result = corpus_bleu(SYSTEM, references)
        self.assertAlmostEqual(result.score, 29.44, places=2)
        self.assertIn("nrefs:var", result.signature)

    def test_hand_checkable_cases(self):
        self.assertAlmostEqual(corpus_bleu(["a b c d e"], ["a b c d e"]).score, 100.0)
        self.assertEqual(corpus_bleu(["a b c d e"], ["A B C D E"]).score, 0.0)
        self.assertAlmostEqual(
            corpus_bleu(["a b c d e"], ["A B C D E"], lowercase=True).score, 100.0
        )
        self.assertIn("case:lc", corpus_bleu(["a"], ["a"], lowercase=True).signature)
        self.assertIn("tok:none", corpus_bleu(["a"], ["a"], tokenize="none").signature)
        # 4 of 5 unigrams, 2 of 4 bigrams, 1 of 3 trigrams, 0 of 2 4-grams;
        # exp smoothing gives the 4-gram precision 1 / (2 * 2): the geometric
        # mean of (4/5, 2/4, 1/3, 1/4) times BP = 1.
        expected = 100 * (0.8 * 0.5 * (1 / 3) * 0.25) ** 0.25
        self.assertAlmostEqual(corpus_bleu(["a b c x e"], ["a b c d e"]).score, expected)
        self.assertAlmostEqual(corpus_chrf(["abc"], ["abc"]).score, 100.0)

    def test_reference_streams(self):
        self.assertEqual(reference_streams(["x", "y"], 2), [["x", "y"]])
        self.assertEqual(
            reference_streams([["x1", "x2"], ["y1"]], 2), [["x1", "y1"], ["x2", None]]
        )

    def test_bad_input(self):
        with pytest.raises(ValueError, match="one entry of references per hypothesis"):
            corpus_bleu(["a", "b"], ["a"])
        with pytest.raises(ValueError, match=r"references\[0\]"):
            corpus_bleu(["a"], [[]])
        with pytest.raises(ValueError, match="single string"):
            corpus_bleu("a", ["a"])
