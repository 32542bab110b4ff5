import numpy as np
from keras import ops

from keras_s2s.samplers import GreedySampler
from tests.samplers.sampler_test_utils import BOS
from tests.samplers.sampler_test_utils import EOS
from tests.samplers.sampler_test_utils import bos_prompt
from tests.samplers.sampler_test_utils import initial_cache
from tests.samplers.sampler_test_utils import table_next
from tests.test_case import TestCase


class GreedySamplerTest(TestCase):
    def test_picks_the_most_probable_token_and_keeps_forced_tokens(self):
        rng = np.random.default_rng(0)
        table = rng.normal(size=(6, 6, 6)).astype("float32")
        table[:, :, EOS] = -10.0
        prompt, mask = bos_prompt(2, 6)
        prompt[1, 2], mask[1, 2] = 5, True  # a forced token in row 1
        ids = ops.convert_to_numpy(
            GreedySampler()(
                table_next(table),
                ops.convert_to_tensor(prompt),
                cache=initial_cache(2),
                index=1,
                mask=ops.convert_to_tensor(mask),
                stop_token_ids=(EOS,),
            )
        )
        for b in range(2):
            expected = [BOS]
            for t in range(1, 6):
                token = int(np.argmax(table[t, expected[-1]]))
                expected.append(int(prompt[b, t]) if mask[b, t] else token)
            self.assertAllEqual(ids[b], np.array(expected))
        self.assertEqual(ids[1, 2], 5)

    def test_config_roundtrip(self):
        self.run_config_roundtrip_test(GreedySampler())
