"""Trains a preset from a zoo recipe and writes the preset directory.

    KERAS_BACKEND=jax python tools/train.py zoo/multi30k_en_de_gru_bahdanau.json \
        --output-dir keras_s2s/presets/multi30k_en_de_gru_bahdanau

The same as `keras-s2s train` (see `keras_s2s/cli/train_command.py`, and
`--help`). Checkpoints go to `~/.cache/keras-s2s/runs/<recipe name>`
(`--checkpoint-dir`) after every epoch; run the same command again to resume
an interrupted run. The preset directory must not exist (`--overwrite`
replaces it). For a smoke test: `--max-train-examples 500 --max-epochs 1
--checkpoint-dir /tmp/smoke`.
"""

import sys

from keras_s2s.cli.train_command import main

if __name__ == "__main__":
    sys.exit(main(prog="tools/train.py"))
