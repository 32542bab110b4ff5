import doctest
import functools
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_s2s
import keras_s2s.models.seq2seq_lm_preprocessor as preprocessor_module
from keras_s2s.datasets import load_cmudict
from keras_s2s.datasets import load_multi30k
from keras_s2s.models.seq2seq_lm_preprocessor import Seq2SeqLMPreprocessor
from keras_s2s.tokenizers import SentencePieceTokenizer
from keras_s2s.tokenizers import SymbolTokenizer
from keras_s2s.tokenizers import compute_symbol_vocabulary
from keras_s2s.tokenizers import train_sentencepiece
from tests.test_case import TestCase
from tests.shared_data import require_shared_data

# <repo root>/../shared/data
DATA_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, "shared", "data")
)


@pytest.fixture(autouse=True)
def _shared_data_dir(monkeypatch):
    if not os.path.isdir(DATA_DIR):
        require_shared_data()
    monkeypatch.setenv("KERAS_S2S_DATA_DIR", DATA_DIR)


def ab_tokenizer():
    """`<pad>`=0 `<unk>`=1 `<s>`=2 `</s>`=3 a=4 b=5 c=6."""
    return SymbolTokenizer(compute_symbol_vocabulary(["abc"]))


@functools.lru_cache(maxsize=None)
def multi30k_pairs():
    german, english = load_multi30k("train", "de", "en")
    return german[:1500], english[:1500]


@functools.lru_cache(maxsize=None)
def joint_proto():
    german, english = multi30k_pairs()
    return train_sentencepiece(german + english, vocabulary_size=800)


@functools.lru_cache(maxsize=None)
def g2p_vocabularies():
    words, phonemes = load_cmudict("dev")
    return (
        tuple(compute_symbol_vocabulary(words)),
        tuple(compute_symbol_vocabulary(phonemes, split="whitespace")),
    )


def g2p_preprocessor(length=24):
    letters, phones = g2p_vocabularies()
    return Seq2SeqLMPreprocessor(
        encoder_tokenizer=SymbolTokenizer(list(letters)),
        decoder_tokenizer=SymbolTokenizer(list(phones), split="whitespace"),
        encoder_sequence_length=length,
        decoder_sequence_length=length,
    )


def numpy(structure):
    return keras.tree.map_structure(
        lambda t: t.numpy() if hasattr(t, "numpy") else keras.ops.convert_to_numpy(t),
        structure,
    )


