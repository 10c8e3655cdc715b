"""``python -m keras_fi``: the ``keras-fi`` command."""

from keras_fi.cli import console_main

if __name__ == "__main__":
    console_main()
