"""``python -m epochscope``: the command line (:mod:`epochscope.app.cli`)."""

import sys

from epochscope.app.cli import main

sys.exit(main())
