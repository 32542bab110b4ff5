"""Prints the shipped presets as a table: `python -m keras_s2s.presets`."""

from keras_s2s.presets.preset_registry import list_presets


def format_presets_table(presets):
    """A Markdown table of `list_presets()` entries."""
    lines = [
        "| name | task | languages | params | size | headline score |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    for preset in presets:
        score = preset["headline_score"] or {}
        headline = (
            f"{score.get('value', float('nan')):.2f} {score.get('metric', '')} "
            f"({score.get('split', '')})"
            if score
            else "-"
        )
        params = preset["params"]
        lines.append(
            f"| {preset['name']} | {preset['task'] or '-'} | "
            f"{preset['languages'] or '-'} | "
            f"{f'{params / 1e6:.2f} M' if params else '-'} | "
            f"{preset['size_bytes'] / 2**20:.1f} MiB | {headline} |"
        )
    return "\n".join(lines)


def main():
    presets = list_presets()
    if not presets:
        print("No presets are shipped with this installation of keras-s2s.")
        return
    print(format_presets_table(presets))


if __name__ == "__main__":
    main()
