from keras_s2s.datasets import load_e2e_references
from keras_s2s.metrics import corpus_bleu
from keras_s2s.metrics import e2e_bleu
from tests.test_case import TestCase


class E2EBleuTest(TestCase):
    def test_multi_reference(self):
        mrs, references = load_e2e_references("dev")
        self.assertLen(mrs, 547)
        references = references[:150]
        # An output equal to one of its references matches every n-gram and
        # the closest reference length: BLEU 100.
        first = [refs[0] for refs in references]
        result = e2e_bleu(first, references)
        self.assertAlmostEqual(result.score, 100.0, places=6)
        self.assertIn("case:lc", result.signature)
        self.assertIn("nrefs:var", result.signature)
        # Case-insensitive by default.
        self.assertAlmostEqual(e2e_bleu([f.upper() for f in first], references).score, 100.0)
        self.assertLess(
            e2e_bleu([f.upper() for f in first], references, lowercase=False).score, 10.0
        )
        # Scoring the same outputs against only the other references is lower.
        others = [refs[1:] or refs for refs in references]
        self.assertLess(e2e_bleu(first, others).score, 80.0)
        self.assertEqual(
            e2e_bleu(first, others).score, corpus_bleu(first, others, lowercase=True).score
        )
