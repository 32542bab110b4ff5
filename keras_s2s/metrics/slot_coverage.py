"""How many slot values of an E2E meaning representation an output mentions."""

import re

_SLOT = re.compile(r"\s*([^\[\],]+?)\s*\[([^\]]*)\]\s*")
# Slots whose value is a phrase an output can contain word for word.
# `familyFriendly[yes/no]` is expressed as "kid friendly", "not for
# families", ..., so no literal check applies to it.
LEXICAL_SLOTS = (
    "name",
    "eatType",
    "food",
    "priceRange",
    "customer rating",
    "area",
    "near",
)


def parse_meaning_representation(mr):
    """Splits `"name[The Eagle], food[French]"` into `[("name", "The Eagle"), ...]`.

    Raises a ValueError for text that is not a list of `slot[value]` items.

    Example:

    >>> parse_meaning_representation("name[The Eagle], eatType[pub]")
    [('name', 'The Eagle'), ('eatType', 'pub')]
    """
    if not isinstance(mr, str):
        raise ValueError(f"Expected a meaning representation string. Received: {mr!r}")
    items = []
    for part in mr.split("],"):
        part = part if part.endswith("]") else part + "]"
        match = _SLOT.fullmatch(part)
        if match is None:
            raise ValueError(
                "Expected a meaning representation like 'name[The Eagle], "
                f"food[French]'. Received: {mr!r}"
            )
        items.append((match.group(1), match.group(2)))
    return items


def slot_value_coverage(outputs, meaning_representations, slots=LEXICAL_SLOTS):
    """Share of the input's slot values that appear word for word in the output.

    For each output, every `slot[value]` of its meaning representation with
    `slot` in `slots` counts once; it is covered when the value occurs in
    the output (case-insensitive, on word boundaries). The slot error rate
    reported with it is `100 - coverage`: values left out or changed
    (paraphrases such as "expensive" for "more than £30" count as misses,
    so human references score below 100 too).

    Args:
        outputs: list of generated texts, one per MR.
        meaning_representations: list of MR strings, aligned with outputs.
        slots: slot names to check (default: all but `familyFriendly`).

    Returns:
        float, percent of slot values covered (0-100).

    Example:

    >>> slot_value_coverage(
    ...     ["The Eagle is a pub."], ["name[The Eagle], eatType[pub], food[French]"]
    ... )
    66.66666666666667
    """
    if isinstance(outputs, str) or isinstance(meaning_representations, str):
        raise ValueError("Expected outputs and meaning_representations to be lists.")
    outputs, mrs = list(outputs), list(meaning_representations)
    if len(outputs) != len(mrs):
        raise ValueError(
            f"Expected one meaning representation per output: got {len(outputs)} "
            f"outputs and {len(mrs)} meaning representations."
        )
    covered = total = 0
    for output, mr in zip(outputs, mrs):
        text = output.lower()
        for slot, value in parse_meaning_representation(mr):
            if slot not in slots or not value:
                continue
            total += 1
            pattern = r"(?<!\w)" + re.escape(value.lower()) + r"(?!\w)"
            covered += re.search(pattern, text) is not None
    if total == 0:
        raise ValueError("The meaning representations hold no slot values to check.")
    return 100.0 * covered / total
