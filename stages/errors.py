"""How a stage fails: one clear line on stderr and a non-zero exit, never a traceback for bad input."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable


class StageError(Exception):
    """A problem with a stage's inputs or params that the user can fix."""


def exits_cleanly(main: Callable[[], None]) -> Callable[[], None]:
    """Turn a StageError raised by a stage's main into `error: <message>` and exit status 1."""

    @functools.wraps(main)
    def wrapper() -> None:
        try:
            main()
        except StageError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(1)

    return wrapper
