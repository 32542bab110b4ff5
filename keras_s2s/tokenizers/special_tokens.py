"""The special tokens every keras-s2s tokenizer shares.

Every vocabulary built by this package starts with the same four reserved
tokens, so the special ids are the same for all tokenizers:

| token  | id | role                                          |
| ------ | -- | --------------------------------------------- |
| `<pad>`| 0  | right padding (`padding_mask` is False there) |
| `<unk>`| 1  | out-of-vocabulary symbol                      |
| `<s>`  | 2  | start of the decoder sequence (bos)           |
| `</s>` | 3  | end of sequence (eos)                         |
"""

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
START_TOKEN = "<s>"
END_TOKEN = "</s>"

# In id order: the first four entries of every vocabulary built here.
RESERVED_TOKENS = (PAD_TOKEN, UNK_TOKEN, START_TOKEN, END_TOKEN)


def register_special_tokens(tokenizer):
    """Declares `pad_token`, `unk_token`, `start_token` and `end_token`.

    Must be called before the vocabulary is set: the base tokenizer then
    resolves the `*_token_id` attributes (and fails with a clear message when a
    token is missing from the vocabulary).
    """
    tokenizer._add_special_token(PAD_TOKEN, "pad_token")
    tokenizer._add_special_token(UNK_TOKEN, "unk_token")
    tokenizer._add_special_token(START_TOKEN, "start_token")
    tokenizer._add_special_token(END_TOKEN, "end_token")
