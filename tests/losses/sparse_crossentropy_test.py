import numpy as np

from keras_s2s.losses import SparseCrossentropy
from tests.test_case import TestCase


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


class SparseCrossentropyTest(TestCase):
    def test_values_equal_numpy(self):
        rng = np.random.default_rng(0)
        logits = rng.normal(size=(2, 3, 5)).astype("float32")
        y = rng.integers(0, 5, (2, 3))
        weights = np.array([[1, 1, 0], [1, 0, 0]], "float32")
        logp = log_softmax(logits)
        nll = -np.take_along_axis(logp, y[..., None], -1)[..., 0]
        for eps in (0.0, 0.1):
            with self.subTest(eps=eps):
                per_token = (1 - eps) * nll + eps * (-logp.mean(-1))
                expected = (per_token * weights).sum() / weights.size
                loss = SparseCrossentropy(label_smoothing=eps)(y, logits, weights)
                self.assertAllClose(loss, expected, atol=1e-6)

    def test_config_and_errors(self):
        self.assertEqual(
            SparseCrossentropy(label_smoothing=0.2).get_config()["label_smoothing"], 0.2
        )
        with self.assertRaisesRegex(ValueError, "label_smoothing"):
            SparseCrossentropy(label_smoothing=1.0)
