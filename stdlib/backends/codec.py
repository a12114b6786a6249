"""How kv values are stored: a compact, self-describing byte encoding of script values.

Strategy. A value is stored as bytes that decode to a value `==` to what was stored, bytes
included (JSON cannot tell bytes from strings, nor an int key from a string key). An int is
stored as its plain decimal ASCII, exactly what Redis' INCRBY reads and writes, so
`kv.incr` is the backend's own atomic command and a counter reads back as an int; every
other value starts with a one-byte tag that is never a digit or '-':

    N nil   T true   F false   d float (8 bytes, big-endian IEEE 754)
    s string / b bytes / i int (inside a container): uvarint length, then the UTF-8, bytes
    or decimal digits
    l list: uvarint count, then the items     m map: uvarint count, then key, value pairs

Lists and maps come back as fresh, mutable lists and maps (like `json.decode`): a script
changes what it read and stores it again. Decoding is defensive (the bytes may have been
written by anyone with access to the backend): anything malformed is a `CodecError`.
"""
from __future__ import annotations

import struct
import sys

from rtserve.lang import limits
from rtserve.lang.values import FrozenList, FrozenMap

__all__ = ["encode", "decode", "CodecError", "NotStorable", "MAX_VALUE"]

MAX_VALUE = 1024 * 1024          # STDLIB.md: values up to 1 MiB encoded
_MAX_DEPTH = 200
_DOUBLE = struct.Struct(">d")
# What a decoded object takes in CPython, for `decode`'s charge (lang/limits.py's sizes):
_OBJECT_BYTES = 72      # the largest header of a str (a non-ASCII one), bytes or int
_STR_BYTES = limits.STR_BYTES
_getsizeof = sys.getsizeof
_FLOAT_BYTES = limits.FLOAT_BYTES
_LIST_BYTES, _SLOT_BYTES = limits.LIST_BYTES, limits.SLOT_BYTES
_MAP_BYTES, _ENTRY_BYTES = 64, limits.MAP_ENTRY_BYTES


class CodecError(Exception):
    """Stored bytes that are not a value this codec wrote."""


class NotStorable(Exception):
    """A value kv cannot store; the message says why (no Python type names). `kind` is the
    script error it becomes: TypeError for a kind of value, ValueError for a size or shape."""

    def __init__(self, message: str, kind: str = "ValueError") -> None:
        super().__init__(message)
        self.kind = kind


def encode(value) -> bytes:
    """The stored form of `value`. Raises NotStorable (a function, a response, a cycle, too
    deep) or NotStorable("too large") past MAX_VALUE."""
    if type(value) is int:
        return str(value).encode("ascii")
    out = bytearray()
    _put(value, out, 0, set())
    if len(out) > MAX_VALUE:
        raise NotStorable(f"the value is larger than {MAX_VALUE:,} bytes encoded")
    return bytes(out)


def _uvarint(n: int, out: bytearray) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _put(value, out: bytearray, depth: int, active: set) -> None:
    t = type(value)
    if value is None:
        out += b"N"
    elif t is bool:
        out += b"T" if value else b"F"
    elif t is int:
        digits = str(value).encode("ascii")
        out += b"i"
        _uvarint(len(digits), out)
        out += digits
    elif t is float:
        out += b"d"
        out += _DOUBLE.pack(value)
    elif t is str:
        data = value.encode("utf-8", "surrogatepass")
        out += b"s"
        _uvarint(len(data), out)
        out += data
    elif t is bytes:
        out += b"b"
        _uvarint(len(value), out)
        out += value
    elif t is list or t is FrozenList or t is dict or t is FrozenMap:
        if depth >= _MAX_DEPTH:
            raise NotStorable(f"the value is nested more than {_MAX_DEPTH} levels deep")
        if id(value) in active:
            raise NotStorable("a value that contains itself cannot be stored")
        active.add(id(value))
        if t is list or t is FrozenList:
            out += b"l"
            _uvarint(len(value), out)
            for item in value:
                _put(item, out, depth + 1, active)
        else:
            out += b"m"
            _uvarint(len(value), out)
            for k, v in value.items():
                _put(k, out, depth + 1, active)
                _put(v, out, depth + 1, active)
        active.discard(id(value))
        if len(out) > MAX_VALUE:
            raise NotStorable(f"the value is larger than {MAX_VALUE:,} bytes encoded")
    else:
        from rtserve.lang.values import type_name
        raise NotStorable(f"a {type_name(value)} cannot be stored (nil, bool, int, float, "
                          "string, bytes, and lists and maps of them can)", "TypeError")


