"""The result type of the corpus-level text metrics."""

import typing


class MetricResult(typing.NamedTuple):
    """A corpus score with the string that says how it was computed.

    Attributes:
        score: float, the corpus score (BLEU and chrF are 0-100).
        signature: the sacreBLEU signature (`nrefs:1|case:mixed|eff:no|
            tok:13a|smooth:exp|version:2.x`), to report next to the score.
    """

    score: float
    signature: str
