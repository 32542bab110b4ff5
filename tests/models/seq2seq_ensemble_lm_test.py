import os

import keras
import numpy as np
from keras import ops

from keras_s2s import samplers
from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqEnsembleLM
from keras_s2s.models import Seq2SeqLM
from keras_s2s.models import Seq2SeqLMPreprocessor
from keras_s2s.tokenizers import SymbolTokenizer
from keras_s2s.tokenizers import compute_symbol_vocabulary
from tests.test_case import TestCase

VOCABULARY = compute_symbol_vocabulary(["abcdefghijklm"])  # 17 symbols
STOP = [3]


def make_member(attention_type="bahdanau", cell_type="gru", preprocessor=None,
                name=None, **kwargs):
    config = dict(
        encoder_vocabulary_size=17,
        decoder_vocabulary_size=17,
        embedding_dim=8,
        hidden_dim=12,
        cell_type=cell_type,
        attention_type=attention_type,
    )
    config.update(kwargs)
    model = Seq2SeqLM(Seq2SeqBackbone(**config), preprocessor=preprocessor, name=name)
    # Without XLA: tracing is several times faster on these tiny models.
    model.compile(jit_compile=False)
    return model


def ensemble_of(members):
    ensemble = Seq2SeqEnsembleLM(members)
    ensemble.compile(jit_compile=False)
    return ensemble


def make_preprocessor(vocabulary=VOCABULARY):
    return Seq2SeqLMPreprocessor(
        tokenizer=SymbolTokenizer(vocabulary),
        encoder_sequence_length=8,
        decoder_sequence_length=7,
    )


