"""Bad input ends a command with one readable paragraph on stderr and exit code 2, no traceback.

`--debug` on the command line or HYDRA_FULL_ERROR=1 in the environment re-raises instead,
so the traceback is there when a developer wants it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

from churn.errors import DataError

EXIT_BAD_INPUT = 2
T = TypeVar("T")


def wants_traceback(argv: Sequence[str]) -> bool:
    """Whether the user asked for tracebacks (`--debug` or HYDRA_FULL_ERROR=1)."""
    return "--debug" in argv or os.environ.get("HYDRA_FULL_ERROR") == "1"


def take_debug_flag() -> list[str]:
    """The command line as given; `--debug` (ours, unknown to Hydra) is removed from sys.argv."""
    argv = list(sys.argv)
    if "--debug" in sys.argv:
        sys.argv.remove("--debug")
    return argv


def error_paragraph(err: BaseException) -> str:
    """`error: <message>` as one line (the terminal wraps it; grep and logs keep it whole)."""
    return "error: " + " ".join(str(err).split())


def run_reporting_bad_input(body: Callable[[], T], argv: Sequence[str],
                            errors: tuple[type[Exception], ...] = (DataError,)) -> T:
    """Run `body`; `errors` become the paragraph and exit code 2 unless tracebacks are wanted."""
    try:
        return body()
    except errors as err:
        if wants_traceback(argv):
            raise
        print(error_paragraph(err), file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
