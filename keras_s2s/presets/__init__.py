"""Shipped presets: listing them, resolving names, verifying file checksums.

A preset is a keras-hub preset directory (`config.json`, `task.json`,
`preprocessor.json`, tokenizer configs and `assets/`, `model.weights.h5`)
plus a model card `README.md` and a `metadata.json` that records the sha256
of every other file. Presets shipped with the library live in
`keras_s2s/presets/<name>/` and load offline by name with
`keras_s2s.models.Seq2SeqLM.from_preset("<name>")`.
"""

from keras_s2s.presets.preset_integrity import compute_checksums
from keras_s2s.presets.preset_integrity import file_sha256
from keras_s2s.presets.preset_integrity import read_metadata
from keras_s2s.presets.preset_integrity import verify_preset
from keras_s2s.presets.preset_integrity import write_metadata
from keras_s2s.presets.preset_registry import PRESETS_DIR
from keras_s2s.presets.preset_registry import list_presets
from keras_s2s.presets.preset_registry import preset_names
from keras_s2s.presets.preset_registry import resolve_preset
from keras_s2s.presets.preset_loading import load_preset_task