def make_inputs(batch_size=3, source_len=6, max_length=7, seed=0):
    """Generation inputs: random sources, a `<s>` prompt padded to `max_length`."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, source_len + 1, size=batch_size)
    mask = np.arange(source_len)[None, :] < lengths[:, None]
    prompt = np.zeros((batch_size, max_length), "int32")
    prompt[:, 0] = 2
    return {
        "encoder_token_ids": np.where(
            mask, rng.integers(4, 17, (batch_size, source_len)), 0
        ).astype("int32"),
        "encoder_padding_mask": mask,
        "decoder_token_ids": prompt,
        "decoder_padding_mask": prompt != 0,
    }


def teacher_forcing_inputs(inputs, token_ids):
    """Inputs scoring `token_ids` (`<s>` then the output) by teacher forcing."""
    return {
        "encoder_token_ids": inputs["encoder_token_ids"],
        "encoder_padding_mask": inputs["encoder_padding_mask"],
        "decoder_token_ids": token_ids[:, :-1],
        "decoder_padding_mask": np.ones_like(token_ids[:, :-1], bool),
    }


def log_softmax(x):
    x = np.asarray(ops.convert_to_numpy(x), np.float64)
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def search_configs():
    return {
        "greedy": "greedy",
        "beam": samplers.BeamSampler(num_beams=3, length_penalty=0.6,
                                     coverage_penalty=0.2),
        "n_best": samplers.BeamSampler(num_beams=3, return_all_beams=True),
        "exact": samplers.ExactSampler(max_expansions=300),
        "top_k": samplers.TopKSampler(k=4, seed=7),
    }


class Seq2SeqEnsembleLMTest(TestCase):
    def test_ensemble_of_one_decodes_as_the_model_with_every_sampler(self):
        model = make_member()
        ensemble = ensemble_of([model])
        x = make_inputs()
        self.assertAllEqual(ensemble(x), model(x))
        for name, sampler in search_configs().items():
            with self.subTest(name):
                # A fresh copy per call: seeded samplers keep a random state.
                config = samplers.serialize(samplers.get(sampler))
                expected = model.generate(
                    x, stop_token_ids=STOP, sampler=samplers.get(config)
                )
                actual = ensemble.generate(
                    x, stop_token_ids=STOP, sampler=samplers.get(config)
                )
                self.assertEqual(sorted(actual), sorted(expected))
                self.assertAllEqual(
                    actual["decoder_token_ids"], expected["decoder_token_ids"]
                )
                if "scores" in expected:
                    self.assertAllClose(actual["scores"], expected["scores"], atol=1e-6)

    def test_teacher_forced_outputs_are_the_mean_of_member_log_probabilities(self):
        first, second = make_member(), make_member("luong", "lstm")
        ensemble = ensemble_of([first, second])
        x = teacher_forcing_inputs(
            make_inputs(), np.random.default_rng(1).integers(4, 17, (3, 6))
        )
        expected = (log_softmax(first(x)) + log_softmax(second(x))) / 2
        actual = ops.convert_to_numpy(ensemble(x))
        self.assertEqual(actual.shape, (3, 5, 17))
        self.assertAllClose(actual, expected, atol=1e-5)

    def test_greedy_equals_argmax_of_the_hand_averaged_member_steps(self):
        first, second = make_member(), make_member("luong", "lstm")
        ensemble = ensemble_of([first, second])
        x = make_inputs()
        output = ensemble.generate(x, stop_token_ids=None, sampler="greedy")
        caches = [
            m.build_cache(x["encoder_token_ids"], x["encoder_padding_mask"])
            for m in (first, second)
        ]
        token = x["decoder_token_ids"][:, 0]
        expected = [token]
        for _ in range(x["decoder_token_ids"].shape[1] - 1):
            average = 0.0
            for i, member in enumerate((first, second)):
                logits, _, caches[i] = member.call_decoder_step(token, caches[i])
                average = average + log_softmax(ops.convert_to_numpy(logits)) / 2
            token = average.argmax(-1).astype("int32")
            expected.append(token)
        self.assertAllEqual(output["decoder_token_ids"], np.stack(expected, 1))

    def test_beam_scores_are_the_hand_averaged_log_probabilities(self):
        # Each n-best hypothesis's score is log P(Y) under the normalized
        # mean of the members' log-probabilities, computed here by teacher
        # forcing each member separately.
        first = make_member()
        second = make_member("luong", "gru", input_feeding=False)
        ensemble = ensemble_of([first, second])
        x = make_inputs()
        sampler = samplers.BeamSampler(num_beams=3, return_all_beams=True)
        output = ensemble.generate(x, stop_token_ids=STOP, sampler=sampler)
        token_ids, mask = output["decoder_token_ids"], output["decoder_padding_mask"]
        for beam in range(3):
            ids = token_ids[:, beam]
            forced = teacher_forcing_inputs(x, ids)
            average = (log_softmax(first(forced)) + log_softmax(second(forced))) / 2
            log_probs = log_softmax(average)  # the samplers renormalize
            picked = np.take_along_axis(log_probs, ids[:, 1:, None], -1)[..., 0]
            expected = (picked * mask[:, beam, 1:]).sum(-1)
            self.assertAllClose(output["scores"][:, beam], expected, atol=1e-4)

    def test_mixed_architectures_and_copy_attention_members(self):
        members = [
            make_member(),
            make_member("luong", "lstm", num_decoder_layers=2),
            make_member("multi_head", "gru", num_heads=2),
            make_member("luong", "gru", copy_attention=True),
        ]
        ensemble = ensemble_of(members)
        x = make_inputs()
        forced = teacher_forcing_inputs(x, make_inputs(max_length=6)["decoder_token_ids"])
        expected = np.mean([log_softmax(m(forced)) for m in members], axis=0)
        self.assertAllClose(ensemble(forced), expected, atol=1e-5)
        # Step by step equals teacher forcing.
        cache = ensemble.build_cache(x["encoder_token_ids"], x["encoder_padding_mask"])
        for t in range(forced["decoder_token_ids"].shape[1]):
            logits, weights, cache = ensemble.call_decoder_step(
                forced["decoder_token_ids"][:, t], cache
            )
            self.assertAllClose(logits, expected[:, t], atol=1e-5)
            self.assertAllClose(
                ops.sum(weights, axis=-1), np.ones(3), atol=1e-5
            )
        output = ensemble.generate(x, stop_token_ids=STOP, sampler="beam")
        self.assertEqual(output["decoder_token_ids"].shape, (3, 7))

    def test_cache_holds_every_member_and_keeps_invariant_keys(self):
        ensemble = ensemble_of([make_member(), make_member(copy_attention=True)])
        x = make_inputs()
        cache = ensemble.build_cache(x["encoder_token_ids"], x["encoder_padding_mask"])
        invariant = set(ensemble.beam_invariant_cache_keys)
        self.assertIn("member_0/memory", cache)
        self.assertIn("member_1/source_ids", cache)
        self.assertIn("member_1/source_ids", invariant)
        self.assertNotIn("member_0/state", invariant)
        self.assertTrue(invariant <= set(cache) | {"member_0/source_ids"})

    def test_generate_strings_with_the_shared_preprocessor(self):
        preprocessor = make_preprocessor()
        model = make_member(preprocessor=preprocessor)
        other = make_member("luong", "lstm", preprocessor=make_preprocessor())
        single = ensemble_of([model])
        sources = ["abc", "mlk", ""]
        self.assertEqual(single.generate(sources), model.generate(sources))
        pair = ensemble_of([model, other])
        self.assertIs(pair.preprocessor, preprocessor)
        outputs = pair.generate(sources, sampler="beam")
        self.assertLen(outputs, 3)
        self.assertTrue(all(isinstance(text, str) for text in outputs))

    def test_bad_members_raise_clear_errors(self):
        with self.assertRaisesRegex(ValueError, "at least one member"):
            Seq2SeqEnsembleLM([])
        with self.assertRaisesRegex(ValueError, "list of keras_s2s.models.Seq2SeqLM"):
            Seq2SeqEnsembleLM(make_member())
        with self.assertRaisesRegex(ValueError, r"members\[1\] of type Dense"):
            Seq2SeqEnsembleLM([make_member(), keras.layers.Dense(2)])
        with self.assertRaisesRegex(
            ValueError, r"decoder vocabulary.*decoder_vocabulary_size=17.*=15"
        ):
            Seq2SeqEnsembleLM([make_member(), make_member(decoder_vocabulary_size=15)])
        other_vocabulary = list(VOCABULARY)
        other_vocabulary[5], other_vocabulary[6] = other_vocabulary[6], other_vocabulary[5]
        with self.assertRaisesRegex(ValueError, r"target tokenizer: members\[1\]"):
            Seq2SeqEnsembleLM([
                make_member(preprocessor=make_preprocessor()),
                make_member(preprocessor=make_preprocessor(other_vocabulary)),
            ])
        with self.assertRaisesRegex(ValueError, "list of preset names"):
            Seq2SeqEnsembleLM.from_preset("multi30k_en_de_gru_bahdanau")

    def test_config_and_keras_file_round_trip(self):
        ensemble = ensemble_of(
            [make_member(preprocessor=make_preprocessor()), make_member("luong", "lstm")]
        )
        ensemble.compile(sampler=samplers.BeamSampler(num_beams=2), jit_compile=False)
        config = ensemble.get_config()
        self.assertLen(config["members"], 2)
        revived = Seq2SeqEnsembleLM.from_config(config)
        self.assertLen(revived.members, 2)
        x = teacher_forcing_inputs(make_inputs(), make_inputs()["decoder_token_ids"])
        restored = self.run_model_saving_test(ensemble, x, atol=1e-6)
        self.assertIsInstance(restored, Seq2SeqEnsembleLM)
        self.assertEqual(restored.sampler.num_beams, 2)
        self.assertEqual(
            restored.generate(["abc"]), ensemble.generate(["abc"])
        )

    def test_from_preset_loads_each_member(self):
        from keras_s2s.training import write_preset

        paths = []
        members = [
            make_member(preprocessor=make_preprocessor()),
            make_member("luong", "lstm", preprocessor=make_preprocessor()),
        ]
        for index, member in enumerate(members):
            paths.append(write_preset(member, os.path.join(self.tmp_dir, f"m{index}")))
        ensemble = Seq2SeqEnsembleLM.from_preset(paths)
        x = teacher_forcing_inputs(make_inputs(), make_inputs()["decoder_token_ids"])
        expected = np.mean([log_softmax(m(x)) for m in members], axis=0)
        self.assertAllClose(ensemble(x), expected, atol=1e-5)
        with self.assertRaisesRegex(ValueError, "not saved as one preset"):
            ensemble.save_to_preset(os.path.join(self.tmp_dir, "ensemble"))

    def test_members_with_the_same_name_and_the_same_member_twice(self):
        # Presets saved from default-named models all load with one name.
        first = make_member(name="seq2_seq_lm_same")
        second = make_member("luong", "lstm", name="seq2_seq_lm_same")
        x = teacher_forcing_inputs(make_inputs(), make_inputs()["decoder_token_ids"])
        expected = (log_softmax(first(x)) + log_softmax(second(x))) / 2
        self.assertAllClose(ensemble_of([first, second])(x), expected, atol=1e-5)
        twice = ensemble_of([first, first])
        self.assertAllClose(twice(x), log_softmax(first(x)), atol=1e-5)
        inputs = make_inputs()
        self.assertAllEqual(
            twice.generate(inputs, stop_token_ids=STOP)["decoder_token_ids"],
            first.generate(inputs, stop_token_ids=STOP)["decoder_token_ids"],
        )
