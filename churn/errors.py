"""DataError: a table or data setting that cannot be used as given; its message says where and why."""


class DataError(ValueError):
    """A churn table that cannot be used as given; the message names file, column, rows, fix."""


def did_you_mean(column: str, columns: list[str]) -> str:
    """' (did you mean 'X'?)' for the closest of `columns`, then the columns themselves."""
    import difflib

    lowered = column.lower()
    close = [c for c in columns if c.lower() == lowered]
    close = close or difflib.get_close_matches(column, columns, n=1, cutoff=0.75)
    close = close or [c for c in columns if lowered in c.lower() or c.lower() in lowered]
    shown = columns if len(columns) <= 30 else [*columns[:30], "..."]
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; its columns are {shown}"
