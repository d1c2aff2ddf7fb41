"""Reading ``.npz`` bytes from many threads at once.

numpy parses each array's header with ``ast.literal_eval``, which CPython 3.11 does not make thread-safe:
concurrent calls fail now and then with "SystemError: AST constructor recursion depth mismatch" (CPython
gh-106905; seen when the page fetched four frames at once from one server process, and the frame request
answered 500). Every ``np.load`` of the project holds :data:`NPZ_LOCK` while it reads.
"""

import threading

NPZ_LOCK = threading.Lock()
