import numpy as np

from keras_s2s.samplers import TopKSampler
from tests.samplers.sampler_test_utils import EOS
from tests.samplers.sampler_test_utils import make_inputs
from tests.samplers.sampler_test_utils import make_model
from tests.samplers.sampler_test_utils import output_length
from tests.samplers.sampler_test_utils import teacher_forced_logits
from tests.test_case import TestCase


class TopKSamplerTest(TestCase):
    @classmethod
    def setUpClass(cls):
        # A flat model (sharpness 1), so that sampling is not greedy.
        cls.model = make_model(seed=0, sharpness=1.0)
        cls.x = make_inputs(batch_size=16, max_length=8, seed=0)

    def generate(self, sampler):
        return self.model.generate(self.x, stop_token_ids=[EOS], sampler=sampler)

    def test_fixed_seed_is_reproducible(self):
        first = self.generate(TopKSampler(k=4, seed=7))
        again = self.generate(TopKSampler(k=4, seed=7))
        other = self.generate(TopKSampler(k=4, seed=8))
        self.assertAllEqual(first["decoder_token_ids"], again["decoder_token_ids"])
        self.assertFalse(
            np.array_equal(first["decoder_token_ids"], other["decoder_token_ids"])
        )

    def test_never_emits_a_token_outside_the_top_k(self):
        k = 2
        ids = np.asarray(self.generate(TopKSampler(k=k, seed=3))["decoder_token_ids"])
        logits = teacher_forced_logits(self.model, self.x, ids)
        self.assertTrue(np.any(ids[:, 1:] != np.argmax(logits[:, :-1], -1)))
        for b, row in enumerate(ids):
            for t in range(1, 1 + output_length(row)):
                top = np.argsort(-logits[b, t - 1])[:k]
                self.assertIn(row[t], top)

    def test_config_roundtrip(self):
        revived = self.run_config_roundtrip_test(
            TopKSampler(k=3, seed=1, temperature=0.5)
        )
        self.assertEqual((revived.k, revived.seed, revived.temperature), (3, 1, 0.5))

    def test_bad_arguments(self):
        for kwargs, name in [
            ({"k": 0}, "k"),
            ({"k": 2.5}, "k"),
            ({"seed": "a"}, "seed"),
            ({"temperature": 0}, "temperature"),
        ]:
            with self.subTest(name=name):
                with self.assertRaisesRegex(ValueError, f"{name}="):
                    TopKSampler(**kwargs)
