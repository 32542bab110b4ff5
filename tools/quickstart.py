"""Trains a small attentional seq2seq model to reverse digit strings.

Runs in about a minute on a laptop CPU under any backend:

    KERAS_BACKEND=jax python tools/quickstart.py

It builds a `Seq2SeqLM` (bidirectional GRU encoder, Bahdanau-attention GRU
decoder), trains it with `model.fit` on token ids, decodes held-out inputs with
greedy `generate()` and prints the exact-match accuracy.
"""

import argparse
import time

import keras
import numpy as np

import keras_s2s

PAD, BOS, EOS, FIRST_DIGIT = 0, 1, 2, 3


def make_data(num_examples, rng, max_digits=12):
    length = max_digits + 1
    source = np.zeros((num_examples, length), "int32")
    decoder = np.zeros((num_examples, length), "int32")
    target = np.zeros((num_examples, length), "int32")
    for i in range(num_examples):
        n = rng.integers(3, max_digits + 1)
        digits = rng.integers(FIRST_DIGIT, FIRST_DIGIT + 10, size=n)
        source[i, :n], source[i, n] = digits, EOS
        decoder[i, 0], decoder[i, 1 : n + 1] = BOS, digits[::-1]
        target[i, :n], target[i, n] = digits[::-1], EOS
    x = {
        "encoder_token_ids": source,
        "encoder_padding_mask": source != PAD,
        "decoder_token_ids": decoder,
        "decoder_padding_mask": target != PAD,
    }
    return x, target, (target != PAD).astype("float32")


def to_text(ids):
    out = []
    for token in ids:
        if token == EOS:
            break
        out.append(str(token - FIRST_DIGIT) if token >= FIRST_DIGIT else "?")
    return "".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--examples", type=int, default=6000)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y, weights = make_data(args.examples, rng)
    x_test, y_test, _ = make_data(200, rng)

    backbone = keras_s2s.models.Seq2SeqBackbone(
        encoder_vocabulary_size=FIRST_DIGIT + 10,
        embedding_dim=32,
        hidden_dim=64,
        cell_type="gru",
        attention_type="bahdanau",
    )
    model = keras_s2s.models.Seq2SeqLM(backbone)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), sampler="greedy")
    model.summary()
    start = time.time()
    model.fit(x, y, sample_weight=weights, batch_size=64, epochs=args.epochs)
    print(f"trained in {time.time() - start:.0f} s on {keras.backend.backend()}")

    prompt = np.zeros((len(y_test), y_test.shape[1] + 1), "int32")
    prompt[:, 0] = BOS
    outputs = model.generate(
        {
            "encoder_token_ids": x_test["encoder_token_ids"],
            "encoder_padding_mask": x_test["encoder_padding_mask"],
            "decoder_token_ids": prompt,
            "decoder_padding_mask": prompt != PAD,
        },
        stop_token_ids=[EOS],
    )
    predictions = [to_text(row[1:]) for row in outputs["decoder_token_ids"]]
    references = [to_text(row) for row in y_test]
    sources = [to_text(row) for row in x_test["encoder_token_ids"]]
    for source, prediction in list(zip(sources, predictions))[:5]:
        print(f"{source:>12} -> {prediction}")
    accuracy = np.mean([p == r for p, r in zip(predictions, references)])
    print(f"exact-match accuracy on 200 held-out strings: {accuracy:.1%}")


if __name__ == "__main__":
    main()
