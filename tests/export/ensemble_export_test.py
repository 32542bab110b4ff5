"""export_saved_model of a Seq2SeqEnsembleLM: the ensemble's search in the graph.

Exported under the current backend (a TensorFlow subprocess that reloads the
members from presets under JAX and PyTorch).
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_s2s import samplers
from keras_s2s.export import export_saved_model
from keras_s2s.export import read_export_info
from keras_s2s.models import Seq2SeqBackbone
from keras_s2s.models import Seq2SeqEnsembleLM
from keras_s2s.models import Seq2SeqLM
from tests.presets.preset_fixtures import make_model
from tests.test_case import TestCase

SOURCES = ["a dog runs .", "two men play .", "zwei männer spielen . a dog"]
MAX_LENGTH = 10


def _run(path, sources):
    signature = tf.saved_model.load(path).signatures["serving_default"]
    out = signature(inputs=tf.constant(sources, tf.string))
    texts = [t.decode("utf-8") for t in out["outputs"].numpy()]
    return texts, out["scores"].numpy()


class EnsembleExportTest(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(1337)
        first = make_model()
        preprocessor = first.preprocessor
        second = Seq2SeqLM(
            Seq2SeqBackbone(
                encoder_vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
                embedding_dim=8,
                hidden_dim=12,
                cell_type="lstm",
                attention_type="luong",
            ),
            preprocessor=preprocessor,
        )
        cls.ensemble = Seq2SeqEnsembleLM([first, second])
        cls.sampler = samplers.BeamSampler(num_beams=3, length_penalty=0.6)
        cls._export_dir = tempfile.TemporaryDirectory()
        cls.path = export_saved_model(
            cls.ensemble,
            os.path.join(cls._export_dir.name, "ensemble"),
            sampler=cls.sampler,
            max_length=MAX_LENGTH,
        )

    @classmethod
    def tearDownClass(cls):
        cls._export_dir.cleanup()
        super().tearDownClass()

    def test_outputs_and_scores_equal_the_ensembles_beam_search(self):
        outputs, scores = _run(self.path, SOURCES)
        self.assertEqual(
            outputs,
            self.ensemble.generate(SOURCES, sampler=self.sampler, max_length=MAX_LENGTH),
        )
        packed = self.ensemble.preprocessor.generate_preprocess(
            SOURCES, sequence_length=MAX_LENGTH
        )
        n_best = samplers.BeamSampler(
            num_beams=3, length_penalty=0.6, return_all_beams=True
        )
        inputs = {k: keras.ops.convert_to_numpy(v) for k, v in packed.items()}
        stop = [self.ensemble.preprocessor.tokenizer.end_token_id]
        expected, first_member = [], []
        for members, results in ((self.ensemble.members, expected),
                                 (self.ensemble.members[:1], first_member)):
            token_level = Seq2SeqEnsembleLM(members)
            token_level.preprocessor = None  # Token ids in and out.
            results.extend(token_level.generate(
                inputs, stop_token_ids=stop, sampler=n_best
            )["scores"][:, 0])
        self.assertAllClose(scores, np.array(expected), atol=1e-4, rtol=1e-5)
        # Not the first member's search alone.
        self.assertGreater(np.abs(scores - np.array(first_member)).max(), 1e-3)
        self.assertEqual(read_export_info(self.path)["sampler"]["class_name"], "BeamSampler")

    def test_a_list_of_presets_exports_their_ensemble(self):
        presets = []
        for index, member in enumerate(self.ensemble.members):
            presets.append(os.path.join(self.tmp_dir, f"member_{index}"))
            member.save_to_preset(presets[-1])
        path = export_saved_model(
            presets, os.path.join(self.tmp_dir, "export"), sampler="greedy",
            max_length=MAX_LENGTH,
        )
        outputs, scores = _run(path, SOURCES)
        self.assertEqual(
            outputs,
            self.ensemble.generate(SOURCES, sampler="greedy", max_length=MAX_LENGTH),
        )
        self.assertTrue(np.all(scores <= 0))
