"""Data-parallel training on two virtual CPU devices equals one device.

Each engine needs its devices set up before the backend starts, so the runs
happen in a subprocess: JAX with
`XLA_FLAGS=--xla_force_host_platform_device_count=2`, TensorFlow with two
logical CPU devices (`tf.config.set_logical_device_configuration`). Both
runs (one device, then `distribution="data_parallel"` on two) train the
same model from the same initial weights on the same global batches.
"""

import json
import os
import subprocess
import sys
import tempfile

import keras
import pytest

from keras_s2s.training import Trainer
from keras_s2s.training import distribution_scope
from tests.test_case import TestCase

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA_DIR = os.path.join(os.path.dirname(REPO), "shared", "data")
ENGINES = ("jax", "tensorflow")

SETUP = r'''
import json, os, sys
if os.environ["KERAS_BACKEND"] == "tensorflow":
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
'''

FIT_SCRIPT = SETUP + r'''
import tensorflow as tf
from keras_s2s.models import Seq2SeqBackbone, Seq2SeqLM
from keras_s2s.training.distribution import distribution_scope
from keras_s2s.training.distribution import prepare_distributed_dataset

rng = np.random.default_rng(0)
n, s, t = 16, 6, 5
source_mask = np.arange(s)[None] < rng.integers(2, s + 1, n)[:, None]
target_mask = np.arange(t)[None] < rng.integers(2, t + 1, n)[:, None]
target = rng.integers(4, 30, (n, t)) * target_mask
x = {"encoder_token_ids": (rng.integers(4, 30, (n, s)) * source_mask).astype("int32"),
     "encoder_padding_mask": source_mask,
     "decoder_token_ids": target.astype("int32"),
     "decoder_padding_mask": target_mask}
y = (np.roll(target, -1, 1) * target_mask).astype("int32")
weights = target_mask.astype("float32")

def train(distribution):
    with distribution_scope(distribution) as num_devices:
        keras.utils.set_random_seed(0)
        model = Seq2SeqLM(Seq2SeqBackbone(
            encoder_vocabulary_size=30, embedding_dim=8, hidden_dim=16,
            cell_type="gru", attention_type="luong", input_feeding=False))
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        dataset = tf.data.Dataset.from_tensor_slices((x, y, weights)).batch(8)
        history = model.fit(prepare_distributed_dataset(dataset, distribution),
                            epochs=3, verbose=0)
        variable = model.trainable_variables[0]
        devices = 1
        if keras.backend.backend() == "jax":
            devices = len(variable.value.sharding.device_set)
        else:
            devices = len(getattr(variable._value, "values", [variable]))
        return {
            "num_devices": num_devices,
            "variable_devices": devices,
            "loss": history.history["loss"],
            "weights": [keras.ops.convert_to_numpy(v).tolist()
                        for v in model.trainable_variables],
        }

print("RESULT " + json.dumps({"one": train(None), "two": train("data_parallel")}))
'''

TRAINER_SCRIPT = SETUP + r'''
from keras_s2s.training import Trainer

recipe = {
    "name": "tiny_de_en_distributed",
    "data": {"source_language": "de", "target_language": "en",
             "max_train_examples": 128, "max_validation_examples": 8,
             "max_test_examples": 8},
    "tokenizer": {"vocabulary_size": 120},
    "preprocessor": {"encoder_sequence_length": 16, "decoder_sequence_length": 16},
    "model": {"embedding_dim": 8, "hidden_dim": 16, "cell_type": "gru",
              "attention_type": "luong", "input_feeding": False},
    "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}},
    "training": {"batch_size": 32, "epochs": 1},
    "validation": {"metric": "chrf", "batch_size": 8, "max_length": 6},
}
root = sys.argv[1]
result = {}
for name, distribution in (("one", None), ("two", "data_parallel")):
    trainer = Trainer(recipe, checkpoint_dir=os.path.join(root, name), verbose=0,
                      data_dir=sys.argv[2], distribution=distribution)
    state = trainer.train()
    result[name] = {
        "num_devices": trainer.num_devices,
        "loss": state["history"][-1]["loss"],
        "weights": [keras.ops.convert_to_numpy(v).tolist()
                    for v in trainer.model.trainable_variables],
    }
print("RESULT " + json.dumps(result))
'''


def run_on_two_devices(script, *args):
    """Runs `script` under the current backend with two CPU devices."""
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    ).strip()
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True,
        text=True, timeout=900,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode or not lines:
        raise AssertionError(f"the subprocess failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


needs_engine = pytest.mark.skipif(
    keras.backend.backend() not in ENGINES,
    reason="data-parallel training runs on JAX (keras.distribution) and "
    "TensorFlow (tf.distribute); PyTorch has no engine in keras-s2s",
)


class DistributionTest(TestCase):
    def assertSameTraining(self, one, two, atol):
        self.assertEqual(one["num_devices"], 1)
        self.assertEqual(two["num_devices"], 2)
        self.assertAllClose(two["loss"], one["loss"], atol=atol, rtol=atol)
        self.assertLen(two["weights"], len(one["weights"]))
        for a, b in zip(one["weights"], two["weights"]):
            self.assertAllClose(b, a, atol=atol, rtol=atol)

    @needs_engine
    def test_data_parallel_fit_equals_one_device(self):
        result = run_on_two_devices(FIT_SCRIPT)
        self.assertEqual(result["two"]["variable_devices"], 2)  # Replicated.
        self.assertEqual(result["one"]["variable_devices"], 1)
        self.assertSameTraining(result["one"], result["two"], atol=1e-5)
        # Three epochs of SGD moved the weights: the comparison is not vacuous.
        self.assertGreater(result["one"]["loss"][0] - result["one"]["loss"][-1], 0.01)

    @needs_engine
    @pytest.mark.slow
    @pytest.mark.needs_data
    def test_trainer_data_parallel_equals_one_device(self):
        with tempfile.TemporaryDirectory() as root:
            result = run_on_two_devices(TRAINER_SCRIPT, root, DATA_DIR)
        self.assertSameTraining(result["one"], result["two"], atol=1e-4)

    def test_distribution_names_and_backends(self):
        with self.assertRaisesRegex(ValueError, "Expected distribution in"):
            Trainer({"name": "x", "data": {"source_language": "de",
                                           "target_language": "en"}},
                    distribution="model_parallel")
        if keras.backend.backend() == "torch":
            with self.assertRaisesRegex(ValueError, "no distribution engine"):
                with distribution_scope("data_parallel"):
                    pass
        else:
            with distribution_scope("data_parallel") as num_devices:
                self.assertGreaterEqual(num_devices, 1)
        with distribution_scope(None) as num_devices:
            self.assertEqual(num_devices, 1)

