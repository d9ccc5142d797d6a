"""The apps' data: one in-memory SQLite database behind ``content://`` URIs.

Android's content providers hand ``--where`` and ``--sort`` to SQLite, so this store does
too: a task's ``content query --where "title='Shopping'"`` means exactly what it means on a
phone. A URI is served by a view over its app's table, which is how one table answers under
two URIs with different column names (``data1`` and ``number`` for a phone number). The apps
read and write the same tables, so what a task seeds shows up in the UI and what the UI saves
shows up in queries.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ContentStore", "ProviderError", "ProviderUri", "Table", "Value"]

Value = str | int | float | None


class ProviderError(Exception):
    """A provider refused a request; the message reads like the Java exception a phone shows."""

    def __init__(self, authority: str, message: str) -> None:
        super().__init__(message)
        self.authority = authority


@dataclass(frozen=True)
class ProviderUri:
    """A ``content://`` URI that serves a table, with extra column names it accepts.

    ``select`` replaces the plain view over the table (a join, a filter), ``insert=False``
    refuses inserts as a real provider refuses them on that URI, and ``required`` lists the
    columns an insert must bind.
    """

    uri: str
    aliases: Mapping[str, str] = field(default_factory=dict)   # alias -> table column
    select: str | None = None
    insert: bool = True
    required: tuple[str, ...] = ()

    @property
    def authority(self) -> str:
        return self.uri.removeprefix("content://").split("/", 1)[0]


@dataclass(frozen=True)
class Table:
    """One app's table: its columns besides ``_id`` (name, SQLite declaration) and its URIs."""

    name: str
    package: str
    columns: tuple[tuple[str, str], ...]
    uris: tuple[ProviderUri, ...]
    extra_sql: tuple[str, ...] = ()     # triggers and views run once the table exists

    @property
    def column_names(self) -> tuple[str, ...]:
        return ("_id", *(name for name, _ in self.columns))


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Route:
    table: Table
    view: str
    view_columns: tuple[str, ...]
    aliases: Mapping[str, str]
    authority: str
    row_id: int | None
    provider: ProviderUri