def decode(data: bytes, charge=None):
    """The value `data` encodes. Raises CodecError. `charge(nbytes)`, when given, is called
    with the size of each object before it is built (a string's header and text, a list's
    slots, a map's entries), so that a value of many small parts is charged what it takes in
    memory, not the few bytes per part it takes encoded."""
    if not data:
        raise CodecError("empty value")
    first = data[0]
    if 0x30 <= first <= 0x39 or first == 0x2D:  # a digit or '-': an int (a counter)
        try:
            return int(data)
        except ValueError:
            raise CodecError("not an int") from None
    try:
        value, end = _get(data, 0, 0, charge or _no_charge)
    except (IndexError, struct.error, UnicodeDecodeError, ValueError, TypeError):
        raise CodecError("malformed value") from None
    if end != len(data):
        raise CodecError("trailing bytes after the value")
    return value


def _no_charge(nbytes: int) -> None:
    pass


def _read_uvarint(data: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if byte < 0x80:
            return n, pos
        shift += 7
        if shift > 35:
            raise ValueError("length too long")


def _get(data: bytes, pos: int, depth: int, charge):
    tag = data[pos]
    pos += 1
    if tag == 0x4E:  # N
        return None, pos
    if tag == 0x54:  # T
        return True, pos
    if tag == 0x46:  # F
        return False, pos
    if tag == 0x64:  # d
        charge(_FLOAT_BYTES)
        return _DOUBLE.unpack_from(data, pos)[0], pos + 8
    if tag in (0x73, 0x62, 0x69):  # s b i
        n, pos = _read_uvarint(data, pos)
        end = pos + n
        if end > len(data):
            raise ValueError("truncated")
        chunk = data[pos:end]
        if tag == 0x73:
            if chunk.isascii():
                charge(_STR_BYTES + n)
                return chunk.decode("ascii"), end
            charge(_OBJECT_BYTES + n)
            text = chunk.decode("utf-8", "surrogatepass")
            # ASCII beside a wide character takes 2 or 4 bytes, not its one UTF-8 byte
            charge(max(0, _getsizeof(text) - _OBJECT_BYTES - n))
            return text, end
        charge(_OBJECT_BYTES + n)
        if tag == 0x62:
            return bytes(chunk), end
        return int(chunk), end
    if depth >= _MAX_DEPTH:
        raise ValueError("too deep")
    if tag == 0x6C:  # l
        n, pos = _read_uvarint(data, pos)
        if n > len(data):
            raise ValueError("count past the data")
        charge(_LIST_BYTES + _SLOT_BYTES * n)
        items = []
        for _ in range(n):
            item, pos = _get(data, pos, depth + 1, charge)
            items.append(item)
        return items, pos
    if tag == 0x6D:  # m
        n, pos = _read_uvarint(data, pos)
        if n > len(data):
            raise ValueError("count past the data")
        charge(_MAP_BYTES + _ENTRY_BYTES * n)
        result = {}
        for _ in range(n):
            key, pos = _get(data, pos, depth + 1, charge)
            if type(key) in (list, dict, bytes):
                raise ValueError("bad map key")
            result[key], pos = _get(data, pos, depth + 1, charge)
        return result, pos
    raise ValueError("unknown tag")
