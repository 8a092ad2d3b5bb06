"""Every bound on the work a spec may ask of kspec, once (documented in docs/language.md).

A spec is a program run at compile time: loops unroll, lists repeat, numbers grow. Each bound
below stops a hostile or mistaken spec with a diagnostic at the culprit, long before it could
exhaust the memory, the stack or the user's patience.
"""

from __future__ import annotations

MAX_DEPTH = 150  # nested brackets/blocks in one file; deeper would overflow the parser's walk
MAX_SYNTAX_ERRORS = 20  # each recovery re-parses the rest of the file: keep the error path cheap
MAX_ITEMS = 100_000  # longest list, tuple, range or string an expression may build
MAX_DIGITS = 301  # digits of an integer (10 ** 300 has 301): counts stay printable and exact
MAX_LAYERS = 200_000  # layer calls one model may unroll to
MAX_NESTING = 100  # blocks in blocks, models in models: deeper would exhaust Python's stack
MAX_WORK = 1_000_000  # statements run plus items built (one per 16) while checking one file
