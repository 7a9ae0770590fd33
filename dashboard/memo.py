"""Memoization of values derived from a run state, valid until the run's next event."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from dashboard.run_state import RunState

T = TypeVar("T")


def per_run_version(fn: Callable[..., T]) -> Callable[..., T]:
    """Memoize fn(run, *args) until `run.version` changes (one slot per function + arguments)."""

    @functools.wraps(fn)
    def wrapper(run: RunState, *args: Any) -> T:
        memo: dict[Any, tuple[int, Any]] = run.__dict__.setdefault("_memo", {})
        key = (fn.__module__, fn.__qualname__, args)  # same-named builders of two modules
        hit = memo.get(key)
        if hit is not None and hit[0] == run.version:
            return hit[1]
        value = fn(run, *args)
        memo[key] = (run.version, value)
        return value

    def is_fresh(run: RunState, *args: Any) -> bool:
        """True if fn(run, *args) would come from the memo (no computation)."""
        hit = run.__dict__.get("_memo", {}).get((fn.__module__, fn.__qualname__, args))
        return hit is not None and hit[0] == run.version

    wrapper.is_fresh = is_fresh  # type: ignore[attr-defined]
    return wrapper
