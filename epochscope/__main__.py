"""``python -m epochscope``: the command line (:mod:`epochscope.app.cli`)."""

import sys

from epochscope.app import main

sys.exit(main())
