"""One answer everywhere: Python, the command line, the SavedModel and the server.

For every shipped preset, `tests/presets/preset_outputs.json` records its
outputs for 21 inputs (16 validation inputs, the model card's in-domain and
out-of-domain inputs, an empty and a whitespace-only input, and an input
longer than the encoder takes), decoded with the preset's own search
(`tools/record_preset_outputs.py`). Under every backend,
`Seq2SeqLM.from_preset(name).generate(inputs)` and `keras-s2s generate
--preset NAME -i FILE` must give exactly those strings. Under TensorFlow
the preset is also exported and the SavedModel must give them too; under JAX and
PyTorch one preset is exported through the TensorFlow subprocess. Under
TensorFlow the export is also served with `keras_s2s.serving` and queried
over HTTP, which must return them as well.
"""

import json
import os

import keras
import numpy as np
import pytest

from keras_s2s import presets
from keras_s2s.models import Seq2SeqLM
from tests.cli.cli_test_utils import run_main

RECORDED_FILE = os.path.join(os.path.dirname(__file__), "preset_outputs.json")
with open(RECORDED_FILE, encoding="utf-8") as file:
    RECORDED = json.load(file)
# Exported under JAX and PyTorch too (through the TensorFlow subprocess).
EXPORTED_ON_EVERY_BACKEND = "cmudict_g2p_lstm_luong"


def _recorded(name):
    if name not in presets.preset_names():
        pytest.fail(f"preset {name} is recorded in {RECORDED_FILE} but not shipped")
    return RECORDED[name]["inputs"], RECORDED[name]["outputs"]


def test_every_shipped_preset_is_recorded():
    assert sorted(RECORDED) == presets.preset_names()


@pytest.fixture(scope="module", params=sorted(RECORDED))
def preset(request):
    """`(name, model)`: each shipped preset, loaded once for the module."""
    return request.param, Seq2SeqLM.from_preset(request.param)


def test_python_generate_gives_the_recorded_outputs(preset):
    name, model = preset
    inputs, outputs = _recorded(name)
    assert model.sampler.get_config() == keras_s2s_sampler_config(RECORDED[name]["search"])
    assert model.generate(inputs) == outputs


def test_blank_inputs_give_empty_outputs(preset):
    name, model = preset
    assert model.generate(["", " \t\u3000\n"]) == ["", ""]
    assert model.generate("   ") == ""


def test_command_line_gives_the_recorded_outputs(preset, tmp_path):
    name, _ = preset
    inputs, outputs = _recorded(name)
    source_file = tmp_path / "inputs.txt"
    source_file.write_text("".join(text + "\n" for text in inputs), encoding="utf-8")
    output_file = tmp_path / "outputs.txt"
    status, _, stderr = run_main(
        ["generate", "--preset", name, "-q", "-i", str(source_file), "-o", str(output_file)]
    )
    assert status == 0, stderr
    assert output_file.read_text(encoding="utf-8").split("\n")[:-1] == outputs


def test_saved_model_and_server_give_the_recorded_outputs(preset, tmp_path):
    name, model = preset
    if keras.backend.backend() != "tensorflow" and name != EXPORTED_ON_EVERY_BACKEND:
        pytest.skip("exported under TensorFlow (and one preset on every backend)")
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizers' ops)

    inputs, outputs = _recorded(name)
    export_dir = str(tmp_path / "export" / "1")
    model.export_saved_model(export_dir)
    serving = tf.saved_model.load(export_dir).signatures["serving_default"]
    result = serving(inputs=tf.constant(inputs))
    texts = [text.decode("utf-8") for text in result["outputs"].numpy()]
    assert texts == outputs
    scores = result["scores"].numpy()
    blank = np.array([not text.strip() for text in inputs])
    np.testing.assert_array_equal(scores[blank], 0.0)
    assert np.all(scores[~blank] < 0.0)
    if keras.backend.backend() == "tensorflow":
        assert _served(export_dir, inputs) == outputs


def _served(export_dir, inputs):
    """The outputs of `keras-s2s serve`'s server for `inputs`, over HTTP."""
    import threading
    import urllib.request

    from keras_s2s.serving import make_server

    server = make_server(export_dir, "parity", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        request = urllib.request.Request(
            server.url + ":predict",
            data=json.dumps({"instances": inputs}).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            predictions = json.loads(response.read().decode("utf-8"))["predictions"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)
    return [p["outputs"] if isinstance(p, dict) else p for p in predictions]


def keras_s2s_sampler_config(search):
    """The full config of the sampler a recorded search names."""
    from keras_s2s import samplers

    return samplers.get(search).get_config()