class ContentStore:
    """The tables of every app, and the URIs that serve them."""

    def __init__(self, tables: Iterable[Table]) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._tables: dict[str, Table] = {}
        self._uris: dict[str, tuple[Table, ProviderUri, str, tuple[str, ...]]] = {}
        for table in tables:
            self._create(table)

    def _create(self, table: Table) -> None:
        self._tables[table.name] = table
        columns = ", ".join(f"{_quote(name)} {decl}" for name, decl in table.columns)
        self._db.execute(f"CREATE TABLE {_quote(table.name)} "
                         f"(_id INTEGER PRIMARY KEY AUTOINCREMENT, {columns})")
        for sql in table.extra_sql:
            self._db.execute(sql)
        for number, provider in enumerate(table.uris):
            view = f"{table.name}__uri{number}"
            if provider.select is not None:
                self._db.execute(f"CREATE VIEW {_quote(view)} AS {provider.select}")
            else:
                selected = [_quote(name) for name in table.column_names]
                selected += [f"{_quote(real)} AS {_quote(alias)}"
                             for alias, real in provider.aliases.items()]
                self._db.execute(f"CREATE VIEW {_quote(view)} AS SELECT {', '.join(selected)} "
                                 f"FROM {_quote(table.name)}")
            cursor = self._db.execute(f"SELECT * FROM {_quote(view)} LIMIT 0")
            columns = tuple(column[0] for column in cursor.description)
            self._uris[provider.uri.rstrip("/")] = (table, provider, view, columns)

    # ----- what the `content` command uses

    def _route(self, uri: str) -> _Route:
        authority = uri.removeprefix("content://").split("/", 1)[0]
        if not uri.startswith("content://"):
            raise ProviderError(authority, f"java.lang.IllegalArgumentException: "
                                           f"Unsupported uri: {uri}")
        base, row_id = uri.rstrip("/"), None
        if base not in self._uris:
            head, _, tail = base.rpartition("/")
            if tail.isdigit() and head in self._uris:
                base, row_id = head, int(tail)
            elif not any(known.startswith(f"content://{authority}/") for known in self._uris):
                raise ProviderError(authority, "java.lang.IllegalArgumentException: Unknown "
                                               f"authority {authority}")
            else:
                raise ProviderError(authority, f"java.lang.IllegalArgumentException: Unknown "
                                               f"URI {uri}")
        table, provider, view, columns = self._uris[base]
        return _Route(table, view, columns, provider.aliases, authority, row_id, provider)

    def _selection(self, route: _Route, where: str | None) -> str:
        clauses = [f"({where})"] if where else []
        if route.row_id is not None:
            clauses.append(f"_id = {route.row_id}")
        return (" WHERE " + " AND ".join(clauses)) if clauses else ""

    def _execute(self, route: _Route, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, tuple(params))
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise ProviderError(route.authority, "android.database.sqlite.SQLiteException: "
                                f"{exc} (code 1 SQLITE_ERROR): , while compiling: {sql}") from exc

    def query(self, uri: str, projection: list[str] | None = None, where: str | None = None,
              sort: str | None = None) -> tuple[list[str], list[tuple[Value, ...]]]:
        """Column names and rows, as ``content query`` prints them."""
        with self._lock:
            route = self._route(uri)
            columns = projection or list(route.view_columns)
            for column in columns:
                if column not in route.view_columns:
                    raise ProviderError(route.authority, "java.lang.IllegalArgumentException: "
                                                         f"Invalid column {column}")
            sql = (f"SELECT {', '.join(_quote(c) for c in columns)} FROM {_quote(route.view)}"
                   + self._selection(route, where) + (f" ORDER BY {sort}" if sort else ""))
            return columns, self._execute(route, sql).fetchall()

    def _columns(self, route: _Route, values: Mapping[str, Value]) -> dict[str, Value]:
        real: dict[str, Value] = {}
        for name, value in values.items():
            column = route.aliases.get(name, name)
            if column not in route.table.column_names:
                raise ProviderError(route.authority, "java.lang.IllegalArgumentException: "
                                                     f"Unknown column {name}")
            real[column] = value
        return real

    def insert(self, uri: str, values: Mapping[str, Value]) -> int:
        """Add a row through a URI; returns its ``_id``."""
        with self._lock:
            route = self._route(uri)
            if not route.provider.insert:
                raise ProviderError(route.authority, "java.lang.UnsupportedOperationException: "
                                                     f"Unknown uri: {uri}")
            columns = self._columns(route, values)
            for needed in route.provider.required:
                if columns.get(needed) is None:
                    raise ProviderError(route.authority, "java.lang.IllegalArgumentException: "
                                                         f"{needed} is required")
            if not columns:
                sql = f"INSERT INTO {_quote(route.table.name)} DEFAULT VALUES"
            else:
                sql = (f"INSERT INTO {_quote(route.table.name)} "
                       f"({', '.join(_quote(c) for c in columns)}) "
                       f"VALUES ({', '.join('?' for _ in columns)})")
            cursor = self._execute(route, sql, columns.values())
            return int(cursor.lastrowid or 0)

    def update(self, uri: str, values: Mapping[str, Value], where: str | None = None) -> int:
        """Change the rows a selection picks; returns how many."""
        with self._lock:
            route = self._route(uri)
            columns = self._columns(route, values)
            if not columns:
                return 0
            assignments = ", ".join(f"{_quote(c)} = ?" for c in columns)
            sql = (f"UPDATE {_quote(route.table.name)} SET {assignments} WHERE _id IN "
                   f"(SELECT _id FROM {_quote(route.view)}{self._selection(route, where)})")
            return self._execute(route, sql, columns.values()).rowcount

    def delete(self, uri: str, where: str | None = None) -> int:
        """Remove the rows a selection picks; returns how many."""
        with self._lock:
            route = self._route(uri)
            sql = (f"DELETE FROM {_quote(route.table.name)} WHERE _id IN "
                   f"(SELECT _id FROM {_quote(route.view)}{self._selection(route, where)})")
            return self._execute(route, sql).rowcount

    # ----- what the apps use

    def rows(self, table: str, order_by: str = "_id") -> list[dict[str, Value]]:
        """Every row of an app's table, in the order its list shows them."""
        with self._lock:
            cursor = self._db.execute(f"SELECT * FROM {_quote(table)} ORDER BY {order_by}")
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def get(self, table: str, row_id: int) -> dict[str, Value] | None:
        with self._lock:
            cursor = self._db.execute(f"SELECT * FROM {_quote(table)} WHERE _id = ?", (row_id,))
            row = cursor.fetchone()
            return dict(zip([c[0] for c in cursor.description], row)) if row else None

    def add(self, table: str, **values: Value) -> int:
        with self._lock:
            names = ", ".join(_quote(name) for name in values)
            marks = ", ".join("?" for _ in values)
            cursor = self._db.execute(f"INSERT INTO {_quote(table)} ({names}) VALUES ({marks})",
                                      tuple(values.values()))
            return int(cursor.lastrowid or 0)

    def change(self, table: str, row_id: int, **values: Value) -> None:
        with self._lock:
            assignments = ", ".join(f"{_quote(name)} = ?" for name in values)
            self._db.execute(f"UPDATE {_quote(table)} SET {assignments} WHERE _id = ?",
                             (*values.values(), row_id))

    def reset(self, package: str) -> None:
        """Empty every table of ``package`` and restart its ids, as ``pm clear`` does."""
        with self._lock:
            for table in self._tables.values():
                if table.package == package:
                    self._db.execute(f"DELETE FROM {_quote(table.name)}")
                    self._db.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table.name,))
