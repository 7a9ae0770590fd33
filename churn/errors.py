"""DataError: a table or data setting that cannot be used as given; its message says where and why."""


class DataError(ValueError):
    """A churn table that cannot be used as given; the message names file, column, rows, fix."""


def did_you_mean(column: str, columns: list[str]) -> str:
    """' (did you mean 'X'?)' for the closest of `columns`, else the list of columns."""
    import difflib

    close = difflib.get_close_matches(column, columns, n=1, cutoff=0.6)
    if not close:
        close = [c for c in columns if c.lower() == column.lower()]
    return f" (did you mean {close[0]!r}?)" if close else f"; its columns are {columns}"
