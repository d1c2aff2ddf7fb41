"""``python -m epochscope``: the command line (:mod:`epochscope.cli`)."""

import sys

from epochscope.cli import main

sys.exit(main())
