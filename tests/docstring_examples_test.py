"""Runs the `>>>` examples of every public docstring, on the current backend."""

import doctest
import importlib
import os
import pkgutil

import keras
import numpy as np
import pytest

import keras_s2s


def modules():
    for info in pkgutil.walk_packages(keras_s2s.__path__, "keras_s2s."):
        yield info.name


@pytest.mark.parametrize("module_name", sorted(modules()))
def test_docstring_examples(module_name, monkeypatch):
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data_dir = os.path.join(os.path.dirname(repo_root), "shared", "data")
    monkeypatch.setenv("KERAS_S2S_DATA_DIR", data_dir)
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    globs = {"np": np, "keras": keras, "keras_s2s": keras_s2s}
    for test in finder.find(module, module_name, globs=dict(globs, **vars(module))):
        if test.examples:
            runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} docstring example(s) failed in {module_name}"
