import pytest

from keras_s2s.metrics import parse_meaning_representation
from keras_s2s.metrics import slot_value_coverage
from tests.test_case import TestCase

MR = (
    "name[The Vaults], eatType[pub], priceRange[more than £30], "
    "customer rating[5 out of 5], near[Café Adriatic], familyFriendly[yes]"
)


class SlotCoverageTest(TestCase):
    def test_parse(self):
        self.assertEqual(
            parse_meaning_representation(MR),
            [
                ("name", "The Vaults"),
                ("eatType", "pub"),
                ("priceRange", "more than £30"),
                ("customer rating", "5 out of 5"),
                ("near", "Café Adriatic"),
                ("familyFriendly", "yes"),
            ],
        )

    def test_counts_values_word_for_word_without_family_friendly(self):
        # 5 checked values; "pub" is in "public" only, which is no match.
        output = "The Vaults is a public house near café adriatic rated 5 out of 5."
        self.assertAlmostEqual(slot_value_coverage([output], [MR]), 60.0)
        full = (
            "The Vaults pub costs more than £30, is rated 5 out of 5 and is "
            "near Café Adriatic."
        )
        self.assertAlmostEqual(slot_value_coverage([full], [MR]), 100.0)
        # Pooled over outputs: 5 + 1 values, 5 + 0 covered.
        self.assertAlmostEqual(
            slot_value_coverage([full, "A place."], [MR, "name[Aromi]"]), 500 / 6
        )

    def test_human_references_of_e2e_dev(self):
        from keras_s2s.datasets import load_e2e_references

        mrs, references = load_e2e_references("dev")
        first = slot_value_coverage([refs[0] for refs in references], mrs)
        # Humans paraphrase some values ("expensive" for "more than £30").
        self.assertGreater(first, 80.0)
        self.assertLess(first, 95.0)

    def test_bad_input(self):
        with pytest.raises(ValueError, match="meaning representation like"):
            parse_meaning_representation("name: The Eagle")
        with pytest.raises(ValueError, match="one meaning representation per output"):
            slot_value_coverage(["a", "b"], [MR])
        with pytest.raises(ValueError, match="lists"):
            slot_value_coverage("a", [MR])
        with pytest.raises(ValueError, match="no slot values"):
            slot_value_coverage(["a"], ["familyFriendly[yes]"])
