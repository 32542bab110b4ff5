"""The `keras-s2s` command line: translate, evaluate, train, presets,
plot-attention, export and serve.

Installed as the `keras-s2s` console script; also `python -m keras_s2s.cli`.
From Python, `keras_s2s.cli.main.main(["translate", "A dog runs."])` runs a
command and returns its exit status.
"""
