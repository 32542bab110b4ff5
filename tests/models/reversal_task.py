"""The digit-reversal task used by the learning and cross-backend tests."""

import numpy as np

PAD, BOS, EOS = 0, 1, 2
FIRST_DIGIT = 3
VOCABULARY_SIZE = FIRST_DIGIT + 10
MAX_DIGITS = 12


def make_reversal_data(num_examples, seed, min_len=3, max_len=MAX_DIGITS):
    """Random digit strings and their reversals, as model inputs.

    Returns:
        `(x, y, sample_weight)` for `fit`: encoder ids are the digits and EOS,
        decoder ids BOS + reversed digits, targets the reversed digits + EOS.
    """
    rng = np.random.default_rng(seed)
    length = max_len + 1
    encoder_ids = np.zeros((num_examples, length), "int32")
    decoder_ids = np.zeros((num_examples, length), "int32")
    targets = np.zeros((num_examples, length), "int32")
    for i in range(num_examples):
        n = rng.integers(min_len, max_len + 1)
        digits = rng.integers(FIRST_DIGIT, VOCABULARY_SIZE, size=n)
        encoder_ids[i, :n] = digits
        encoder_ids[i, n] = EOS
        decoder_ids[i, 0] = BOS
        decoder_ids[i, 1 : n + 1] = digits[::-1]
        targets[i, :n] = digits[::-1]
        targets[i, n] = EOS
    x = {
        "encoder_token_ids": encoder_ids,
        "encoder_padding_mask": encoder_ids != PAD,
        "decoder_token_ids": decoder_ids,
        "decoder_padding_mask": targets != PAD,
    }
    return x, targets, (targets != PAD).astype("float32")


def generate_inputs(x):
    """The encoder half of `x` plus a BOS-only decoder prompt."""
    batch_size, length = x["encoder_token_ids"].shape
    prompt = np.zeros((batch_size, length + 1), "int32")
    prompt[:, 0] = BOS
    return {
        "encoder_token_ids": x["encoder_token_ids"],
        "encoder_padding_mask": x["encoder_padding_mask"],
        "decoder_token_ids": prompt,
        "decoder_padding_mask": prompt != PAD,
    }


def exact_match_rate(generated, targets):
    """Share of rows whose generated tokens equal the target up to EOS."""
    ids = np.asarray(generated["decoder_token_ids"])[:, 1:]
    correct = 0
    for row, target in zip(ids, targets):
        n = int(np.argmax(target == EOS)) + 1
        correct += bool(np.array_equal(row[:n], target[:n]))
    return correct / len(targets)
