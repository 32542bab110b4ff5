"""export_saved_model: strings in, generate()'s strings and scores out, from any backend.

One SavedModel (beam search with length and coverage penalties) is exported
per test class under the current backend (a TensorFlow subprocess under JAX
and PyTorch) and shared by its tests.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_s2s import samplers
from keras_s2s.export import EXPORT_INFO_FILE
from keras_s2s.export import export_saved_model
from keras_s2s.export import read_export_info
from keras_s2s.export.generation_module import _sequence_log_probability
from keras_s2s.models import Seq2SeqLM
from tests.presets.preset_fixtures import make_model
from tests.presets.preset_fixtures import make_preset
from tests.test_case import TestCase

SOURCES = ["a dog runs .", "two men play .", "", "zwei männer spielen . a dog"]
# The empty source gives "" with score 0 without running the search
# (keras_s2s.utils.blank_inputs); the model's own scores cover the others.
BLANK = np.array([not source.strip() for source in SOURCES])
MAX_LENGTH = 10
BEAM = {"num_beams": 3, "length_penalty": 0.6, "coverage_penalty": 0.2}

# Runs in a fresh interpreter that imports TensorFlow and TensorFlow Text only.
PLAIN_TENSORFLOW_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    import tensorflow_text  # noqa: F401 (SentencePiece ops)

    path, sources = sys.argv[1], json.loads(sys.argv[2])
    translate = tf.saved_model.load(path).signatures["serving_default"]
    out = translate(inputs=tf.constant(sources))
    print(json.dumps({
        "outputs": [t.decode("utf-8") for t in out["outputs"].numpy()],
        "scores": out["scores"].numpy().tolist(),
        "imported": sorted({m.split(".")[0] for m in sys.modules}
                           & {"keras_s2s", "keras_hub"}),
    }))
    sys.stdout.flush()
    from tensorflow.python.tools.saved_model_cli import main
    sys.argv = ["saved_model_cli", "show", "--all", "--dir", path]
    try:
        main()
    except SystemExit:
        pass
    """
)


def _load_signature(path):
    return tf.saved_model.load(path).signatures["serving_default"]


def _run(signature, sources):
    out = signature(inputs=tf.constant(sources, tf.string))
    texts = np.vectorize(lambda t: t.decode("utf-8"), otypes=[object])(
        out["outputs"].numpy()
    )
    return texts.tolist(), out["scores"].numpy()


