import sys

from lrstats.cli import main

sys.exit(main())
