"""``python -m jobs.cli``: how the daemon and the demo start their children."""

import sys

from jobs.cli.dispatch import main

sys.exit(main())
