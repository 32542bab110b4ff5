import os
from unittest import mock

from keras_s2s.datasets import load_cmudict
from keras_s2s.datasets import load_cmudict_references
from keras_s2s.training.task_data import get_task_data
from tests.datasets.conftest import SHARED_DATA_DIR
from tests.test_case import TestCase
from tests.shared_data import require_shared_data


class CMUdictDataTest(TestCase):
    def setUp(self):
        super().setUp()
        if not os.path.isdir(SHARED_DATA_DIR):
            require_shared_data()
        environment = mock.patch.dict(os.environ, {"KERAS_S2S_DATA_DIR": SHARED_DATA_DIR})
        environment.start()
        self.addCleanup(environment.stop)

    def test_scored_splits_leave_out_the_training_words(self):
        data = get_task_data({"dataset": "cmudict", "train_split": "train"})
        train_words = set(load_cmudict("train")[0])
        words, references = data.scored_set("dev")
        self.assertLen(words, 4726)
        self.assertEqual(set(words) & train_words, set())
        self.assertEqual(
            (words, references), load_cmudict_references("dev", unseen_in="train")
        )
        # The training split itself is scored whole.
        self.assertLen(data.scored_set("train")[0], 102068)

    def test_training_on_dev_leaves_dev_words_out_of_train_scores(self):
        data = get_task_data({"dataset": "cmudict", "train_split": "dev"})
        dev_words = set(load_cmudict("dev")[0])
        words, _ = data.scored_set("train")
        self.assertEqual(set(words) & dev_words, set())
        self.assertLen(data.scored_set("dev")[0], 5447)
