"""The exported signature runs big batches in chunks, with the same outputs."""

import keras
import numpy as np
import pytest

from keras_s2s import samplers
from keras_s2s.export.saved_model_export import write_generation_module
from tests.presets.preset_fixtures import make_model

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="write_generation_module runs under TensorFlow (other backends export "
    "through a TensorFlow subprocess, tested in saved_model_export_test.py)",
)
SOURCES = ["a dog runs .", "", "two men play .", "zwei männer spielen .", "a dog", "   ", "men"]


@pytest.mark.parametrize("sampler", ["greedy", {"class_name": "BeamSampler",
                                               "config": {"num_beams": 3,
                                                          "return_all_beams": True}}])
def test_chunks_of_two_give_the_outputs_of_one_batch(tmp_path, sampler):
    import tensorflow as tf

    model = make_model()
    results = {}
    for chunk_size in (2, 256):
        path = str(tmp_path / f"chunk_{chunk_size}")
        info = write_generation_module(
            model, path, sampler=samplers.get(sampler), max_length=8, chunk_size=chunk_size
        )
        assert info["chunk_size"] == chunk_size
        signature = tf.saved_model.load(path).signatures["serving_default"]
        results[chunk_size] = signature(inputs=tf.constant(SOURCES))
        empty = signature(inputs=tf.constant([], tf.string))
        assert empty["outputs"].shape[0] == 0
    chunked, whole = results[2], results[256]
    assert chunked["outputs"].shape == whole["outputs"].shape
    assert chunked["outputs"].shape[0] == len(SOURCES)
    np.testing.assert_array_equal(chunked["outputs"].numpy(), whole["outputs"].numpy())
    np.testing.assert_allclose(chunked["scores"].numpy(), whole["scores"].numpy(), atol=1e-5)
    blank = np.array([not s.strip() for s in SOURCES])
    assert np.all(whole["outputs"].numpy()[blank] == b"")
