"""Mixed precision: the backbone's dtype policy, float32 logits and loss."""

import keras
import numpy as np
from keras import ops

from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqLM
from tests.test_case import TestCase

POLICIES = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


def batch():
    x = {
        "encoder_token_ids": np.array([[5, 6, 7, 3], [4, 3, 0, 0]], "int32"),
        "encoder_padding_mask": np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool),
        "decoder_token_ids": np.array([[2, 9, 10], [2, 8, 0]], "int32"),
        "decoder_padding_mask": np.array([[1, 1, 1], [1, 1, 0]], bool),
    }
    y = np.array([[9, 10, 3], [8, 3, 0]], "int32")
    return x, y, (y != 0).astype("float32")


def build(dtype, **config):
    keras.utils.set_random_seed(0)
    backbone = Seq2SeqBackbone(
        encoder_vocabulary_size=20, embedding_dim=8, hidden_dim=16, dtype=dtype,
        **config,
    )
    return Seq2SeqLM(backbone)


class Seq2SeqLMMixedPrecisionTest(TestCase):
    def test_half_precision_compute_with_float32_variables_and_logits(self):
        x, _, _ = batch()
        for config in (
            dict(cell_type="lstm", attention_type="bahdanau"),
            dict(cell_type="gru", attention_type="luong", input_feeding=False),
        ):
            reference = build(None, **config)
            expected = ops.convert_to_numpy(reference(x))
            for policy, compute in POLICIES.items():
                model = build(policy, **config)
                model.set_weights(reference.get_weights())
                backbone = model.backbone
                self.assertEqual(
                    {keras.backend.standardize_dtype(v.dtype) for v in model.weights},
                    {"float32"},
                )
                for layer in (backbone.encoder, backbone.decoder, backbone.bridge):
                    self.assertEqual(layer.compute_dtype, compute)
                outputs = backbone(x)
                self.assertEqual(
                    keras.backend.standardize_dtype(
                        outputs["decoder_sequence_output"].dtype
                    ),
                    compute,
                )
                logits = model(x)
                self.assertEqual(keras.backend.standardize_dtype(logits.dtype), "float32")
                # Half-precision rounding only: bfloat16 keeps 8 bits.
                tolerance = 0.05 if compute == "bfloat16" else 0.01
                self.assertAllClose(logits, expected, atol=tolerance, rtol=tolerance)

    def test_training_loss_in_float32_and_float16_loss_scaling(self):
        x, y, weights = batch()
        for policy in POLICIES:
            model = build(policy, cell_type="gru", attention_type="bahdanau")
            model.compile()
            expected_optimizer = (
                "LossScaleOptimizer" if policy == "mixed_float16" else "Adam"
            )
            self.assertEqual(type(model.optimizer).__name__, expected_optimizer)
            before = [ops.convert_to_numpy(v) for v in model.trainable_variables]
            losses = [
                model.train_on_batch(x, y, sample_weight=weights)[0] for _ in range(5)
            ]
            self.assertTrue(np.all(np.isfinite(losses)))
            self.assertLess(losses[-1], losses[0])
            after = [ops.convert_to_numpy(v) for v in model.trainable_variables]
            self.assertTrue(all(a.dtype == np.float32 for a in after))
            self.assertGreater(max(np.abs(a - b).max() for a, b in zip(after, before)), 0)
            # The first loss is the float32 cross-entropy of the float32 logits.
            logits = ops.convert_to_numpy(build(policy, cell_type="gru",
                                                attention_type="bahdanau")(x))
            shifted = logits - logits.max(-1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
            token_losses = -np.take_along_axis(log_probs, y[..., None], -1)[..., 0]
            self.assertAllClose(
                losses[0], (token_losses * weights).sum() / weights.size, rtol=1e-4,
                atol=1e-4,
            )

    def test_generation_step_logits_in_float32(self):
        x, _, _ = batch()
        reference = build(None, cell_type="gru", attention_type="bahdanau")
        model = build("mixed_bfloat16", cell_type="gru", attention_type="bahdanau")
        model.set_weights(reference.get_weights())
        caches = [
            m.build_cache(x["encoder_token_ids"], x["encoder_padding_mask"])
            for m in (reference, model)
        ]
        tokens = np.array([2, 2], "int32")
        expected, _, _ = reference.call_decoder_step(tokens, caches[0])
        logits, weights, _ = model.call_decoder_step(tokens, caches[1])
        self.assertEqual(keras.backend.standardize_dtype(logits.dtype), "float32")
        self.assertEqual(keras.backend.standardize_dtype(weights.dtype), "float32")
        self.assertAllClose(logits, expected, atol=0.05, rtol=0.05)
