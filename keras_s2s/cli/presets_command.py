"""`keras-s2s presets`: the shipped presets as a table."""

import json
import os

from keras_s2s.cli.cli_error import CLIError

COLUMNS = ("name", "task", "languages", "domain", "params", "size", "headline score")
DOMAIN_WIDTH = 40

EXAMPLES = """\
examples:
  keras-s2s presets
  keras-s2s presets --format markdown
  keras-s2s presets --format json
  keras-s2s presets --presets-dir ./my_presets
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "presets",
        parents=parents,
        help="list the shipped presets (name, task, languages, domain, params, size, score)",
        description="List the presets shipped with keras-s2s (they load offline by "
        "name), with their task, languages, the domain of their training data, "
        "parameter count, size on disk and headline score (metric and split). "
        "The table shortens the domain; --format markdown or json give it whole, "
        "and each preset's model card says what it is good and bad at.",
        epilog=EXAMPLES,
    )
    parser.add_argument("--format", choices=("table", "markdown", "json"),
                        default="table", help="output format (default: table)")
    parser.add_argument("--presets-dir", default=None, metavar="DIR",
                        help="list the presets in DIR (one sub-directory each) "
                        "instead of the shipped ones")
    parser.set_defaults(run=run, uses_backend=False)
    return parser


def format_params(params):
    """`12.35 M` for 12,345,678, `5.4 K` for 5,400; `-` if unknown."""
    if not params:
        return "-"
    if params >= 1e6:
        return f"{params / 1e6:.2f} M"
    if params >= 1e3:
        return f"{params / 1e3:.1f} K"
    return str(params)


def format_size(size_bytes):
    """`3.1 MiB`."""
    return f"{size_bytes / 2**20:.1f} MiB"


def format_score(score):
    """`35.20 multi30k_bleu (test_2016_flickr)`; `-` if none."""
    if not score:
        return "-"
    return (
        f"{score.get('value', float('nan')):.2f} {score.get('metric', '')} "
        f"({score.get('split', '')})"
    )


def short_domain(domain, width=DOMAIN_WIDTH):
    """The head of a domain description: `image captions` for `image captions: ...`."""
    if not domain:
        return "-"
    for separator in (":", ";", " ("):
        domain = domain.split(separator)[0]
    domain = domain.strip()
    return domain if len(domain) <= width else domain[: width - 1].rstrip() + "…"


def preset_rows(presets, full_domain=False):
    """One tuple of `COLUMNS` strings per entry of `list_presets()`."""
    return [
        (
            preset["name"],
            preset["task"] or "-",
            preset["languages"] or "-",
            (preset.get("domain") or "-") if full_domain else short_domain(preset.get("domain")),
            format_params(preset["params"]),
            format_size(preset["size_bytes"]),
            format_score(preset["headline_score"]),
        )
        for preset in presets
    ]


def format_table(rows):
    """Columns aligned with spaces; numbers right-aligned."""
    right = {COLUMNS.index("params"), COLUMNS.index("size")}
    widths = [max(len(str(r[i])) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]

    def line(row):
        cells = [
            str(cell).rjust(width) if i in right else str(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([line(COLUMNS), line(["-" * w for w in widths]), *map(line, rows)])


def format_markdown(rows):
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "| --- | --- | --- | --- | ---: | ---: | --- |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def run(args):
    from keras_s2s.presets import list_presets

    if args.presets_dir is not None and not os.path.isdir(args.presets_dir):
        raise CLIError(f"presets directory '{args.presets_dir}' does not exist.")
    presets = list_presets(args.presets_dir)
    if args.format == "json":
        print(json.dumps(presets, indent=2))
        return 0
    if not presets:
        print(
            f"No presets in '{args.presets_dir}'."
            if args.presets_dir
            else "No presets are shipped with this installation of keras-s2s."
        )
        return 0
    markdown = args.format == "markdown"
    rows = preset_rows(presets, full_domain=markdown)
    print(format_markdown(rows) if markdown else format_table(rows))
    return 0
