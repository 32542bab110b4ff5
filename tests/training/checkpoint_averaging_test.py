import numpy as np
import pytest

from keras_s2s.training import CheckpointManager
from keras_s2s.training import average_checkpoints
from keras_s2s.training import average_weights
from tests.test_case import TestCase


class AverageWeightsTest(TestCase):
    def test_floats_are_the_numpy_mean_and_integers_come_from_the_last(self):
        rng = np.random.default_rng(0)
        lists = [
            [
                rng.normal(size=(3, 4)).astype("float32"),
                rng.normal(size=(5,)).astype("float16"),
                np.array([i, 7], "uint32"),
            ]
            for i in range(4)
        ]
        averaged = average_weights(lists)
        self.assertAllClose(averaged[0], np.mean([l[0] for l in lists], axis=0), atol=1e-7)
        self.assertEqual(averaged[0].dtype, np.float32)
        self.assertAllClose(
            averaged[1],
            np.mean([l[1].astype("float64") for l in lists], axis=0).astype("float16"),
        )
        self.assertEqual(averaged[1].dtype, np.float16)
        self.assertAllEqual(averaged[2], np.array([3, 7], "uint32"))

    def test_one_checkpoint_is_returned_unchanged(self):
        weights = [np.arange(6, dtype="float32").reshape(2, 3)]
        self.assertAllEqual(average_weights([weights]), weights)

    def test_mismatched_checkpoints_are_errors(self):
        with pytest.raises(ValueError, match="at least one"):
            average_weights([])
        with pytest.raises(ValueError, match="hold 1 arrays"):
            average_weights([[np.zeros(2)], [np.zeros(2), np.zeros(2)]])
        with pytest.raises(ValueError, match="differs between checkpoints"):
            average_weights([[np.zeros(2)], [np.zeros(3)]])

    def test_average_checkpoints_reads_the_saved_epochs(self):
        manager = CheckpointManager(self.tmp_dir, keep_weights=3)
        rng = np.random.default_rng(1)
        saved = {}
        for epoch in range(1, 5):
            values = [rng.normal(size=(2, 2)).astype("float32"), np.array([epoch], "int64")]
            saved[epoch] = values
            manager.save(epoch, values, [], [], {"best_epoch": epoch})
        self.assertEqual(manager.weights_epochs(), [2, 3, 4])
        averaged = average_checkpoints(manager, [2, 3, 4])
        expected = np.mean([saved[e][0] for e in (2, 3, 4)], axis=0)
        self.assertAllClose(averaged[0], expected, atol=1e-7)
        self.assertAllEqual(averaged[1], [4])
