import os

import keras
import numpy as np
import pytest
from keras import ops

from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqLM
from tests.test_case import TestCase

# (attention_type, cell_type, input_feeding, extra backbone kwargs)
CONFIGURATIONS = [
    ("bahdanau", "gru", True, {}),
    ("bahdanau", "lstm", True, {"num_decoder_layers": 2, "num_encoder_layers": 2}),
    ("luong", "lstm", False, {"score_mode": "general"}),
    ("luong", "gru", True, {"score_mode": "concat"}),
    ("luong", "simple_rnn", False, {"score_mode": "dot", "hidden_dim": 16}),
    ("multi_head", "gru", False, {"num_heads": 2}),
    ("luong", "lstm", True, {"layer_normalization": True, "bridge": "zero"}),
    ("bahdanau", "gru", True, {"bidirectional": False, "bridge": "copy",
                               "tie_embeddings": True, "hidden_dim": 8}),
]


def make_model(attention_type="bahdanau", cell_type="gru", input_feeding=True, **kwargs):
    config = dict(
        encoder_vocabulary_size=20,
        decoder_vocabulary_size=17,
        embedding_dim=8,
        hidden_dim=12,
        cell_type=cell_type,
        attention_type=attention_type,
        input_feeding=input_feeding,
    )
    config.update(kwargs)
    return Seq2SeqLM(Seq2SeqBackbone(**config))


def make_inputs(batch_size=3, source_len=6, target_len=5, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, source_len + 1, size=batch_size)
    lengths[0] = source_len
    mask = np.arange(source_len)[None, :] < lengths[:, None]
    encoder_ids = np.where(mask, rng.integers(3, 20, (batch_size, source_len)), 0)
    return {
        "encoder_token_ids": encoder_ids.astype("int32"),
        "encoder_padding_mask": mask,
        "decoder_token_ids": rng.integers(3, 17, (batch_size, target_len)).astype("int32"),
        "decoder_padding_mask": np.ones((batch_size, target_len), bool),
    }


def config_id(config):
    attention, cell, feeding, extra = config
    return f"{attention}-{cell}-{'feed' if feeding else 'nofeed'}-{len(extra)}"


