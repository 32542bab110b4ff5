import functools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_s2s.datasets import load_cmudict
from keras_s2s.tokenizers import SymbolTokenizer
from keras_s2s.tokenizers import compute_symbol_vocabulary
from tests.test_case import TestCase


@functools.lru_cache(maxsize=None)
def cmudict(split):
    return load_cmudict(split)


@functools.lru_cache(maxsize=None)
def tokenizers():
    words, phonemes = cmudict("train")
    letters = SymbolTokenizer(compute_symbol_vocabulary(words), split="characters")
    phones = SymbolTokenizer(
        compute_symbol_vocabulary(phonemes, split="whitespace"), split="whitespace"
    )
    return letters, phones


class SymbolTokenizerTest(TestCase):
    def test_cmudict_alphabets(self):
        letters, phones = tokenizers()
        # 26 letters and the apostrophe; 39 phonemes without stress marks.
        self.assertEqual(letters.vocabulary_size(), 4 + 27)
        self.assertEqual(phones.vocabulary_size(), 4 + 39)
        self.assertEqual(letters.get_vocabulary()[:6], ["<pad>", "<unk>", "<s>", "</s>", "'", "A"])
        for tokenizer in (letters, phones):
            self.assertEqual(
                (
                    tokenizer.pad_token_id,
                    tokenizer.unk_token_id,
                    tokenizer.start_token_id,
                    tokenizer.end_token_id,
                ),
                (0, 1, 2, 3),
            )

    def test_hand_checked_ids(self):
        vocab = compute_symbol_vocabulary(["CAT", "DOG'S"])
        self.assertEqual(
            vocab, ["<pad>", "<unk>", "<s>", "</s>", "'", "A", "C", "D", "G", "O", "S", "T"]
        )
        tokenizer = SymbolTokenizer(vocab)
        self.assertEqual(
            tokenizer(["CAT", "DOG'S", "CAX"]), [[6, 5, 11], [7, 9, 8, 4, 10], [6, 5, 1]]
        )
        self.assertEqual(tokenizer("CAT").tolist(), [6, 5, 11])
        # pad, bos and eos are skipped; unk is shown.
        self.assertEqual(tokenizer.detokenize([[2, 6, 5, 1, 3, 0, 0]]), ["CA<unk>"])
        phones = SymbolTokenizer(
            compute_symbol_vocabulary(["K AE T"], split="whitespace"), split="whitespace"
        )
        self.assertEqual(phones.get_vocabulary()[4:], ["AE", "K", "T"])
        self.assertEqual(phones(["K AE T", "T  AE\tK"]), [[5, 4, 6], [6, 4, 5]])
        self.assertEqual(phones.detokenize([5, 4, 6]), "K AE T")

    def test_round_trip_on_cmudict(self):
        letters, phones = tokenizers()
        words, phonemes = cmudict("dev")
        word_ids, phoneme_ids = letters(words), phones(phonemes)
        self.assertEqual(letters.detokenize(word_ids), words)
        self.assertEqual(phones.detokenize(phoneme_ids), phonemes)
        self.assertEqual([len(ids) for ids in word_ids], [len(w) for w in words])
        self.assertTrue(all(1 not in ids for ids in word_ids + phoneme_ids))

    def test_tf_data_matches_eager(self):
        letters, phones = tokenizers()
        words, phonemes = cmudict("dev")
        words, phonemes = words[:64], phonemes[:64]
        ds = tf.data.Dataset.from_tensor_slices((words, phonemes)).batch(16)
        ds = ds.map(lambda w, p: (letters(w), phones(p)))
        ds = ds.map(lambda w, p: (w, p, letters.detokenize(w), phones.detokenize(p)))
        batches = list(ds)
        self.assertEqual([r for b in batches for r in b[0].to_list()], letters(words))
        self.assertEqual([r for b in batches for r in b[1].to_list()], phones(phonemes))
        self.assertEqual([t.decode() for b in batches for t in b[2].numpy()], words)
        self.assertEqual([t.decode() for b in batches for t in b[3].numpy()], phonemes)

    def test_sequence_length(self):
        vocab = compute_symbol_vocabulary(["CAT"])
        tokenizer = SymbolTokenizer(vocab, sequence_length=4)
        ids = tokenizer(["CAT", "CATCAT"])
        self.assertEqual(np.asarray(ids).dtype, np.int32)
        self.assertEqual(np.asarray(ids).tolist(), [[5, 4, 6, 0], [5, 4, 6, 5]])
        ds = tf.data.Dataset.from_tensor_slices(["CAT", "CATCAT"]).batch(2).map(tokenizer)
        self.assertEqual(next(iter(ds)).numpy().tolist(), [[5, 4, 6, 0], [5, 4, 6, 5]])

    def test_normalize_case_in_python_and_tf_data(self):
        vocab = compute_symbol_vocabulary(["CAT'S"])
        upper = SymbolTokenizer(vocab, normalize_case="upper")
        plain = SymbolTokenizer(vocab)
        expected = plain(["CAT'S", "CAT"])
        self.assertEqual(upper(["cat's", "Cat"]), expected)
        # Without normalization lowercase letters are unknown (id 1).
        self.assertEqual(plain(["cat"]), [[1, 1, 1]])
        ds = tf.data.Dataset.from_tensor_slices(["cat's", "Cat"]).batch(2).map(upper)
        self.assertEqual(next(iter(ds)).to_list(), expected)
        lower = SymbolTokenizer(compute_symbol_vocabulary(["cat"]), normalize_case="lower")
        self.assertEqual(lower(["CAT"]), lower(["cat"]))
        revived = self.run_config_roundtrip_test(upper)
        self.assertEqual(revived.normalize_case, "upper")
        with pytest.raises(ValueError, match="normalize_case"):
            SymbolTokenizer(vocab, normalize_case="title")

    def test_config_and_assets_round_trip(self):
        letters, _ = tokenizers()
        revived = self.run_config_roundtrip_test(letters)
        self.assertIsNone(revived.vocabulary)
        letters.save_assets(self.tmp_dir)
        revived.load_assets(self.tmp_dir)
        self.assertEqual(revived.get_vocabulary(), letters.get_vocabulary())
        self.assertEqual(revived(["ZYGOTE'S"]), letters(["ZYGOTE'S"]))
        letters.save_to_preset(os.path.join(self.tmp_dir, "preset"))
        self.assertTrue(
            os.path.isfile(
                os.path.join(self.tmp_dir, "preset", "assets", "tokenizer", "vocabulary.txt")
            )
        )
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(letters)
        )
        self.assertIsInstance(restored, SymbolTokenizer)
        self.assertEqual(restored.split, "characters")

    def test_bad_arguments(self):
        vocab = compute_symbol_vocabulary(["CAT"])
        with pytest.raises(ValueError, match="split"):
            SymbolTokenizer(vocab, split="bytes")
        with pytest.raises(ValueError, match="Cannot find special token"):
            SymbolTokenizer(["A", "B"])
        with pytest.raises(ValueError, match="unique"):
            SymbolTokenizer(vocab + ["A"])
        with pytest.raises(ValueError, match="whitespace"):
            SymbolTokenizer(vocab + ["A B"], split="whitespace")
        with pytest.raises(ValueError, match="sequence_length"):
            SymbolTokenizer(vocab, sequence_length=0)
        with pytest.raises(ValueError, match="dtype"):
            SymbolTokenizer(vocab, dtype="float32")
        with pytest.raises(ValueError, match="No vocabulary"):
            SymbolTokenizer()("CAT")
        with pytest.raises(ValueError, match="split"):
            compute_symbol_vocabulary(["CAT"], split="words")
        with pytest.raises(ValueError, match="min_frequency"):
            compute_symbol_vocabulary(["CAT"], min_frequency=0)

    def test_min_frequency(self):
        vocab = compute_symbol_vocabulary(["AAB", "AC"], min_frequency=2)
        self.assertEqual(vocab, ["<pad>", "<unk>", "<s>", "</s>", "A"])
