"""`import db`: SQL on the operator's database (SQLite in --data-dir, or --db postgresql://).

Strategy. The functions check the SQL text and the parameters (only nil, bool, int, float,
string and bytes, only as `?` placeholders, counted by backends/sqltext.py so a wrong count
is the script's ValueError before the database sees it), then hand one statement to the
backend (backends/__init__.py `open_db`) through `backends.guarded`, which bounds the wait
and makes failures catchable: BackendError (unreachable, busy, too slow) or DbError (what
the database refused, in its own words). Rows become fresh maps of column -> value, each
charged to the request's memory budget before it is built; more than --db-max-rows rows is
a LimitError. `transaction(fn)` runs the script function `fn` with every db call inside it
on one connection in one transaction: committed when `fn` returns, rolled back when it
throws (or hits a limit), and `fn`'s value is returned.
"""
from __future__ import annotations

import sys
from typing import Any

from rtserve.lang import limits
from rtserve.lang.errors import LimitError, ScriptError
from rtserve.lang.values import Module, type_name

from . import _args
from .backends import DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT, guarded, open_db, setting
from .backends.sqltext import placeholders

MAX_SQL = 100_000
_PARAM_TYPES = (type(None), bool, int, float, str, bytes)
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _sql(fname: str, sql) -> str:
    if type(sql) is not str:
        raise ScriptError("TypeError", f"db.{fname}(): sql must be a string, not {type_name(sql)}")
    if not sql.strip():
        raise ScriptError("ValueError", f"db.{fname}(): sql is empty")
    if len(sql) > MAX_SQL:
        raise ScriptError("ValueError", f"db.{fname}(): sql is longer than {MAX_SQL:,} characters")
    return _args.utf8(f"db.{fname}", "sql", sql)


def _params(fname: str, sql: str, params: tuple) -> tuple:
    for i, p in enumerate(params, 1):
        if type(p) not in _PARAM_TYPES:
            raise ScriptError("TypeError", f"db.{fname}(): parameter {i} must be nil, bool, int, "
                                           f"float, string or bytes, not {type_name(p)}")
        if type(p) is str:
            _args.utf8(f"db.{fname}", f"parameter {i}", p)
        if type(p) is int and not _INT64[0] <= p <= _INT64[1]:
            raise ScriptError("ValueError", f"db.{fname}(): parameter {i} does not fit in 64 bits")
    expected = placeholders(sql)
    if expected != len(params):
        raise ScriptError("ValueError", f"db.{fname}(): the SQL has {expected} ? placeholder"
                                        f"{'' if expected == 1 else 's'} but {len(params)} "
                                        f"parameter{'' if len(params) == 1 else 's'} "
                                        f"{'was' if len(params) == 1 else 'were'} given")
    limits.charge(len(sql) // 64 + len(params) + 1)
    return params


def _size(value) -> int:
    t = type(value)
    if t is str or t is bytes:
        return len(value) + 48
    return 32


def module(config: Any) -> Module:
    backend = open_db(config)
    timeout = setting(config, "backend_timeout", DEFAULT_TIMEOUT)
    max_rows = setting(config, "db_max_rows", DEFAULT_MAX_ROWS)
    convert = backend.to_script  # the driver's values as script values, or None

    def rows_of(fname: str, result) -> list:
        if len(result.rows) > max_rows:
            raise LimitError(f"db.{fname}(): the query returned more than {max_rows:,} rows "
                             "(--db-max-rows)")
        columns = result.columns
        # a row map's own size (CPython sizes a map's table by its keys, the same for every row
        # of a result) and its slot in the list
        row_bytes = sys.getsizeof(dict.fromkeys(columns)) + limits.GROWN_SLOT_BYTES
        out = []
        for row in result.rows:
            limits.allocate(row_bytes + sum(_size(v) for v in row))
            limits.charge(len(columns) + 1)
            if convert is not None:
                row = [convert(v) for v in row]
            out.append(dict(zip(columns, row)))
        return out

    def query(sql, *params):
        sql = _sql("query", sql)
        _params("query", sql, params)
        result = guarded("db.query()", lambda wait: backend.run(sql, params, max_rows, wait), timeout)
        return rows_of("query", result)

    def one(sql, *params):
        sql = _sql("one", sql)
        _params("one", sql, params)
        result = guarded("db.one()", lambda wait: backend.run(sql, params, max_rows, wait), timeout)
        if not result.rows:
            return None
        result.rows = result.rows[:1]
        return rows_of("one", result)[0]

    def exec_(sql, *params):
        sql = _sql("exec", sql)
        _params("exec", sql, params)
        result = guarded("db.exec()", lambda wait: backend.run(sql, params, max_rows, wait), timeout)
        last_id = result.last_id
        if convert is not None:
            last_id = convert(last_id)
        limits.allocate(128)
        return {"rows": max(0, result.rowcount), "last_id": last_id}

    def transaction(fn):
        if not callable(fn) or isinstance(fn, Module):
            raise ScriptError("TypeError", f"db.transaction() takes a function, not {type_name(fn)}")
        if backend.in_transaction():
            raise ScriptError("ValueError", "db.transaction(): already inside a transaction "
                                            "(transactions do not nest)")
        return guarded("db.transaction()", lambda wait: backend.transaction(fn, wait), timeout)

    return Module.of("db", [query, one, exec_, transaction])
