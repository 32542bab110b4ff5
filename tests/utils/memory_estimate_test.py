import os
import time
from unittest import mock

import pytest

from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.utils import memory_estimate
from tests.test_case import TestCase

CONFIGS = [
    dict(encoder_vocabulary_size=300, embedding_dim=16, hidden_dim=32),
    dict(encoder_vocabulary_size=300, decoder_vocabulary_size=200, embedding_dim=8,
         hidden_dim=16, cell_type="lstm", attention_type="luong",
         num_encoder_layers=2, num_decoder_layers=2),
    dict(encoder_vocabulary_size=100, embedding_dim=8, hidden_dim=16,
         cell_type="simple_rnn", bidirectional=False, input_feeding=False,
         attention_type="luong", tie_embeddings=True),
    dict(encoder_vocabulary_size=100, embedding_dim=8, hidden_dim=16,
         attention_type="multi_head", attention_units=8),
]


class MemoryEstimateTest(TestCase):
    def test_parameter_estimate_is_a_close_lower_bound(self):
        for config in CONFIGS:
            backbone = Seq2SeqBackbone(**config)
            terms = memory_estimate.estimate_backbone_parameters(**backbone.get_config())
            estimate = sum(count for _, _, count in terms)
            actual = backbone.count_params()
            self.assertLessEqual(estimate, actual, config)
            self.assertGreater(estimate, 0.8 * actual, config)

    def test_a_huge_backbone_is_refused_at_once_naming_the_argument(self):
        start = time.perf_counter()
        with pytest.raises(MemoryError, match=r"hidden_dim=10000000\): about .* "
                                              r"parameters .*available"):
            Seq2SeqBackbone(encoder_vocabulary_size=100, hidden_dim=10_000_000)
        self.assertLess(time.perf_counter() - start, 5)
        with pytest.raises(MemoryError, match=r"encoder_vocabulary_size=10000000000"):
            Seq2SeqBackbone(encoder_vocabulary_size=10**10, embedding_dim=64,
                            hidden_dim=8)

    def test_limits_follow_the_available_memory_and_can_be_skipped(self):
        config = dict(encoder_vocabulary_size=1000, embedding_dim=64, hidden_dim=64)
        with mock.patch.object(memory_estimate, "available_memory_bytes",
                               return_value=100_000):
            with pytest.raises(MemoryError, match="needs at least .* more than the "
                                                  r"97\.7 KiB available"):
                Seq2SeqBackbone(**config)
            with mock.patch.dict(os.environ, {"KERAS_S2S_SKIP_MEMORY_CHECK": "1"}):
                backbone = Seq2SeqBackbone(**config)
            with pytest.raises(MemoryError, match=r"Training with batch_size=64 .*"
                                                  r"Lower batch_size"):
                memory_estimate.check_training_fits(backbone, 64, 50, 50)
        memory_estimate.check_training_fits(backbone, 64, 50, 50)

    def test_available_memory_is_read(self):
        available = memory_estimate.available_memory_bytes()
        if os.path.exists("/proc/meminfo"):
            self.assertGreater(available, 0)

    def test_format_bytes(self):
        self.assertEqual(memory_estimate.format_bytes(512), "512 B")
        self.assertEqual(memory_estimate.format_bytes(1536), "1.5 KiB")
