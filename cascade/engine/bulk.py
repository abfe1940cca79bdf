"""Bulk reads and writes: JSON for the store's columns, IN lists under the databases'
parameter limits, and executemany straight to the driver for the tick's and deploy's rows."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Column, Connection, Label, Table, Text, type_coerce


def dumps(value: Any) -> str:
    """JSON for the store's JSON columns (orjson: a tick writes hundreds of thousands of them)."""
    return orjson.dumps(value).decode()


def as_text(column: Column[Any]) -> Label[Any]:
    """A JSON column selected as its text, for `loads`: SQLAlchemy's JSON result processing
    (the standard library's decoder, a call per value) cost a tick more than its query did."""
    return type_coerce(column, Text).label(column.name)


def loads(value: Any) -> Any:
    """A JSON column's value selected `as_text`: decoded by orjson (PostgreSQL's driver hands
    it over decoded already; SQL NULL is None, as JSON null is)."""
    return orjson.loads(value) if isinstance(value, str) else value


# PostgreSQL takes at most 65,535 parameters in one statement (SQLite 32,766): every IN list
# built from data (a page's notice keys, a deploy's archived units) goes through `chunked`.
IN_LIST = 1000


def chunked(items: Iterable[Any], size: int = IN_LIST) -> Iterator[list[Any]]:
    """`items` in lists of at most `size`, for IN (...) lists under the databases' parameter limits."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_rows(conn: Connection, table: Table, names: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert `rows` (tuples of the `names` columns, JSON ones already `dumps`ed) in one
    executemany straight to the driver.

    The tick's bulk writes go this way: SQLAlchemy's per-row parameter processing costs
    more than the database's work on rows this small."""
    if rows:
        quote = conn.dialect.identifier_preparer.quote
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
            f"VALUES ({', '.join([_MARKS[conn.dialect.paramstyle]] * len(names))})"
        )
        conn.exec_driver_sql(sql, rows)


def update_rows(
    conn: Connection, table: Table, names: Sequence[str], key: str, rows: list[tuple[Any, ...]]
) -> None:
    """Set the `names` columns of each row whose `key` is the tuple's last value (see `insert_rows`)."""
    if rows:
        quote, mark = conn.dialect.identifier_preparer.quote, _MARKS[conn.dialect.paramstyle]
        sql = (
            f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(n)} = {mark}' for n in names)} "
            f"WHERE {quote(key)} = {mark}"
        )
        conn.exec_driver_sql(sql, rows)


def insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows`, dicts with the same keys, through `insert_rows`. JSON columns are
    serialized here, None as JSON null as SQLAlchemy's JSON type does."""
    if rows:
        names = list(rows[0])
        json = [n for n, name in enumerate(names) if isinstance(table.c[name].type, JSON)]
        values = operator.itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
        tuples: list[tuple[Any, ...]] = [values(row) for row in rows]
        if json:
            for n, row in enumerate(tuples):
                cells = list(row)
                for j in json:
                    cells[j] = dumps(cells[j])
                tuples[n] = tuple(cells)
        insert_rows(conn, table, names, tuples)
