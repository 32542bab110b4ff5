"""Exports a preset under the TensorFlow backend (run as a subprocess).

`export_saved_model` runs `python -m keras_s2s.export.tensorflow_export_worker
OPTIONS_JSON` with `KERAS_BACKEND=tensorflow` when the current backend is JAX
or PyTorch. The options file holds `preset`, `output`, `sampler` (a config
dict or null for the preset's compiled sampler; `preset` may be a list of
presets, the members of an ensemble), `max_length`, `jit_compile`
and `info` (where the export info is written as JSON).
"""

import json
import os
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(f"usage: python -m {__spec__.name if __spec__ else __name__} "
              "OPTIONS_JSON", file=sys.stderr)
        return 2
    if os.environ.get("KERAS_BACKEND") != "tensorflow":
        print("KERAS_BACKEND must be 'tensorflow'.", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as file:
        options = json.load(file)

    from keras_s2s.export.saved_model_export import write_generation_module
    from keras_s2s.models import Seq2SeqLM

    if isinstance(options["preset"], list):
        # An ensemble, one preset per member.
        from keras_s2s.models import Seq2SeqEnsembleLM

        model = Seq2SeqEnsembleLM.from_preset(options["preset"])
    else:
        model = Seq2SeqLM.from_preset(options["preset"])
    if model.preprocessor is None:
        print(f"Preset '{options['preset']}' has no preprocessor; exporting "
              "needs one.", file=sys.stderr)
        return 1
    info = write_generation_module(
        model,
        options["output"],
        sampler=options["sampler"],
        max_length=options["max_length"],
        jit_compile=options["jit_compile"],
    )
    with open(options["info"], "w", encoding="utf-8") as file:
        json.dump(info, file, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
