"""A tiny untrained preset written with `write_preset`, for the preset tests."""

import os

from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqLM
from keras_s2s.models import Seq2SeqLMPreprocessor
from keras_s2s.tokenizers import SentencePieceTokenizer
from keras_s2s.tokenizers import train_sentencepiece
from keras_s2s.training import write_preset

TEXTS = ["a dog runs .", "two men play .", "ein hund rennt .", "zwei männer spielen ."]
SENTENCES = ["a dog runs .", "two men"]
METADATA = {
    "task": "translation",
    "source_language": "en",
    "target_language": "de",
    "headline_score": {"metric": "multi30k_bleu", "split": "test_2016_flickr", "value": 12.34},
}


def make_model():
    tokenizer = SentencePieceTokenizer(train_sentencepiece(TEXTS * 20, vocabulary_size=30))
    preprocessor = Seq2SeqLMPreprocessor(
        tokenizer=tokenizer, encoder_sequence_length=8, decoder_sequence_length=8
    )
    backbone = Seq2SeqBackbone(
        encoder_vocabulary_size=tokenizer.vocabulary_size(), embedding_dim=8, hidden_dim=8
    )
    model = Seq2SeqLM(backbone, preprocessor=preprocessor)
    model.compile(sampler="greedy")
    return model


def make_preset(presets_dir, name="tiny_test_en_de", model=None):
    """Writes a preset; returns `(model, preset_dir)`."""
    model = model or make_model()
    preset_dir = write_preset(
        model,
        os.path.join(presets_dir, name),
        metadata=METADATA,
        model_card=f"# {name}\n",
    )
    return model, preset_dir
