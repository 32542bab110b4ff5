"""Rewrites the model cards of shipped presets from their zoo recipes.

For each preset, the recipe's `model_card` section (domain, strengths,
weaknesses, an out-of-domain example) is recorded in the preset's
`metadata.json`; the card's examples (the first validation input and the
out-of-domain input) are decoded with the preset's recorded search, as
`Seq2SeqLM.from_preset(name).generate()` does; `README.md` is rendered
again with `keras_s2s.training.format_model_card` and the checksums are
recomputed. Weights, configs and scores are not touched.

    KERAS_BACKEND=tensorflow KERAS_S2S_DATA_DIR=../shared/data \\
        python tools/refresh_model_cards.py [NAME ...]
"""

import argparse
import json
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def refresh(name):
    from keras_s2s.models import Seq2SeqLM
    from keras_s2s.presets import PRESETS_DIR
    from keras_s2s.presets import read_metadata
    from keras_s2s.presets import write_metadata
    from keras_s2s.training import Recipe
    from keras_s2s.training import format_model_card

    preset_dir = os.path.join(PRESETS_DIR, name)
    metadata = read_metadata(preset_dir)
    info = metadata["keras_s2s"]
    with open(os.path.join(REPO_ROOT, "zoo", f"{name}.json"), encoding="utf-8") as file:
        card = json.load(file).get("model_card") or {}
    recipe_config = dict(info["recipe"], model_card=card)
    recipe = Recipe.from_dict(recipe_config)
    model = Seq2SeqLM.from_preset(name)
    in_domain = info["example"]["input"]
    inputs = [in_domain] + (
        [card["out_of_domain_example"]] if card.get("out_of_domain_example") else []
    )
    outputs = model.generate(inputs)
    examples = [{"input": in_domain, "output": outputs[0], "kind": "in-domain"}]
    if len(inputs) > 1:
        examples.append({"input": inputs[1], "output": outputs[1], "kind": "out-of-domain"})
    info["recipe"] = recipe.get_config()
    info["example"] = {"input": in_domain, "output": outputs[0]}
    info["model_card"] = {
        **{key: card[key] for key in ("domain", "strengths", "weaknesses") if key in card},
        "examples": examples,
    }
    text = format_model_card(name, info, info["recipe"])
    with open(os.path.join(preset_dir, "README.md"), "w", encoding="utf-8") as file:
        file.write(text)
    write_metadata(preset_dir, metadata)
    for example in examples:
        print(f"{name} [{example['kind']}] {example['input']!r} -> {example['output']!r}")


def main():
    from keras_s2s.presets import preset_names

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("presets", nargs="*", help="default: every shipped preset")
    for name in parser.parse_args().presets or preset_names():
        refresh(name)


if __name__ == "__main__":
    main()
