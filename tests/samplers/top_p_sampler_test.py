import numpy as np

from keras_s2s.samplers import TopPSampler
from tests.samplers.sampler_test_utils import EOS
from tests.samplers.sampler_test_utils import make_inputs
from tests.samplers.sampler_test_utils import make_model
from tests.samplers.sampler_test_utils import output_length
from tests.samplers.sampler_test_utils import teacher_forced_logits
from tests.test_case import TestCase


class TopPSamplerTest(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = make_model(seed=0, sharpness=1.0)
        cls.x = make_inputs(batch_size=16, max_length=8, seed=0)

    def generate(self, sampler):
        return self.model.generate(self.x, stop_token_ids=[EOS], sampler=sampler)

    def test_tiny_p_is_greedy(self):
        greedy = self.generate("greedy")
        nucleus = self.generate(TopPSampler(p=1e-6, seed=1))
        self.assertAllEqual(nucleus["decoder_token_ids"], greedy["decoder_token_ids"])

    def test_only_emits_tokens_of_the_nucleus(self):
        p = 0.5
        ids = np.asarray(self.generate(TopPSampler(p=p, seed=2))["decoder_token_ids"])
        logits = teacher_forced_logits(self.model, self.x, ids)
        sampled_non_greedy = False
        for b, row in enumerate(ids):
            for t in range(1, 1 + output_length(row)):
                probs = np.exp(logits[b, t - 1] - logits[b, t - 1].max())
                probs /= probs.sum()
                order = np.argsort(-probs)
                # The nucleus: tokens whose preceding cumulative mass <= p.
                before = np.cumsum(probs[order]) - probs[order]
                self.assertIn(row[t], order[before <= p + 1e-6])
                sampled_non_greedy |= bool(row[t] != order[0])
        self.assertTrue(sampled_non_greedy)

    def test_config_roundtrip(self):
        revived = self.run_config_roundtrip_test(
            TopPSampler(p=0.9, k=5, seed=1, temperature=0.7)
        )
        self.assertEqual((revived.p, revived.k, revived.seed), (0.9, 5, 1))

    def test_bad_arguments(self):
        for kwargs, name in [
            ({"p": 0.0}, "p"),
            ({"p": 1.5}, "p"),
            ({"p": -0.1}, "p"),
            ({"p": 0.5, "k": 0}, "k"),
            ({"seed": 1.5}, "seed"),
            ({"temperature": -1.0}, "temperature"),
        ]:
            with self.subTest(**kwargs):
                with self.assertRaisesRegex(ValueError, f"{name}="):
                    TopPSampler(**kwargs)