class Seq2SeqLMPreprocessorTest(TestCase):
    def assertIds(self, actual, expected):
        """Compares one tensor with a nested list of expected values."""
        np.testing.assert_array_equal(
            np.asarray(keras.ops.convert_to_numpy(actual)), np.asarray(expected)
        )

    def test_hand_checked_packing(self):
        preprocessor = Seq2SeqLMPreprocessor(
            tokenizer=ab_tokenizer(), encoder_sequence_length=5, decoder_sequence_length=5
        )
        x, y, sample_weight = preprocessor(
            {"encoder_text": ["ab", "abcabc"], "decoder_text": ["ba", "cccccccc"]}
        )
        self.assertEqual(keras.backend.standardize_dtype(x["encoder_token_ids"].dtype), "int32")
        self.assertEqual(keras.backend.standardize_dtype(x["encoder_padding_mask"].dtype), "bool")
        self.assertEqual(keras.backend.standardize_dtype(sample_weight.dtype), "bool")
        self.assertIds(
            x["encoder_token_ids"],
            # Source + eos, no bos; truncation keeps the eos.
            [[4, 5, 3, 0, 0], [4, 5, 6, 4, 3]],
        )
        self.assertIds(
            x["encoder_padding_mask"],
            [[True, True, True, False, False], [True] * 5],
        )
        self.assertIds(
            x["decoder_token_ids"], [[2, 5, 4, 3, 0], [2, 6, 6, 6, 6]]
        )
        self.assertIds(
            x["decoder_padding_mask"], [[True, True, True, True, False], [True] * 5]
        )
        # Labels: the decoder ids shifted left; the truncated target keeps eos.
        self.assertIds(y, [[5, 4, 3, 0, 0], [6, 6, 6, 6, 3]])
        self.assertIds(
            sample_weight, [[True, True, True, False, False], [True] * 5]
        )

    def test_tuple_and_unbatched_inputs(self):
        preprocessor = Seq2SeqLMPreprocessor(
            tokenizer=ab_tokenizer(), encoder_sequence_length=4, decoder_sequence_length=4
        )
        x, y, sample_weight = preprocessor(("ab", "ba"))
        self.assertIds(x["encoder_token_ids"], [4, 5, 3, 0])
        self.assertIds(x["decoder_token_ids"], [2, 5, 4, 3])
        self.assertIds(y, [5, 4, 3, 0])
        batched = preprocessor((["ab"], ["ba"]))
        self.assertIds(batched[1], [[5, 4, 3, 0]])
        overridden = preprocessor(
            ("ab", "ba"), encoder_sequence_length=6, decoder_sequence_length=3
        )
        self.assertIds(overridden[0]["encoder_token_ids"], [4, 5, 3, 0, 0, 0])
        self.assertIds(overridden[1], [5, 4, 3])

    def test_packed_inputs_pass_through(self):
        preprocessor = g2p_preprocessor()
        packed = numpy(preprocessor((["CAT", "DOG"], ["K AE T", "D AO G"])))
        self.assertAllEqual(numpy(preprocessor(packed)), packed)
        ds = tf.data.Dataset.from_tensor_slices(packed).batch(2).map(preprocessor)
        self.assertAllEqual(numpy(next(iter(ds))), packed)

    def test_tf_data_map_matches_eager(self):
        preprocessor = g2p_preprocessor()
        words, phonemes = load_cmudict("dev")
        words, phonemes = words[:40], phonemes[:40]
        eager = numpy(preprocessor((words, phonemes)))
        pairs = tf.data.Dataset.from_tensor_slices((words, phonemes))
        for ds in (pairs.batch(8).map(preprocessor), pairs.map(preprocessor).batch(8)):
            batches = [numpy(b) for b in ds]
            mapped = keras.tree.map_structure(lambda *t: np.concatenate(t), *batches)
            self.assertAllEqual(mapped, eager)
        dicts = tf.data.Dataset.from_tensor_slices(
            {"encoder_text": words, "decoder_text": phonemes}
        ).batch(40)
        self.assertAllEqual(numpy(next(iter(dicts.map(preprocessor)))), eager)

    def test_separate_vocabularies(self):
        preprocessor = g2p_preprocessor(length=6)
        x, y, _ = preprocessor(("CAT", "K AE T"))
        letters, phones = preprocessor.encoder_tokenizer, preprocessor.decoder_tokenizer
        self.assertIsNot(letters, phones)
        self.assertIs(preprocessor.tokenizer, phones)
        expected_source = [letters.token_to_id(c) for c in "CAT"] + [3, 0, 0]
        expected_target = [phones.token_to_id(p) for p in ("K", "AE", "T")]
        self.assertIds(x["encoder_token_ids"], expected_source)
        self.assertIds(x["decoder_token_ids"], [2] + expected_target + [3, 0])
        self.assertIds(y, expected_target + [3, 0, 0])
        self.assertEqual(letters.config_file, "encoder_tokenizer.json")
        self.assertEqual(phones.config_file, "tokenizer.json")

    def test_generate_preprocess(self):
        preprocessor = Seq2SeqLMPreprocessor(
            tokenizer=ab_tokenizer(), encoder_sequence_length=5, decoder_sequence_length=4
        )
        x = preprocessor.generate_preprocess(["ab", "cab"])
        training_x = preprocessor((["ab", "cab"], ["", ""]))[0]
        self.assertAllEqual(x["encoder_token_ids"], training_x["encoder_token_ids"])
        self.assertAllEqual(x["encoder_padding_mask"], training_x["encoder_padding_mask"])
        self.assertIds(x["decoder_token_ids"], [[2, 0, 0, 0], [2, 0, 0, 0]])
        self.assertIds(
            x["decoder_padding_mask"], [[True, False, False, False]] * 2
        )
        longer = preprocessor.generate_preprocess("ab", sequence_length=6)
        self.assertIds(longer["decoder_token_ids"], [2, 0, 0, 0, 0, 0])
        prompted = preprocessor.generate_preprocess(
            {"encoder_text": ["ab"], "decoder_text": ["b"]}
        )
        self.assertIds(prompted["decoder_token_ids"], [[2, 5, 0, 0]])
        self.assertIds(prompted["decoder_padding_mask"], [[True, True, False, False]])

    def test_generate_postprocess(self):
        preprocessor = Seq2SeqLMPreprocessor(
            tokenizer=ab_tokenizer(), encoder_sequence_length=5, decoder_sequence_length=6
        )
        outputs = {
            # Cut at the first eos; pads and anything after eos dropped.
            "decoder_token_ids": np.array(
                [[2, 5, 4, 3, 4, 4], [2, 6, 6, 6, 6, 6], [2, 3, 5, 5, 0, 0], [2, 4, 0, 0, 0, 0]]
            ),
            "decoder_padding_mask": np.array(
                [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0]],
                dtype=bool,
            ),
        }
        expected = ["ba", "ccccc", "", "a"]
        self.assertEqual(preprocessor.generate_postprocess(outputs), expected)
        single = {k: v[0] for k, v in outputs.items()}
        self.assertEqual(preprocessor.generate_postprocess(single), "ba")
        ds = tf.data.Dataset.from_tensor_slices(outputs).batch(4)
        mapped = next(iter(ds.map(preprocessor.generate_postprocess)))
        self.assertEqual([t.decode() for t in mapped.numpy()], expected)

    def test_generate_round_trip_sentencepiece(self):
        tokenizer = SentencePieceTokenizer(joint_proto())
        preprocessor = Seq2SeqLMPreprocessor(
            tokenizer=tokenizer, encoder_sequence_length=48, decoder_sequence_length=48
        )
        german, english = multi30k_pairs()
        german, english = german[:16], english[:16]
        x, y, sample_weight = numpy(preprocessor((german, english)))
        # What a model that predicts the labels would return: bos + labels,
        # with arbitrary tokens after the eos.
        generated = np.concatenate([x["decoder_token_ids"][:, :1], y], axis=1)
        generated = np.where(generated == 0, 7, generated)
        outputs = preprocessor.generate_postprocess(
            {
                "decoder_token_ids": generated,
                "decoder_padding_mask": np.ones_like(generated, dtype=bool),
            }
        )
        self.assertEqual(outputs, english)
        prompt = preprocessor.generate_preprocess(german)
        self.assertAllEqual(prompt["encoder_token_ids"], x["encoder_token_ids"])
        self.assertEqual(prompt["decoder_token_ids"].shape, (16, 48))

    def test_config_round_trip(self):
        joint = Seq2SeqLMPreprocessor(
            tokenizer=ab_tokenizer(), encoder_sequence_length=7, decoder_sequence_length=9
        )
        config = joint.get_config()
        self.assertIsNotNone(config["tokenizer"])
        self.assertIsNone(config["encoder_tokenizer"])
        self.assertEqual(
            (config["encoder_sequence_length"], config["decoder_sequence_length"]), (7, 9)
        )
        revived = self.run_config_roundtrip_test(joint)
        self.assertTrue(revived.joint)
        separate = g2p_preprocessor()
        config = separate.get_config()
        self.assertIsNone(config["tokenizer"])
        revived = self.run_config_roundtrip_test(separate)
        self.assertFalse(revived.joint)
        self.assertEqual(revived.decoder_tokenizer.split, "whitespace")
        # Same object for encoder and decoder is a joint vocabulary.
        shared = ab_tokenizer()
        same = Seq2SeqLMPreprocessor(encoder_tokenizer=shared, decoder_tokenizer=shared)
        self.assertTrue(same.joint)

    def test_keras_saving_with_assets(self):
        for preprocessor in (
            g2p_preprocessor(),
            Seq2SeqLMPreprocessor(tokenizer=SentencePieceTokenizer(joint_proto())),
        ):
            path = os.path.join(self.tmp_dir, "preprocessor.keras")
            keras.saving.save_model(preprocessor, path)
            restored = keras.saving.load_model(path)
            self.assertIsInstance(restored, Seq2SeqLMPreprocessor)
            if preprocessor.joint:
                pair = (multi30k_pairs()[0][:3], multi30k_pairs()[1][:3])
            else:
                pair = (["CAT", "DOG"], ["K AE T", "D AO G"])
            self.assertAllEqual(numpy(restored(pair)), numpy(preprocessor(pair)))

    def test_preset_saving_with_two_tokenizers(self):
        preprocessor = g2p_preprocessor()
        preprocessor.save_to_preset(self.tmp_dir)
        for name in (
            "preprocessor.json",
            "tokenizer.json",
            "encoder_tokenizer.json",
            "assets/tokenizer/vocabulary.txt",
            "assets/encoder_tokenizer/vocabulary.txt",
        ):
            self.assertTrue(os.path.isfile(os.path.join(self.tmp_dir, name)), name)
        with open(os.path.join(self.tmp_dir, "preprocessor.json")) as file:
            restored = keras.saving.deserialize_keras_object(json.load(file))
        restored.load_preset_assets(self.tmp_dir)
        pair = (["CAT"], ["K AE T"])
        self.assertAllEqual(numpy(restored(pair)), numpy(preprocessor(pair)))
        self.assertEqual(
            restored.encoder_tokenizer.get_vocabulary(),
            preprocessor.encoder_tokenizer.get_vocabulary(),
        )

    def test_bad_arguments(self):
        tokenizer = ab_tokenizer()
        with pytest.raises(ValueError, match="not both"):
            Seq2SeqLMPreprocessor(tokenizer=tokenizer, encoder_tokenizer=tokenizer)
        with pytest.raises(ValueError, match="both `encoder_tokenizer` and"):
            Seq2SeqLMPreprocessor(encoder_tokenizer=tokenizer)
        with pytest.raises(ValueError, match="encoder_sequence_length"):
            Seq2SeqLMPreprocessor(tokenizer=tokenizer, encoder_sequence_length=0)
        with pytest.raises(ValueError, match="decoder_tokenizer to be a tokenizer"):
            Seq2SeqLMPreprocessor(encoder_tokenizer=tokenizer, decoder_tokenizer="abc")
        preprocessor = Seq2SeqLMPreprocessor(tokenizer=tokenizer)
        with pytest.raises(ValueError, match="Missing: \\['decoder_text'\\]"):
            preprocessor({"encoder_text": ["ab"]})
        with pytest.raises(ValueError, match="`y` must be None"):
            preprocessor({"encoder_text": ["ab"], "decoder_text": ["b"]}, ["b"])

    def test_docstring_example(self):
        result = doctest.testmod(
            preprocessor_module,
            extraglobs={"np": np, "keras": keras, "keras_s2s": keras_s2s},
            optionflags=doctest.NORMALIZE_WHITESPACE,
        )
        self.assertGreater(result.attempted, 0)
        self.assertEqual(result.failed, 0)
