import functools
import json
import os
import unicodedata

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_s2s.datasets import load_multi30k
from keras_s2s.tokenizers import SentencePieceTokenizer
from keras_s2s.tokenizers import train_sentencepiece
from tests.test_case import TestCase


@functools.lru_cache(maxsize=None)
def multi30k_lines(language):
    """2,000 training and 100 validation sentences of one language."""
    other = "en" if language != "en" else "de"
    train = load_multi30k("train", language, other)[0][:2000]
    val = load_multi30k("val", language, other)[0][:100]
    return train, val


@functools.lru_cache(maxsize=None)
def proto(language):
    return train_sentencepiece(multi30k_lines(language)[0], vocabulary_size=600)


def nmt_nfkc(text):
    """What SentencePiece's default normalizer does to these sentences."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


class SentencePieceTokenizerTest(TestCase):
    def test_special_ids_are_fixed(self):
        tokenizer = SentencePieceTokenizer(proto("en"))
        self.assertEqual(
            (
                tokenizer.pad_token_id,
                tokenizer.unk_token_id,
                tokenizer.start_token_id,
                tokenizer.end_token_id,
            ),
            (0, 1, 2, 3),
        )
        self.assertEqual(tokenizer.get_vocabulary()[:4], ["<pad>", "<unk>", "<s>", "</s>"])
        self.assertEqual(tokenizer.vocabulary_size(), 600)
        self.assertEqual(sorted(tokenizer.special_token_ids), [0, 1, 2, 3])

    def test_round_trip_on_real_sentences(self):
        for language in ("de", "en", "fr", "cs"):
            train, val = multi30k_lines(language)
            tokenizer = SentencePieceTokenizer(proto(language))
            sentences = train[:100] + val
            ids = tokenizer(sentences)
            self.assertEqual(
                tokenizer.detokenize(ids), [nmt_nfkc(s) for s in sentences], language
            )
            # The tokenizer adds neither bos nor eos.
            self.assertTrue(all(2 not in row and 3 not in row for row in ids))
        # The sentences exercise diacritics.
        cs_text = "".join(multi30k_lines("cs")[1])
        de_text = "".join(multi30k_lines("de")[1])
        fr_text = "".join(multi30k_lines("fr")[1])
        self.assertTrue({"ř", "ě", "ý"} <= set(cs_text))
        self.assertTrue({"ä", "ö", "ü", "ß"} <= set(de_text))
        self.assertTrue({"é", "è", "ç"} <= set(fr_text))

    def test_unknown_character_is_unk(self):
        tokenizer = SentencePieceTokenizer(proto("en"))
        ids = tokenizer("a dog 漢")
        self.assertIn(tokenizer.unk_token_id, np.asarray(ids).tolist())

    def test_sequence_length_pads_with_pad_id(self):
        tokenizer = SentencePieceTokenizer(proto("en"), sequence_length=40)
        ragged = SentencePieceTokenizer(proto("en"))
        sentences = multi30k_lines("en")[1][:4]
        dense = keras.ops.convert_to_numpy(tokenizer(sentences))
        self.assertEqual(dense.shape, (4, 40))
        for row, expected in zip(dense, ragged(sentences)):
            self.assertEqual(row[: len(expected)].tolist(), expected)
            self.assertTrue(np.all(row[len(expected) :] == 0))

    def test_tf_data_matches_eager(self):
        tokenizer = SentencePieceTokenizer(proto("de"))
        sentences = multi30k_lines("de")[1][:8]
        eager = tokenizer(sentences)
        ds = tf.data.Dataset.from_tensor_slices(sentences).batch(4).map(tokenizer)
        mapped = [row for batch in ds for row in batch.to_list()]
        self.assertEqual(mapped, eager)
        strings = tf.data.Dataset.from_tensor_slices(sentences).batch(4)
        detok = strings.map(tokenizer).map(tokenizer.detokenize)
        texts = [t.decode("utf-8") for batch in detok for t in batch.numpy()]
        self.assertEqual(texts, [nmt_nfkc(s) for s in sentences])

    def test_assets_and_config_round_trip(self):
        tokenizer = SentencePieceTokenizer(proto("fr"), name="fr_tokenizer")
        config = keras.saving.serialize_keras_object(tokenizer)
        self.assertIsNone(config["config"]["proto"])
        revived = keras.saving.deserialize_keras_object(config)
        self.assertIsInstance(revived, SentencePieceTokenizer)
        self.assertEqual(revived.get_config(), tokenizer.get_config())
        tokenizer.save_assets(self.tmp_dir)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp_dir, "vocabulary.spm")))
        revived.load_assets(self.tmp_dir)
        self.assertEqual(revived.end_token_id, 3)
        sentences = multi30k_lines("fr")[1][:5]
        self.assertEqual(revived(sentences), tokenizer(sentences))

    def test_preset_round_trip(self):
        tokenizer = SentencePieceTokenizer(proto("cs"))
        tokenizer.save_to_preset(self.tmp_dir)
        self.assertTrue(
            os.path.isfile(os.path.join(self.tmp_dir, "assets", "tokenizer", "vocabulary.spm"))
        )
        with open(os.path.join(self.tmp_dir, "tokenizer.json")) as file:
            revived = keras.saving.deserialize_keras_object(json.load(file))
        revived.load_preset_assets(self.tmp_dir)
        sentence = multi30k_lines("cs")[1][0]
        self.assertEqual(revived(sentence).tolist(), tokenizer(sentence).tolist())

    def test_trainer_rejects_bad_arguments(self):
        lines = multi30k_lines("en")[0][:100]
        with pytest.raises(ValueError, match="vocabulary_size"):
            train_sentencepiece(lines, vocabulary_size=4)
        with pytest.raises(ValueError, match="model_type"):
            train_sentencepiece(lines, vocabulary_size=50, model_type="wordpiece")
        with pytest.raises(ValueError, match="single string"):
            train_sentencepiece("a dog", vocabulary_size=50)
        with pytest.raises(ValueError, match="non-empty"):
            train_sentencepiece(["", ""], vocabulary_size=50)

    def test_bpe_model_has_the_same_special_ids(self):
        bpe = SentencePieceTokenizer(
            train_sentencepiece(multi30k_lines("en")[0], 300, model_type="bpe")
        )
        self.assertEqual(bpe.get_vocabulary()[:4], ["<pad>", "<unk>", "<s>", "</s>"])
        sentence = multi30k_lines("en")[1][3]
        self.assertEqual(bpe.detokenize(bpe(sentence)), nmt_nfkc(sentence))
