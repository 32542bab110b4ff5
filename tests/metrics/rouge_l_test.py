import pytest

from keras_s2s.metrics import rouge_l
from tests.test_case import TestCase


class RougeLTest(TestCase):
    def test_hand_computed(self):
        # LCS("the cat sat on the mat", "the cat was on the mat") = 5 of 6 each.
        self.assertAlmostEqual(
            rouge_l(["the cat sat on the mat"], ["the cat was on the mat"]), 100 * 5 / 6
        )
        self.assertEqual(rouge_l(["The Cat"], ["the cat"]), 100.0)
        # Mean over sentences.
        self.assertAlmostEqual(rouge_l(["a b", "c"], ["a b", "d"]), 50.0)

    def test_multi_reference_takes_the_best(self):
        score = rouge_l(["the cat sat"], [["a dog ran", "the cat sat"]])
        self.assertEqual(score, 100.0)

    def test_bad_input(self):
        with pytest.raises(ValueError, match="2 predictions and 1 references"):
            rouge_l(["a", "b"], ["a"])
