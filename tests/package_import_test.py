"""`import keras_s2s` is cheap and quiet; TensorFlow loads only where needed."""

import subprocess
import sys

import keras
import pytest

from tests.cli.cli_test_utils import REPO_ROOT
from tests.cli.cli_test_utils import cli_env


def _loaded_after(statement):
    """The heavy modules in `sys.modules` after `statement`, in a fresh process."""
    code = (
        f"import sys; {statement}; "
        "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', 'keras_hub') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(),
        cwd=REPO_ROOT, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")[-2], result.stderr


def test_import_keras_s2s_imports_no_backend_and_prints_nothing():
    loaded, stderr = _loaded_after("import keras_s2s")
    assert loaded == "[]"
    assert stderr == ""


def test_light_subpackages_import_no_keras():
    loaded, _ = _loaded_after(
        "import keras_s2s.presets, keras_s2s.datasets, keras_s2s.metrics, keras_s2s.cli.main"
    )
    assert loaded == "[]"


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow", reason="TensorFlow is the backend itself"
)
def test_layers_import_no_tensorflow_under_jax_and_torch():
    loaded, _ = _loaded_after("import keras_s2s; keras_s2s.layers.LSTMCell")
    assert "keras" in loaded
    assert "tensorflow" not in loaded


def test_subpackages_load_on_first_use():
    loaded, _ = _loaded_after("import keras_s2s; keras_s2s.models.Seq2SeqLM")
    assert "keras" in loaded and "keras_hub" in loaded


def test_cli_help_imports_no_keras_and_writes_nothing_to_stderr():
    loaded, stderr = _loaded_after(
        "from keras_s2s.cli.main import main; status = main(['--help'])"
    )
    assert loaded == "[]"
    assert stderr == ""
