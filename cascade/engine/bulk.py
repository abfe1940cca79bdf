"""Bulk reads and writes: JSON for the store's columns, IN lists under the databases'
parameter limits, and executemany straight to the driver for the tick's and deploy's rows."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Column, Connection, Label, Table, Text, exc, type_coerce


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
    """Insert `rows` (tuples of the `names` columns, JSON ones already `dumps`ed), in order, in
    one executemany straight to the driver; on PostgreSQL by COPY (`_copy`).

    The tick's bulk writes go this way: SQLAlchemy's per-row parameter processing costs
    more than the database's work on rows this small."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    if conn.dialect.name == "postgresql":
        _copy(conn, f"COPY {quote(table.name)} ({columns}) FROM STDIN", rows)
        return
    sql = (
        f"INSERT INTO {quote(table.name)} ({columns}) "
        f"VALUES ({', '.join([_MARKS[conn.dialect.paramstyle]] * len(names))})"
    )
    conn.exec_driver_sql(sql, rows)


def update_rows(
    conn: Connection, table: Table, names: Sequence[str], key: str, rows: list[tuple[Any, ...]]
) -> None:
    """Set the `names` columns of each row whose `key` is the tuple's last value (see
    `insert_rows`); a key given twice takes its last row."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    if conn.dialect.name == "postgresql":
        last = list({row[-1]: row for row in rows}.values())  # (one statement: each row once)
        unnest, values = _columns(conn, table, (*names, key), last)
        sql = (
            f"UPDATE {quote(table.name)} AS t SET {', '.join(f'{quote(n)} = v.{quote(n)}' for n in names)} "
            f"FROM {unnest} AS v({', '.join(quote(n) for n in (*names, key))}) "
            f"WHERE t.{quote(key)} = v.{quote(key)}"
        )
        conn.exec_driver_sql(sql, values)
        return
    mark = _MARKS[conn.dialect.paramstyle]
    sql = (
        f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(n)} = {mark}' for n in names)} "
        f"WHERE {quote(key)} = {mark}"
    )
    conn.exec_driver_sql(sql, rows)


def _copy(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL's COPY of `rows`, in the caller's transaction, on the driver's connection: row
    by row, even pipelined, the server's work per INSERT was a third of a national simulation
    there (its 1.4 M event and outbox rows: 5.9 s by COPY, 10.5 s over arrays, more by
    executemany). SQLAlchemy has no COPY: a driver error is raised as SQLAlchemy raises its
    statements' (IntegrityError, OperationalError: what the commands and the web tell the
    operator), a lost connection invalidated as it would be."""
    fairy = conn.connection
    driver, dbapi = fairy.driver_connection, conn.dialect.loaded_dbapi
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as error:
        lost = conn.dialect.is_disconnect(error, fairy, None)
        if lost:
            conn.invalidate(error)
        raise exc.DBAPIError.instance(
            sql, None, error, dbapi.Error, connection_invalidated=lost, dialect=conn.dialect
        ) from error


def _columns(
    conn: Connection, table: Table, names: Sequence[str], rows: list[tuple[Any, ...]]
) -> tuple[str, tuple[list[Any], ...]]:
    """PostgreSQL: `rows` as one array per column (binary: psycopg's text arrays escape each
    string by regular expression), and `unnest(%b::TYPE[], ...)` that reads them back as rows:
    one statement the server runs as a set, as `_copy` does for inserts."""
    types = (table.c[n].type.compile(dialect=conn.dialect) for n in names)
    unnest = f"unnest({', '.join(f'%b::{t}[]' for t in types)})"
    return unnest, tuple(list(column) for column in zip(*rows, strict=True))


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
