"""`python -m keras_s2s.cli`: the `keras-s2s` command."""

import sys

from keras_s2s.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
