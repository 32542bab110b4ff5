"""Tokenizers sharing one special-token layout: `<pad>`=0, `<unk>`=1, `<s>`=2, `</s>`=3."""

from keras_s2s.tokenizers.sentence_piece_tokenizer import SentencePieceTokenizer
from keras_s2s.tokenizers.sentence_piece_trainer import train_sentencepiece
from keras_s2s.tokenizers.special_tokens import END_TOKEN
from keras_s2s.tokenizers.special_tokens import PAD_TOKEN
from keras_s2s.tokenizers.special_tokens import RESERVED_TOKENS
from keras_s2s.tokenizers.special_tokens import START_TOKEN
from keras_s2s.tokenizers.special_tokens import UNK_TOKEN
from keras_s2s.tokenizers.symbol_tokenizer import SymbolTokenizer
from keras_s2s.tokenizers.symbol_vocabulary import compute_symbol_vocabulary
from keras_s2s.tokenizers.word_piece_tokenizer import WordPieceTokenizer
from keras_s2s.tokenizers.word_piece_trainer import train_word_piece
