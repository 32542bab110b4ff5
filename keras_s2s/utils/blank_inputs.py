"""One rule for empty and whitespace-only inputs, in Python and in graphs.

An input that is empty or holds only whitespace has nothing to translate:
`Seq2SeqLM.generate()`, `keras-s2s translate`, the exported SavedModel and
the REST server all answer `""` for it (score 0.0 where scores are given),
without running the model on it. "Whitespace" is Python's `str.isspace()`
set (ASCII whitespace, the Unicode space separators, line and paragraph
separators, U+0085, U+001C-U+001F), the same in Python and in the
TensorFlow graph (`BLANK_REGEX`, for `tf.strings.regex_full_match`).
"""

# RE2 syntax: \s is [\t\n\f\r ]; \pZ is the Unicode separators (Zs, Zl, Zp).
BLANK_REGEX = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\pZ]*"


def is_blank(text):
    """Whether `text` (a `str`, or UTF-8 `bytes`) is empty or only whitespace.

    Example:
    >>> is_blank(""), is_blank(" \\t\\u3000"), is_blank(" a ")
    (True, True, False)
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return not text.strip()
