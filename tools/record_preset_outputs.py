"""Records what every shipped preset answers to 20+ inputs, with its own search.

For each preset in `keras_s2s/presets/`, the inputs are the first 16
validation inputs of its data set, one in-domain and one out-of-domain
sentence of its model card, an empty and a whitespace-only input, and one
input longer than the encoder's sequence length (truncated the same way
everywhere). The outputs are `Seq2SeqLM.from_preset(name).generate(inputs)`
with the preset's recorded search. `tests/presets/preset_parity_test.py`
checks that Python, `keras-s2s generate`, the exported SavedModel and the
REST server all give these strings, on every backend.

Run it again after retraining a preset:

    KERAS_BACKEND=tensorflow KERAS_S2S_DATA_DIR=../shared/data \\
        python tools/record_preset_outputs.py
"""

import argparse
import json
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT_FILE = os.path.join(REPO_ROOT, "tests", "presets", "preset_outputs.json")
NUM_VALIDATION_INPUTS = 16


def parity_inputs(name):
    """The inputs recorded for preset `name` (see the module docstring)."""
    from keras_s2s.presets import read_metadata
    from keras_s2s.presets import resolve_preset
    from keras_s2s.training import Recipe

    info = read_metadata(resolve_preset(name))["keras_s2s"]
    recipe = Recipe.from_dict(info["recipe"])
    sources, _ = recipe.task_data.scored_set(recipe.data["validation_split"])
    inputs = list(sources[:NUM_VALIDATION_INPUTS])
    card = info.get("model_card") or {}
    for example in card.get("examples", []):
        inputs.append(example["input"])
    over_long = " ".join([sources[0]] * 12)
    return inputs + ["", "  \t ", over_long]


def record(names):
    from keras_s2s.models import Seq2SeqLM

    recorded = {}
    for name in names:
        inputs = parity_inputs(name)
        model = Seq2SeqLM.from_preset(name)
        outputs = model.generate(inputs)
        recorded[name] = {
            "search": model.preset_search,
            "inputs": inputs,
            "outputs": [str(text) for text in outputs],
        }
        print(f"{name}: {len(inputs)} inputs recorded")
    return recorded


def main():
    from keras_s2s.presets import preset_names

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=OUTPUT_FILE)
    parser.add_argument("presets", nargs="*", help="default: every shipped preset")
    args = parser.parse_args()
    names = args.presets or preset_names()
    recorded = {}
    if os.path.isfile(args.output):
        with open(args.output, encoding="utf-8") as file:
            recorded = json.load(file)
    recorded.update(record(names))
    with open(args.output, "w", encoding="utf-8") as file:
        json.dump(recorded, file, indent=1, ensure_ascii=False, sort_keys=True)
        file.write("\n")


if __name__ == "__main__":
    main()
