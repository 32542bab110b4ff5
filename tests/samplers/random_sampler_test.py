import numpy as np
from keras import ops

from keras_s2s.samplers import RandomSampler
from tests.samplers.sampler_test_utils import BOS
from tests.samplers.sampler_test_utils import bos_prompt
from tests.samplers.sampler_test_utils import initial_cache
from tests.samplers.sampler_test_utils import table_next
from tests.test_case import TestCase

PROBS = np.array([0.0, 0.0, 0.1, 0.2, 0.3, 0.4])


def sample(sampler, rows=4000):
    """One sampled token per row from the distribution `PROBS`."""
    table = np.full((2, 6, 6), -30.0, "float32")
    table[1, BOS, 2:] = np.log(PROBS[2:])
    prompt, mask = bos_prompt(rows, 2)
    ids = sampler(
        table_next(table),
        ops.convert_to_tensor(prompt),
        cache=initial_cache(rows),
        index=1,
        mask=ops.convert_to_tensor(mask),
    )
    return ops.convert_to_numpy(ids)[:, 1]


class RandomSamplerTest(TestCase):
    def test_frequencies_follow_the_tempered_softmax(self):
        for temperature in (1.0, 2.0):
            with self.subTest(temperature=temperature):
                tokens = sample(RandomSampler(seed=5, temperature=temperature))
                counts = np.bincount(tokens, minlength=6)
                expected = PROBS ** (1.0 / temperature)
                expected /= expected.sum()
                # 4000 draws: the standard error of a share is <= 0.008.
                np.testing.assert_allclose(counts / 4000, expected, atol=0.035)

    def test_fixed_seed_is_reproducible(self):
        first = sample(RandomSampler(seed=11), rows=64)
        again = sample(RandomSampler(seed=11), rows=64)
        other = sample(RandomSampler(seed=12), rows=64)
        self.assertAllEqual(first, again)
        self.assertFalse(np.array_equal(first, other))

    def test_config_roundtrip(self):
        revived = self.run_config_roundtrip_test(RandomSampler(seed=4, temperature=2.0))
        self.assertEqual((revived.seed, revived.temperature), (4, 2.0))

    def test_bad_arguments(self):
        for kwargs, name in [
            ({"temperature": 0.0}, "temperature"),
            ({"temperature": float("inf")}, "temperature"),
            ({"seed": True}, "seed"),
        ]:
            with self.subTest(**kwargs):
                with self.assertRaisesRegex(ValueError, f"{name}="):
                    RandomSampler(**kwargs)
