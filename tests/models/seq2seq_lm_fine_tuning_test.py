"""Fine-tuning a preset: load it, `fit` on new pairs, generate.

The README's fine-tuning example, with a tiny preset written to a temporary
directory: the validation loss on held-out pairs must fall.
"""

import keras

from keras_s2s.models import Seq2SeqLM
from tests.presets.preset_fixtures import make_preset
from tests.test_case import TestCase

TRAIN_PAIRS = [
    ("a dog runs .", "ein hund rennt ."),
    ("two men play .", "zwei männer spielen ."),
    ("a dog play .", "ein hund spielen ."),
    ("two men runs .", "zwei männer rennt ."),
    ("a men runs .", "ein männer rennt ."),
]
VALIDATION_PAIRS = [
    ("two dog runs .", "zwei hund rennt ."),
    ("a dog .", "ein hund ."),
]


class Seq2SeqLMFineTuningTest(TestCase):
    def test_fit_on_new_pairs_lowers_validation_loss(self):
        _, preset_dir = make_preset(self.tmp_dir)
        model = Seq2SeqLM.from_preset(preset_dir)
        model.compile(optimizer=keras.optimizers.Adam(0.02), sampler="greedy")
        sources, targets = (list(t) for t in zip(*TRAIN_PAIRS))
        val_sources, val_targets = (list(t) for t in zip(*VALIDATION_PAIRS))

        history = model.fit(
            x=sources * 8,
            y=targets * 8,
            batch_size=8,
            epochs=12,
            validation_data=(val_sources, val_targets),
            verbose=0,
        )

        val_loss = history.history["val_loss"]
        self.assertLess(val_loss[-1], 0.5 * val_loss[0])
        outputs = model.generate(val_sources, max_length=8)
        self.assertLen(outputs, len(val_sources))
        self.assertTrue(all(isinstance(text, str) for text in outputs))
