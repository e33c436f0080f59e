"""``python -m bondtape``: the command line, as the ``bondtape`` script runs it."""

import sys

from jobs.cli import main

sys.exit(main())