class Seq2SeqLMTest(TestCase):
    def test_output_shape_and_dtype(self):
        model = make_model()
        logits = model(make_inputs())
        self.assertEqual(tuple(logits.shape), (3, 5, 17))
        self.assertEqual(keras.backend.standardize_dtype(logits.dtype), "float32")

    def test_teacher_forced_logits_equal_step_by_step_logits(self):
        # The invariant generation relies on: stepping the decoder one token
        # at a time (fused path or not) gives the training-time logits.
        for config in CONFIGURATIONS:
            with self.subTest(config_id(config)):
                attention, cell, feeding, extra = config
                model = make_model(attention, cell, feeding, **extra)
                x = make_inputs()
                full = ops.convert_to_numpy(model(x))
                cache = model.build_cache(
                    x["encoder_token_ids"], x["encoder_padding_mask"]
                )
                steps = []
                for t in range(x["decoder_token_ids"].shape[1]):
                    logits, weights, cache = model.call_decoder_step(
                        x["decoder_token_ids"][:, t], cache
                    )
                    steps.append(ops.convert_to_numpy(logits))
                    weights = ops.convert_to_numpy(weights)
                    # Weights sum to 1 over real source tokens, 0 on padding.
                    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
                    self.assertTrue(np.all(weights[~x["encoder_padding_mask"]] == 0))
                np.testing.assert_allclose(np.stack(steps, 1), full, atol=1e-5)

    def test_padding_content_does_not_change_outputs(self):
        for config in CONFIGURATIONS[:3]:
            with self.subTest(config_id(config)):
                attention, cell, feeding, extra = config
                model = make_model(attention, cell, feeding, **extra)
                x = make_inputs()
                noisy = dict(x)
                noisy["encoder_token_ids"] = np.where(
                    x["encoder_padding_mask"], x["encoder_token_ids"], 7
                ).astype("int32")
                self.assertAllClose(model(noisy), model(x), atol=1e-5)

    def test_greedy_generate_equals_manual_argmax_decoding(self):
        model = make_model("luong", "lstm", False)
        model.compile(sampler="greedy")
        x = make_inputs()
        max_length = 6
        prompt = np.zeros((3, max_length), "int32")
        prompt[:, 0] = 1
        inputs = {
            "encoder_token_ids": x["encoder_token_ids"],
            "encoder_padding_mask": x["encoder_padding_mask"],
            "decoder_token_ids": prompt,
            "decoder_padding_mask": prompt != 0,
        }
        output = model.generate(inputs, stop_token_ids=None)
        cache = model.build_cache(x["encoder_token_ids"], x["encoder_padding_mask"])
        token = prompt[:, 0]
        expected = [token]
        for _ in range(max_length - 1):
            logits, _, cache = model.call_decoder_step(token, cache)
            token = np.argmax(ops.convert_to_numpy(logits), -1).astype("int32")
            expected.append(token)
        self.assertAllEqual(output["decoder_token_ids"], np.stack(expected, 1))

    def test_generate_masks_after_stop_token_and_keeps_forced_prefix(self):
        model = make_model()
        model.compile(sampler="greedy")
        x = make_inputs()
        prompt = np.zeros((3, 8), "int32")
        prompt[:, 0] = 1
        prompt[0, 1:3] = [5, 6]  # a forced prefix for the first row
        mask = prompt != 0
        inputs = {
            "encoder_token_ids": x["encoder_token_ids"],
            "encoder_padding_mask": x["encoder_padding_mask"],
            "decoder_token_ids": prompt,
            "decoder_padding_mask": mask,
        }
        ungated = model.generate(inputs, stop_token_ids=None)["decoder_token_ids"]
        stop = int(ungated[1, 3])  # make the 2nd row stop at position 3
        output = model.generate(inputs, stop_token_ids=[stop])
        ids, out_mask = output["decoder_token_ids"], output["decoder_padding_mask"]
        self.assertAllEqual(ids[0, :3], np.array([1, 5, 6]))
        for row in range(3):
            generated = np.where(ids[row, 1:] == stop)[0]
            if len(generated):
                end = generated[0] + 1
                self.assertTrue(out_mask[row, : end + 1].all())
                self.assertFalse(out_mask[row, end + 1 :].any())
            else:
                self.assertTrue(out_mask[row].all())

    def test_fit_reduces_loss_and_reports_metrics(self):
        model = make_model("luong", "gru", True)
        model.compile(optimizer=keras.optimizers.Adam(0.01), label_smoothing=0.1)
        x = make_inputs(batch_size=8)
        y = np.roll(x["decoder_token_ids"], -1, axis=1)
        history = model.fit(x, y, sample_weight=np.ones(y.shape), epochs=30, verbose=0)
        losses = history.history["loss"]
        self.assertLess(losses[-1], 0.75 * losses[0])
        self.assertIn("token_accuracy", history.history)
        self.assertIn("perplexity", history.history)

    def test_default_optimizer_clips_the_global_gradient_norm_to_5(self):
        model = make_model()
        model.compile()
        optimizer = model.optimizer
        self.assertIsInstance(optimizer, keras.optimizers.Adam)
        self.assertEqual(optimizer.global_clipnorm, 5.0)
        self.assertAllClose(optimizer.learning_rate, 1e-3)
        # A loss scaled by 1e6: after one step Adam's first moments are
        # (1 - beta_1) times the clipped gradients, whose global norm is 5.
        x = make_inputs(batch_size=4)
        y = np.roll(x["decoder_token_ids"], -1, axis=1)
        model.fit(x, y, sample_weight=np.full(y.shape, 1e6), epochs=1, batch_size=4,
                  verbose=0)
        moments = [ops.convert_to_numpy(m) for m in optimizer._momentums]
        norm = np.sqrt(sum(np.sum(np.square(m)) for m in moments))
        # TensorFlow measures the norm of embedding gradients on their sparse
        # rows, before repeated token ids are summed: close to 5, not exact.
        rtol = 1e-2 if keras.backend.backend() == "tensorflow" else 1e-4
        self.assertAllClose(norm / (1 - optimizer.beta_1), 5.0, rtol=rtol)

    def test_sample_weight_masks_padding_in_the_loss(self):
        model = make_model()
        model.compile()
        x = make_inputs()
        y = np.roll(x["decoder_token_ids"], -1, axis=1)
        weights = np.ones(y.shape, "float32")
        weights[:, 3:] = 0
        changed = y.copy()
        changed[:, 3:] = (changed[:, 3:] + 1) % 17
        loss = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
        loss_changed = model.evaluate(
            x, changed, sample_weight=weights, verbose=0, return_dict=True
        )
        self.assertAlmostEqual(loss["loss"], loss_changed["loss"], places=5)

    def test_saving_round_trip(self):
        for config in (CONFIGURATIONS[0], CONFIGURATIONS[2], CONFIGURATIONS[5]):
            with self.subTest(config_id(config)):
                attention, cell, feeding, extra = config
                model = make_model(attention, cell, feeding, **extra)
                x = make_inputs()
                restored = self.run_model_saving_test(model, x, atol=1e-5)
                self.assertIsInstance(restored, Seq2SeqLM)
                self.assertEqual(
                    restored.backbone.get_config(), model.backbone.get_config()
                )

    def test_backbone_config_round_trip_and_weight_transfer(self):
        model = make_model("luong", "lstm", False, num_decoder_layers=2)
        backbone = model.backbone
        revived = self.run_config_roundtrip_test(backbone)
        revived.set_weights(backbone.get_weights())
        x = make_inputs()
        self.assertAllClose(
            Seq2SeqLM(revived)(x), model(x), atol=1e-6
        )

    def test_fast_decoder_uses_fused_keras_layers(self):
        fast = make_model("luong", "lstm", False).backbone.decoder
        self.assertTrue(fast.uses_fused_rnn)
        self.assertIsInstance(fast.rnn_layers[0], keras.layers.LSTM)
        stepping = make_model("bahdanau", "gru", True).backbone.decoder
        self.assertFalse(stepping.uses_fused_rnn)

    def test_tied_embeddings_share_one_matrix(self):
        tied = make_model(tie_embeddings=True).backbone
        untied = make_model(tie_embeddings=False).backbone
        self.assertEqual(
            len(untied.token_embedding.weights) - len(tied.token_embedding.weights), 1
        )


