"""Shared test harness: every layer and model test builds on `TestCase`.

The helpers check what a user relies on for any Keras object: it builds and
calls, its `get_config()` round-trips, and a `.keras` file saved and loaded back
gives the same outputs.
"""

import functools
import os
import tempfile
import unittest

import keras
import numpy as np
from keras import ops
from keras import tree


TOOLS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tools")


@functools.cache
def load_tool(filename):
    """Imports a script of `tools/` (not a package) as a module, for its tests.

    Each script is executed once per test session; later calls return the
    same module.
    """
    import importlib.util

    name = os.path.splitext(filename)[0]
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS_DIR, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def to_numpy(x):
    """Converts a (nested structure of) backend tensor(s) to NumPy."""
    return tree.map_structure(
        lambda t: ops.convert_to_numpy(t) if t is not None else None, x
    )


class TestCase(unittest.TestCase):
    """`unittest.TestCase` with assertions and round trips for Keras objects."""

    def setUp(self):
        super().setUp()
        keras.config.disable_traceback_filtering()
        keras.utils.set_random_seed(1337)
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp_dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()
        super().tearDown()

    def assertAllClose(self, actual, expected, atol=1e-6, rtol=1e-6, msg=None):
        actual, expected = to_numpy(actual), to_numpy(expected)
        flat_actual, flat_expected = tree.flatten(actual), tree.flatten(expected)
        self.assertEqual(len(flat_actual), len(flat_expected), msg)
        for a, e in zip(flat_actual, flat_expected):
            np.testing.assert_allclose(
                np.asarray(a), np.asarray(e), atol=atol, rtol=rtol, err_msg=msg or ""
            )

    def assertAllEqual(self, actual, expected, msg=None):
        actual, expected = to_numpy(actual), to_numpy(expected)
        flat_actual, flat_expected = tree.flatten(actual), tree.flatten(expected)
        self.assertEqual(len(flat_actual), len(flat_expected), msg)
        for a, e in zip(flat_actual, flat_expected):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(e), err_msg=msg or "")

    def run_config_roundtrip_test(self, instance):
        """`cls.from_config(instance.get_config())` rebuilds an equal config."""
        config = instance.get_config()
        revived = instance.__class__.from_config(config)
        self.assertEqual(revived.get_config(), config)
        return revived

    def run_layer_test(
        self,
        layer_cls,
        init_kwargs,
        input_data,
        expected_output_shape=None,
        expected_num_trainable_weights=None,
        call_kwargs=None,
    ):
        """Builds, calls and config-round-trips a layer; checks shapes and weights.

        Args:
            layer_cls: the layer class.
            init_kwargs: dict of constructor arguments.
            input_data: a tensor, or a tuple of positional call arguments.
            expected_output_shape: a shape tuple, or a list of shape tuples
                in the order of `keras.tree.flatten(output)`.
            expected_num_trainable_weights: int, checked if given.
            call_kwargs: extra keyword arguments for `call`.

        Returns:
            The called layer and its output.
        """
        call_kwargs = call_kwargs or {}
        args = input_data if isinstance(input_data, tuple) else (input_data,)
        layer = layer_cls(**init_kwargs)
        output = layer(*args, **call_kwargs)
        if expected_output_shape is not None:
            # Shapes are compared as a flat list, in the order of
            # `tree.flatten(output)`; a single shape tuple is one output.
            shapes = [tuple(ops.shape(t)) for t in tree.flatten(output)]
            expected = list(expected_output_shape)
            if all(isinstance(d, (int, type(None))) for d in expected):
                expected = [expected]
            self.assertEqual(shapes, [tuple(s) for s in expected])
        if expected_num_trainable_weights is not None:
            self.assertLen(layer.trainable_weights, expected_num_trainable_weights)
        revived = self.run_config_roundtrip_test(layer)
        revived(*args, **call_kwargs)
        revived.set_weights(layer.get_weights())
        self.assertAllClose(revived(*args, **call_kwargs), output, atol=1e-6)
        return layer, output

    def run_model_saving_test(self, model, input_data, atol=1e-6):
        """Saves `model` to a `.keras` file, loads it back, compares outputs."""
        expected = model(input_data)
        path = os.path.join(self.tmp_dir, "model.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
        self.assertAllClose(restored(input_data), expected, atol=atol)
        return restored

    def run_layer_saving_test(self, layer, input_data, call_kwargs=None, atol=1e-6):
        """Wraps a built layer in a functional model and round-trips a `.keras` file.

        `input_data` is a tensor or a tuple of positional tensors.
        """
        call_kwargs = call_kwargs or {}
        args = input_data if isinstance(input_data, tuple) else (input_data,)
        inputs = [
            keras.Input(
                shape=tuple(ops.shape(a))[1:], dtype=keras.backend.standardize_dtype(a.dtype)
            )
            for a in args
        ]
        outputs = layer(*inputs, **call_kwargs)
        model = keras.Model(inputs, outputs)
        return self.run_model_saving_test(model, list(args), atol=atol)

    def assertLen(self, container, expected_len, msg=None):
        self.assertEqual(len(container), expected_len, msg)
