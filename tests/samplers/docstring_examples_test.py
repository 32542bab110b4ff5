import doctest
import importlib
import pkgutil

import keras
import numpy as np

import keras_s2s
import keras_s2s.samplers as package
from tests.test_case import TestCase


class DocstringExamplesTest(TestCase):
    def test_docstring_examples(self):
        attempted = 0
        for module_info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{module_info.name}")
            result = doctest.testmod(
                module,
                extraglobs={"np": np, "keras": keras, "keras_s2s": keras_s2s},
                optionflags=doctest.NORMALIZE_WHITESPACE,
            )
            self.assertEqual(result.failed, 0, module.__name__)
            attempted += result.attempted
        self.assertGreater(attempted, 0)
