"""``python -m keras_fi``: the ``keras-fi`` command."""

import sys

from keras_fi.cli import main

if __name__ == "__main__":
    sys.exit(main())