class Seq2SeqLMBadInputTest(TestCase):
    def test_unknown_choices_name_the_argument_and_allowed_values(self):
        cases = {
            "cell_type": {"cell_type": "rnn"},
            "attention_type": {"attention_type": "additive"},
            "score_mode": {"attention_type": "luong", "score_mode": "add"},
            "bridge": {"bridge": "mean"},
        }
        for argument, kwargs in cases.items():
            with self.subTest(argument):
                with self.assertRaisesRegex(ValueError, f"Expected {argument} in"):
                    make_model(**kwargs)

    def test_bad_sizes(self):
        with self.assertRaisesRegex(ValueError, "hidden_dim"):
            make_model(hidden_dim=0)
        with self.assertRaisesRegex(ValueError, "dropout"):
            make_model(dropout=1.5)
        with self.assertRaisesRegex(ValueError, "num_heads"):
            make_model(attention_type="multi_head", hidden_dim=12, num_heads=5)
        with self.assertRaisesRegex(ValueError, "bridge_type='copy'"):
            make_model(bridge="copy", encoder_hidden_dim=7)

    def generate_inputs(self):
        x = make_inputs()
        prompt = np.zeros((3, 4), "int32")
        prompt[:, 0] = 1
        return {
            "encoder_token_ids": x["encoder_token_ids"],
            "encoder_padding_mask": x["encoder_padding_mask"],
            "decoder_token_ids": prompt,
            "decoder_padding_mask": prompt != 0,
        }

    def test_generate_rejects_wrong_rank_dtype_and_out_of_vocabulary_ids(self):
        model = make_model()
        model.compile()
        inputs = self.generate_inputs()
        bad_rank = dict(inputs, encoder_token_ids=inputs["encoder_token_ids"][0])
        with self.assertRaisesRegex(ValueError, "encoder_token_ids.*rank 2"):
            model.generate(bad_rank, stop_token_ids=[2])
        bad_dtype = dict(inputs, encoder_token_ids=inputs["encoder_token_ids"] * 0.5)
        with self.assertRaisesRegex(ValueError, "integer `encoder_token_ids`"):
            model.generate(bad_dtype, stop_token_ids=[2])
        out_of_range = dict(inputs, encoder_token_ids=inputs["encoder_token_ids"] + 100)
        with self.assertRaisesRegex(ValueError, r"outside \[0, 20\)"):
            model.generate(out_of_range, stop_token_ids=[2])
        missing = {k: v for k, v in inputs.items() if k != "decoder_token_ids"}
        with self.assertRaisesRegex(ValueError, "missing"):
            model.generate(missing, stop_token_ids=[2])

    def test_encoder_rejects_float_ids_and_wrong_rank(self):
        encoder = make_model().backbone.encoder
        with self.assertRaisesRegex(ValueError, "integer `token_ids`"):
            encoder(np.ones((2, 3), "float32"))
        with self.assertRaisesRegex(ValueError, "rank 2"):
            encoder(np.ones((2, 3, 1), "int32"))

    def test_vocabulary_size_mismatch_with_preprocessor(self):
        class FakeTokenizer:
            def vocabulary_size(self):
                return 99

        class FakePreprocessor:
            encoder_tokenizer = FakeTokenizer()
            decoder_tokenizer = FakeTokenizer()

        backbone = make_model().backbone
        with self.assertRaisesRegex(ValueError, "encoder vocabulary has 99 tokens"):
            Seq2SeqLM(backbone, preprocessor=FakePreprocessor())

    def test_backbone_type_is_checked(self):
        with self.assertRaisesRegex(ValueError, "Seq2SeqBackbone"):
            Seq2SeqLM(keras.layers.Dense(3))


