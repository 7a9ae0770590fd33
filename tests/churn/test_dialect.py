"""Dialect detection: separators, quoting, BOM, CRLF, decimal commas; failures say what they saw."""

from __future__ import annotations

from pathlib import Path

import pytest

from churn.dialect import read_table
from churn.errors import DataError


def _write(tmp_path: Path, text: str | bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_semicolon_decimal_comma_bom_crlf(tmp_path: Path) -> None:
    path = _write(tmp_path, "\ufeffid;charge;plan;Churn\r\n1;12,5;a;Yes\r\n2;7,25;b;No\r\n")
    table = read_table(path)
    assert (table.dialect.sep, table.dialect.decimal) == (";", ",")
    assert (table.dialect.encoding, table.dialect.line_end) == ("utf-8-sig", "CRLF")
    assert list(table.frame.columns) == ["id", "charge", "plan", "Churn"]
    assert table.frame["charge"].tolist() == ["12.5", "7.25"]


def test_quoted_fields_keep_their_separators(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name,plan,Churn\n"Smith, J",basic,No\n"Lee, K","pro, annual",Yes\n')
    table = read_table(path)
    assert table.dialect.sep == ","
    assert table.frame["name"].tolist() == ["Smith, J", "Lee, K"]
    assert table.frame["plan"].tolist() == ["basic", "pro, annual"]


def test_tab_and_pipe(tmp_path: Path) -> None:
    assert read_table(_write(tmp_path, "a\tb\n1\t2\n", "t.tsv")).dialect.sep == "\t"
    assert read_table(_write(tmp_path, "a|b|c\n1|2|3\n", "p.csv")).dialect.sep == "|"


def test_settings_override_detection(tmp_path: Path) -> None:
    path = _write(tmp_path, "a;b\n1,5;2\n")
    table = read_table(path, sep=";", decimal=".")
    assert table.frame["a"].tolist() == ["1,5"]


def test_inconsistent_rows_name_what_was_seen(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,b,c\n1,2\n3;4;5;6\n")
    with pytest.raises(DataError, match=r"cannot tell the separator.*with ',' the header \('a,b,c'\) "
                                        r"has 3 fields but line 2: 2, line 3: 1.*set data.sep"):
        read_table(path)


def test_latin1_file_names_byte_and_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, "city,Churn\nK\xf6ln,Yes\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not UTF-8: byte 0xf6 on line 2; set data.encoding"):
        read_table(path)
    assert read_table(path, encoding="latin-1").frame["city"].tolist() == ["Köln"]


def test_empty_and_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the file is empty"):
        read_table(_write(tmp_path, "\r\n\n", "e.csv"))
    with pytest.raises(DataError, match="no data rows"):
        read_table(_write(tmp_path, "a,b,Churn\n", "h.csv"))
