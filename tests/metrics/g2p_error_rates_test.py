import pytest

from keras_s2s.datasets import load_cmudict_references
from keras_s2s.metrics import edit_distance
from keras_s2s.metrics import g2p_error_rates
from tests.test_case import TestCase


class G2PErrorRatesTest(TestCase):
    def test_edit_distance(self):
        self.assertEqual(edit_distance([], []), 0)
        self.assertEqual(edit_distance(["A"], []), 1)
        self.assertEqual(edit_distance("kitten", "sitting"), 3)
        self.assertEqual(edit_distance("K AE T".split(), "K AH T".split()), 1)
        self.assertEqual(edit_distance("AH B".split(), "B AH".split()), 2)

    def test_hand_computed(self):
        predictions = ["K AE T", "D AO G", "HH AH L OW", "T AH M EY T OW"]
        references = [
            ["K AE T"],  # right: 0 edits of 3
            ["D AA G", "D AO G Z"],  # wrong: 1 edit of 3 (tie; first reference)
            ["HH EH L OW", "HH AH L OW"],  # right (second reference): 0 of 4
            "T AH M AA T OW",  # wrong: 1 edit of 6
        ]
        rates = g2p_error_rates(predictions, references)
        self.assertAlmostEqual(rates["wer"], 50.0)
        self.assertAlmostEqual(rates["per"], 100.0 * 2 / 16)

    def test_closest_reference_sets_the_length(self):
        # The closest reference (fewest edits) is the one counted, and its
        # length is the PER denominator.
        rates = g2p_error_rates([["A", "B"]], [["A B C D", "A B"]])
        self.assertEqual(rates, {"wer": 0.0, "per": 0.0})
        rates = g2p_error_rates(["A"], [["A B C D", "B"]])
        self.assertEqual(rates, {"wer": 100.0, "per": 100.0})

    def test_references_score_perfectly(self):
        words, references = load_cmudict_references("dev")
        rates = g2p_error_rates([r[-1] for r in references], references)
        self.assertEqual(rates, {"wer": 0.0, "per": 0.0})

    def test_bad_input(self):
        with pytest.raises(ValueError, match="2 predictions and 1 references"):
            g2p_error_rates(["A", "B"], ["A"])
        with pytest.raises(ValueError, match=r"references\[0\]"):
            g2p_error_rates(["A"], [[""]])
        with pytest.raises(ValueError, match="at least one"):
            g2p_error_rates([], [])