class Seq2SeqLMCompileSavingTest(TestCase):
    def test_saved_model_restores_sampler_loss_and_optimizer_state(self):
        from keras_s2s.samplers import BeamSampler

        model = make_model()
        model.compile(
            sampler=BeamSampler(num_beams=3, length_penalty=0.6), label_smoothing=0.1
        )
        x = make_inputs()
        y = np.roll(x["decoder_token_ids"], -1, axis=1)
        model.fit(x, y, epochs=2, verbose=0)
        path = os.path.join(self.tmp_dir, "compiled.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
        self.assertIsInstance(restored.sampler, BeamSampler)
        self.assertEqual(restored.sampler.get_config(), model.sampler.get_config())
        self.assertEqual(restored.loss.label_smoothing, 0.1)
        self.assertEqual(int(ops.convert_to_numpy(restored.optimizer.iterations)), 2)


class Seq2SeqLMGenerateCompilationTest(TestCase):
    @pytest.mark.skipif(
        keras.backend.backend() != "tensorflow", reason="XLA choice of the TensorFlow backend"
    )
    def test_tensorflow_generation_is_xla_compiled_unless_jit_compile_false(self):
        from keras_s2s.samplers import BeamSampler

        inputs = make_inputs(batch_size=4, target_len=7)
        inputs["decoder_padding_mask"][:, 1:] = False  # prompt: the first token only
        for sampler in ["greedy", BeamSampler(num_beams=3, length_penalty=0.6)]:
            outputs = {}
            for jit_compile in ("auto", False):
                keras.utils.set_random_seed(3)
                model = make_model(attention_type="luong", cell_type="lstm", input_feeding=False)
                kwargs = {} if jit_compile == "auto" else {"jit_compile": False}
                model.compile(sampler=sampler, **kwargs)
                function = model.make_generate_function()
                # `tf.function` keeps its `jit_compile` argument.
                self.assertEqual(function._jit_compile, jit_compile == "auto")
                outputs[jit_compile] = model.generate(inputs, stop_token_ids=[2])
            # XLA changes the speed, not the tokens.
            for key in ("decoder_token_ids", "decoder_padding_mask"):
                np.testing.assert_array_equal(
                    ops.convert_to_numpy(outputs["auto"][key]),
                    ops.convert_to_numpy(outputs[False][key]),
                )

    def test_beam_search_skips_reordering_beam_invariant_cache_entries(self):
        """Memory, keys, masks and source ids are the same for every beam of an
        example: not reordering them leaves every output and score unchanged."""
        from keras_s2s.samplers import BeamSampler

        inputs = make_inputs(batch_size=4, target_len=7, seed=2)
        inputs["decoder_padding_mask"][:, 1:] = False
        sampler = BeamSampler(num_beams=3, length_penalty=0.6, return_all_beams=True)
        outputs = {}
        for invariant in (Seq2SeqLM.beam_invariant_cache_keys, ()):
            keras.utils.set_random_seed(5)
            model = make_model(copy_attention=True, decoder_vocabulary_size=20)
            model.beam_invariant_cache_keys = invariant
            model.compile(sampler=sampler)
            outputs[invariant] = model.generate(inputs, stop_token_ids=[2])
        self.assertEqual(
            set(Seq2SeqLM.beam_invariant_cache_keys),
            {"memory", "memory_mask", "keys", "source_ids"},
        )
        with_skip, without = outputs.values()
        np.testing.assert_array_equal(
            ops.convert_to_numpy(with_skip["decoder_token_ids"]),
            ops.convert_to_numpy(without["decoder_token_ids"]),
        )
        np.testing.assert_allclose(
            ops.convert_to_numpy(with_skip["scores"]),
            ops.convert_to_numpy(without["scores"]),
            rtol=1e-6,
        )


class Seq2SeqLMChunkedGenerateTest(TestCase):
    """`generate()` cuts long batches into chunks; outputs stay the same."""

    def test_token_id_chunks_equal_one_batch_in_input_order(self):
        from keras_s2s.samplers import BeamSampler

        # 11 examples of unsorted source lengths: chunks of 4 -> 3 chunks,
        # the last one padded.
        inputs = make_inputs(batch_size=11, target_len=7, seed=4)
        inputs["decoder_padding_mask"][:, 1:] = False
        self.assertGreater(len(set(inputs["encoder_padding_mask"].sum(1))), 3)
        model = make_model()
        for sampler in ("greedy", BeamSampler(num_beams=3, return_all_beams=True)):
            model.compile(sampler=sampler)
            whole = model.generate(inputs, stop_token_ids=[2], chunk_size=None)
            chunked = model.generate(inputs, stop_token_ids=[2], chunk_size=4)
            self.assertEqual(sorted(chunked), sorted(whole))
            for key in whole:
                actual = ops.convert_to_numpy(chunked[key])
                expected = ops.convert_to_numpy(whole[key])
                if key == "scores":
                    # Float sums of another batch size: rounding may differ.
                    np.testing.assert_allclose(actual, expected, rtol=1e-6)
                else:
                    np.testing.assert_array_equal(actual, expected)

    def test_text_chunks_equal_one_batch_and_warn_once(self):
        import warnings

        from tests.presets.preset_fixtures import make_model as make_text_model

        model = make_text_model()
        sources = ["a dog runs . two men play . a dog runs", "two", "ein hund rennt .",
                   "a", "zwei männer", "men play", "runs .", "a dog"]
        outputs, messages = [], []
        for chunk_size in (None, 3):
            with warnings.catch_warnings(record=True) as records:
                warnings.simplefilter("always")
                outputs.append(model.generate(
                    sources, max_length=7, chunk_size=chunk_size, sampler="beam"
                ))
            messages.append(
                [str(r.message) for r in records if "truncated" in str(r.message)]
            )
        whole, chunked = outputs
        self.assertEqual(chunked, whole)
        self.assertEqual(len(chunked), 8)
        # One warning counting all 8 sources, as for one batch.
        self.assertEqual(len(messages[1]), 1)
        self.assertRegex(messages[1][0], r"^\d of 8 source texts")
        self.assertEqual(messages[1], messages[0])

    def test_chunk_order_sorts_inside_windows_and_covers_every_input(self):
        from keras_s2s.models import seq2seq_lm

        lengths = np.random.default_rng(0).integers(1, 50, size=70)
        chunks = seq2seq_lm._chunk_indices(lengths, chunk_size=4)
        order = np.concatenate(chunks)
        self.assertEqual(sorted(order), list(range(70)))
        self.assertEqual([len(c) for c in chunks], [4] * 17 + [2])
        window = 4 * seq2seq_lm.SORT_WINDOW_CHUNKS
        for start in range(0, 70, window):
            part = order[start : start + window]
            self.assertEqual(sorted(part), list(range(start, min(start + window, 70))))
            self.assertTrue(np.all(np.diff(lengths[part]) >= 0))

    def test_bad_chunk_size_and_a_batch_that_cannot_fit(self):
        from unittest import mock

        from keras_s2s.utils import memory_estimate

        model = make_model()
        model.compile(sampler="greedy")
        inputs = make_inputs(batch_size=5)
        with pytest.raises(ValueError, match="chunk_size to be a positive integer"):
            model.generate(inputs, stop_token_ids=[2], chunk_size=0)
        with mock.patch.object(memory_estimate, "available_memory_bytes",
                               return_value=1000):
            with pytest.raises(MemoryError, match=r"chunk_size=2 .*Lower chunk_size"):
                model.generate(inputs, stop_token_ids=[2], chunk_size=2)
