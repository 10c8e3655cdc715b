import sys

from keras_fi.cli import main

sys.exit(main())
