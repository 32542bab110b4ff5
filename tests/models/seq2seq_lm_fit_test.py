"""`Seq2SeqLM.fit`: in-memory inputs reshuffled every epoch, no avoidable warnings."""

import warnings

import numpy as np

from keras_s2s.datasets import make_dataset
from keras_s2s.models import seq2seq_lm
from tests.presets.preset_fixtures import make_model

SOURCES = ["a dog runs .", "two men play .", "a man runs .", "two dogs play ."] * 2
TARGETS = ["ein hund rennt .", "zwei männer spielen .", "ein mann rennt .", "zwei hunde spielen ."] * 2


def _fit_warnings(model, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(epochs=1, verbose=0, **kwargs)
    assert np.isfinite(history.history["loss"][0])
    return [str(w.message) for w in caught if "shuffle" in str(w.message)]


def test_fit_on_strings_and_on_make_dataset_warns_nothing_about_shuffle():
    model = make_model()
    assert _fit_warnings(model, x=SOURCES, y=TARGETS, batch_size=4) == []
    dataset = make_dataset(SOURCES, TARGETS, batch_size=4, shuffle=True, seed=1)
    assert _fit_warnings(model, x=dataset) == []


def test_in_memory_inputs_are_reshuffled_every_epoch():
    sources = [f"s{i}" for i in range(32)]
    dataset = seq2seq_lm._shuffled_batches(sources, [f"t{i}" for i in range(32)], None, 8)
    epochs = [
        [x.decode() for batch_x, _ in dataset for x in batch_x.numpy()] for _ in range(2)
    ]
    for order in epochs:
        assert sorted(order) == sorted(sources)
    assert epochs[0] != epochs[1]
    assert epochs[0] != sources


def test_validation_split_keeps_the_last_fraction():
    (x, y, w), validation = seq2seq_lm._split_last((SOURCES, TARGETS, None), 0.25)
    assert x == SOURCES[:6] and y == TARGETS[:6] and w is None
    assert validation == (SOURCES[6:], TARGETS[6:])
