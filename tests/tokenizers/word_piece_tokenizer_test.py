import functools
import os
import re

import keras
import pytest
import tensorflow as tf

from keras_s2s.datasets import load_multi30k
from keras_s2s.tokenizers import WordPieceTokenizer
from keras_s2s.tokenizers import train_word_piece
from tests.test_case import TestCase


@functools.lru_cache(maxsize=None)
def sentences():
    """200 German training sentences and their English translations."""
    german, english = load_multi30k("train", "de", "en")
    return german[:200], english[:200]


@functools.lru_cache(maxsize=None)
def vocabulary():
    german, english = sentences()
    return tuple(train_word_piece(german + english, vocabulary_size=1500))


def split_words(text):
    """Whitespace and punctuation split, as WordPiece pre-tokenizes."""
    return " ".join(re.findall(r"\w+|[^\w\s]", text))


class WordPieceTokenizerTest(TestCase):
    def test_vocabulary_starts_with_special_tokens(self):
        vocab = vocabulary()
        self.assertEqual(list(vocab[:4]), ["<pad>", "<unk>", "<s>", "</s>"])
        self.assertLessEqual(len(vocab), 1500)
        self.assertEqual(len(set(vocab)), len(vocab))
        tokenizer = WordPieceTokenizer(list(vocab))
        self.assertEqual(
            (
                tokenizer.pad_token_id,
                tokenizer.unk_token_id,
                tokenizer.start_token_id,
                tokenizer.end_token_id,
            ),
            (0, 1, 2, 3),
        )
        self.assertEqual(tokenizer.vocabulary_size(), len(vocab))

    def test_round_trip_joint_vocabulary(self):
        tokenizer = WordPieceTokenizer(list(vocabulary()))
        german, english = sentences()
        for texts in (german[:50], english[:50]):
            ids = tokenizer(texts)
            self.assertTrue(all(tokenizer.unk_token_id not in row for row in ids))
            self.assertEqual(tokenizer.detokenize(ids), [split_words(t) for t in texts])
        self.assertTrue(any("ü" in t or "ä" in t or "ß" in t for t in german[:50]))

    def test_unknown_word_is_unk(self):
        tokenizer = WordPieceTokenizer(list(vocabulary()))
        ids = tokenizer("ein Hund 漢").tolist()
        self.assertEqual(ids[-1], tokenizer.unk_token_id)
        self.assertEqual(tokenizer.detokenize(ids), "ein Hund <unk>")

    def test_tf_data_matches_eager(self):
        tokenizer = WordPieceTokenizer(list(vocabulary()), lowercase=False)
        texts = sentences()[0][:6]
        ds = tf.data.Dataset.from_tensor_slices(texts).batch(3).map(tokenizer)
        mapped = [row for batch in ds for row in batch.to_list()]
        self.assertEqual(mapped, tokenizer(texts))

    def test_config_and_assets_round_trip(self):
        tokenizer = WordPieceTokenizer(list(vocabulary()), lowercase=True, split_on_cjk=False)
        config = tokenizer.get_config()
        for key in ("oov_token", "special_tokens", "special_tokens_in_strings"):
            self.assertNotIn(key, config)
        self.assertEqual(config["split_on_cjk"], False)
        revived = self.run_config_roundtrip_test(tokenizer)
        tokenizer.save_assets(self.tmp_dir)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp_dir, "vocabulary.txt")))
        revived.load_assets(self.tmp_dir)
        texts = sentences()[1][:5]
        self.assertEqual(revived(texts), tokenizer(texts))
        self.assertEqual(revived.end_token_id, 3)
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(tokenizer)
        )
        self.assertIsInstance(restored, WordPieceTokenizer)

    def test_vocabulary_without_special_tokens_is_rejected(self):
        with pytest.raises(ValueError, match="<unk>"):
            WordPieceTokenizer(["a", "b"])

    def test_trainer_rejects_bad_arguments(self):
        with pytest.raises(ValueError, match="vocabulary_size"):
            train_word_piece(["a b"], vocabulary_size=3)
        with pytest.raises(ValueError, match="single string"):
            train_word_piece("a b", vocabulary_size=30)
