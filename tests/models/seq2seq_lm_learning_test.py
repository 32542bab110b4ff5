"""End-to-end learning: the model must learn to reverse digit strings.

Also checks that weights trained under one backend give identical greedy
outputs when loaded under the other two (each in its own subprocess).
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqLM
from tests.models.reversal_task import EOS
from tests.models.reversal_task import VOCABULARY_SIZE
from tests.models.reversal_task import exact_match_rate
from tests.models.reversal_task import generate_inputs
from tests.models.reversal_task import make_reversal_data
from tests.test_case import TestCase

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BACKENDS = ("tensorflow", "jax", "torch")


def train_reversal_model(attention_type, cell_type, input_feeding, max_epochs=24):
    """Trains until held-out greedy exact match reaches 98 % (or max_epochs)."""
    keras.utils.set_random_seed(0)
    x, y, sample_weight = make_reversal_data(6000, seed=0)
    x_val, y_val, _ = make_reversal_data(300, seed=1)
    backbone = Seq2SeqBackbone(
        encoder_vocabulary_size=VOCABULARY_SIZE,
        embedding_dim=32,
        hidden_dim=64,
        cell_type=cell_type,
        attention_type=attention_type,
        input_feeding=input_feeding,
    )
    model = Seq2SeqLM(backbone)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3, global_clipnorm=5.0), sampler="greedy"
    )
    val_inputs = generate_inputs(x_val)
    accuracy = 0.0
    for epoch in range(max_epochs):
        model.fit(x, y, sample_weight=sample_weight, batch_size=64, epochs=1, verbose=0)
        if epoch >= 6:
            accuracy = exact_match_rate(
                model.generate(val_inputs, stop_token_ids=[EOS]), y_val
            )
            if accuracy >= 0.99:
                break
    return model


@pytest.mark.slow
class ReversalLearningTest(TestCase):
    def check_learns(self, attention_type, cell_type, input_feeding):
        model = train_reversal_model(attention_type, cell_type, input_feeding)
        x_test, y_test, _ = make_reversal_data(500, seed=2)
        outputs = model.generate(generate_inputs(x_test), stop_token_ids=[EOS])
        accuracy = exact_match_rate(outputs, y_test)
        self.assertGreaterEqual(accuracy, 0.98)
        return model, x_test, outputs

    def test_luong_lstm_fast_decoder_learns_reversal(self):
        self.check_learns("luong", "lstm", input_feeding=False)

    def test_bahdanau_gru_learns_reversal_and_moves_across_backends(self):
        model, x_test, outputs = self.check_learns("bahdanau", "gru", True)
        # Weights saved under this backend, loaded under the other two.
        weights_path = os.path.join(self.tmp_dir, "reversal.weights.h5")
        model.save_weights(weights_path)
        config_path = os.path.join(self.tmp_dir, "backbone.json")
        with open(config_path, "w") as f:
            json.dump(model.backbone.get_config(), f)
        inputs_path = os.path.join(self.tmp_dir, "inputs.npz")
        np.savez(inputs_path, **generate_inputs(x_test))
        expected = np.asarray(outputs["decoder_token_ids"])
        current = keras.backend.backend()
        for backend in BACKENDS:
            if backend == current:
                continue
            output_path = os.path.join(self.tmp_dir, f"{backend}.npy")
            script = textwrap.dedent(
                f"""
                import json, numpy as np
                from keras_s2s.models import Seq2SeqBackbone, Seq2SeqLM
                config = json.load(open({config_path!r}))
                model = Seq2SeqLM(Seq2SeqBackbone.from_config(config))
                model.load_weights({weights_path!r})
                model.compile(sampler="greedy")
                inputs = dict(np.load({inputs_path!r}))
                out = model.generate(inputs, stop_token_ids=[{EOS}])
                np.save({output_path!r}, np.asarray(out["decoder_token_ids"]))
                """
            )
            env = dict(os.environ, KERAS_BACKEND=backend, OMP_NUM_THREADS="1")
            result = subprocess.run(
                [sys.executable, "-c", script],
                cwd=REPO_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            self.assertEqual(result.returncode, 0, msg=result.stderr[-3000:])
            actual = np.load(output_path)
            np.testing.assert_array_equal(
                actual, expected, err_msg=f"{current} -> {backend} outputs differ"
            )