class SavedModelExportTest(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(1337)
        cls.model = make_model()
        cls._export_dir = tempfile.TemporaryDirectory()
        cls.sampler = samplers.BeamSampler(**BEAM)
        cls.path = export_saved_model(
            cls.model,
            os.path.join(cls._export_dir.name, "beam"),
            sampler=cls.sampler,
            max_length=MAX_LENGTH,
        )
        cls.signature = _load_signature(cls.path)

    @classmethod
    def tearDownClass(cls):
        cls._export_dir.cleanup()
        super().tearDownClass()

    def test_outputs_equal_generate_with_the_same_search(self):
        outputs, scores = _run(self.signature, SOURCES)
        expected = self.model.generate(
            SOURCES, sampler=self.sampler, max_length=MAX_LENGTH
        )
        self.assertEqual(outputs, expected)
        self.assertEqual(scores.shape, (len(SOURCES),))
        self.assertEqual(scores.dtype, np.float32)

    def test_scores_are_the_beam_search_scores(self):
        # The n-best search returns the pool's scores: the best one is the
        # exported score, penalties included (log P / lp + cp).
        packed = self.model.preprocessor.generate_preprocess(
            SOURCES, sequence_length=MAX_LENGTH
        )
        bare = Seq2SeqLM(self.model.backbone)
        bare.compile(sampler=samplers.BeamSampler(return_all_beams=True, **BEAM))
        n_best = bare.generate(
            {k: keras.ops.convert_to_numpy(v) for k, v in packed.items()},
            stop_token_ids=[self.model.preprocessor.tokenizer.end_token_id],
        )
        outputs, scores = _run(self.signature, SOURCES)
        expected = np.where(BLANK, 0.0, n_best["scores"][:, 0])
        self.assertAllClose(scores, expected, atol=1e-4, rtol=1e-5)
        self.assertTrue(np.all(scores[~BLANK] < 0))
        self.assertEqual([o for o, blank in zip(outputs, BLANK) if blank], [""])

    def test_loads_with_plain_tensorflow_and_saved_model_cli_lists_it(self):
        result = subprocess.run(
            [sys.executable, "-c", PLAIN_TENSORFLOW_SCRIPT, self.path,
             json.dumps(SOURCES)],
            capture_output=True, text=True, cwd=tempfile.gettempdir(),
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        first_line, cli_output = result.stdout.split("\n", 1)
        loaded = json.loads(first_line)
        self.assertEqual(loaded["imported"], [])
        outputs, scores = _run(self.signature, SOURCES)
        self.assertEqual(loaded["outputs"], outputs)
        self.assertAllClose(np.asarray(loaded["scores"]), scores, atol=1e-5)
        self.assertIn("signature_def['serving_default']", cli_output)
        self.assertIn("inputs['inputs'] tensor_info:\n        dtype: DT_STRING\n"
                      "        shape: (-1)", cli_output)
        self.assertIn("outputs['outputs'] tensor_info:\n        dtype: DT_STRING",
                      cli_output)
        self.assertIn("outputs['scores'] tensor_info:\n        dtype: DT_FLOAT",
                      cli_output)

    def test_batch_composition_does_not_change_outputs(self):
        together, together_scores = _run(self.signature, SOURCES)
        for i, source in enumerate(SOURCES):
            alone, alone_scores = _run(self.signature, [source])
            self.assertEqual(alone, [together[i]])
            self.assertAllClose(alone_scores, together_scores[i:i + 1], atol=1e-5)
        empty, empty_scores = _run(self.signature, [])
        self.assertEqual((empty, empty_scores.shape), ([], (0,)))

    def test_export_info(self):
        info = read_export_info(self.path)
        self.assertTrue(os.path.isfile(os.path.join(self.path, EXPORT_INFO_FILE)))
        self.assertEqual(info["exported_from_backend"], keras.config.backend())
        self.assertEqual(info["max_length"], MAX_LENGTH)
        self.assertEqual(info["encoder_sequence_length"], 8)
        self.assertEqual(info["stop_token_ids"], [3])
        self.assertIsNone(info["n_best"])
        restored = samplers.deserialize(info["sampler"])
        self.assertIsInstance(restored, samplers.BeamSampler)
        self.assertEqual(restored.get_config(), self.sampler.get_config())
        self.assertGreater(info["export_seconds"], 0)

    def test_refuses_to_overwrite_then_replaces_atomically(self):
        parent = os.path.dirname(self.path)
        before = sorted(os.listdir(self.path))
        with pytest.raises(FileExistsError, match="already exists"):
            export_saved_model(self.model, self.path, sampler="greedy")
        self.assertEqual(sorted(os.listdir(self.path)), before)
        self.assertEqual(read_export_info(self.path)["sampler"]["class_name"],
                         "BeamSampler")
        # Nothing half-written is left next to it.
        self.assertEqual(os.listdir(parent), [os.path.basename(self.path)])

    def test_disk_full_or_unwritable_names_the_path_and_leaves_nothing(self):
        import errno
        from unittest import mock

        from keras_s2s.export import saved_model_export
        from keras_s2s.utils import atomic_files

        target = os.path.join(self.tmp_dir, "out")

        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        with mock.patch.object(saved_model_export, "write_generation_module", full), \
                mock.patch.object(saved_model_export, "_export_in_subprocess", full):
            with pytest.raises(OSError, match=f"'{target}': the disk is full"):
                export_saved_model(self.model, target)
        self.assertEqual(os.listdir(self.tmp_dir), [])

        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")

        with mock.patch.object(atomic_files.tempfile, "mkdtemp", refuse):
            with pytest.raises(PermissionError, match=f"'{target}': the directory is not"):
                export_saved_model(self.model, target)
        self.assertEqual(os.listdir(self.tmp_dir), [])

    def test_invalid_arguments(self):
        target = os.path.join(self.tmp_dir, "out")
        bare = Seq2SeqLM(self.model.backbone)
        with pytest.raises(ValueError, match="needs a model with a preprocessor"):
            export_saved_model(bare, target)
        with pytest.raises(ValueError, match="runs eagerly"):
            export_saved_model(self.model, target, sampler="exact")
        with pytest.raises(ValueError, match="Unknown sampler 'bem'"):
            export_saved_model(self.model, target, sampler="bem")
        with pytest.raises(ValueError, match="max_length"):
            export_saved_model(self.model, target, max_length=1)
        with pytest.raises(ValueError, match="Expected model to be"):
            export_saved_model(42, target)
        with pytest.raises(ValueError, match="Unknown preset"):
            export_saved_model("no_such_preset", target)
        self.assertFalse(os.path.exists(target))
        self.assertEqual(os.listdir(self.tmp_dir), [])


class GreedyAndNBestExportTest(TestCase):
    """A preset exports with its sampler (greedy), whose scores are log P(output).

    Also: n-best exports return every beam, and `Seq2SeqLM.export_saved_model`
    overwrites an export when asked.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(1337)
        cls._export_dir = tempfile.TemporaryDirectory()
        cls.model, preset_dir = make_preset(cls._export_dir.name)
        cls.greedy_path = export_saved_model(
            preset_dir, os.path.join(cls._export_dir.name, "greedy"),
            max_length=MAX_LENGTH,
        )
        cls.greedy = _load_signature(cls.greedy_path)

    @classmethod
    def tearDownClass(cls):
        cls._export_dir.cleanup()
        super().tearDownClass()

    def test_greedy_outputs_and_log_probabilities(self):
        info = read_export_info(self.greedy_path)
        self.assertEqual(info["sampler"]["class_name"], "GreedySampler")
        outputs, scores = _run(self.greedy, SOURCES)
        self.assertEqual(outputs, self.model.generate(SOURCES, max_length=MAX_LENGTH))
        # log P(output) step by step with the decoder, stop token included.
        preprocessor = self.model.preprocessor
        packed = preprocessor.generate_preprocess(SOURCES, sequence_length=MAX_LENGTH)
        cache = self.model.build_cache(
            packed["encoder_token_ids"], packed["encoder_padding_mask"]
        )
        previous = np.full((len(SOURCES),), 2, "int32")
        total = np.zeros(len(SOURCES))
        finished = np.zeros(len(SOURCES), bool)
        token_ids, padding_mask = [previous], [np.ones(len(SOURCES), bool)]
        for _ in range(MAX_LENGTH - 1):
            logits, _, cache = self.model.call_decoder_step(previous, cache)
            log_probs = keras.ops.convert_to_numpy(keras.ops.log_softmax(logits))
            token = log_probs.argmax(-1)
            total += np.where(finished, 0.0, log_probs[np.arange(len(SOURCES)), token])
            padding_mask.append(~finished)
            finished |= token == 3
            previous = token.astype("int32")
            token_ids.append(previous)
        self.assertAllClose(scores, np.where(BLANK, 0.0, total), atol=1e-4, rtol=1e-5)
        # Samplers with their own loop are scored by teacher forcing instead:
        # the same numbers.
        rescored = _sequence_log_probability(
            self.model,
            {k: keras.ops.convert_to_numpy(v) for k, v in packed.items()},
            np.stack(token_ids, axis=1),
            np.stack(padding_mask, axis=1),
            1.0,
        )
        self.assertAllClose(rescored, total, atol=1e-4, rtol=1e-5)

    def test_n_best_overwrites_and_returns_sorted_beams(self):
        target = os.path.join(self.tmp_dir, "model")
        shutil.copytree(self.greedy_path, target)
        path = self.model.export_saved_model(
            target,
            sampler={"class_name": "BeamSampler",
                     "config": {"num_beams": 3, "return_all_beams": True}},
            max_length=MAX_LENGTH,
            overwrite=True,
        )
        self.assertEqual(path, target)
        self.assertEqual(os.listdir(self.tmp_dir), ["model"])
        self.assertEqual(read_export_info(path)["n_best"], 3)
        outputs, scores = _run(_load_signature(path), SOURCES)
        self.assertEqual(np.asarray(outputs).shape, (len(SOURCES), 3))
        self.assertEqual(scores.shape, (len(SOURCES), 3))
        self.assertTrue(np.all(np.diff(scores, axis=1) <= 0))
        best = self.model.generate(
            SOURCES, sampler=samplers.BeamSampler(num_beams=3), max_length=MAX_LENGTH
        )
        self.assertEqual([row[0] for row in outputs], best)
