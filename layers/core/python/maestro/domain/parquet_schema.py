"""The column names of a Parquet file, read from its footer without pyarrow (which is far too large for a Lambda
layer): the footer is a Thrift compact-protocol `FileMetaData` whose field 2 lists the schema's elements, each
naming itself in its field 4 (parquet-format's parquet.thrift). Only that walk is implemented; every other field
is skipped by type. Untrusted input: sizes are bounded, and anything malformed gives [] rather than an error.
"""

from __future__ import annotations

MAGIC = b"PAR1"
MAX_FOOTER_BYTES = 16 * 1024 * 1024
MAX_COLUMNS = 10_000
MAX_DEPTH = 64

# Thrift compact protocol type ids.
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(13)


class _Malformed(Exception):
    pass


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise _Malformed("truncated")
        value = self.data[self.at]
        self.at += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            value = self.byte()
            result |= (value & 0x7F) << shift
            if not value & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise _Malformed("varint too long")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def binary(self) -> bytes:
        size = self.varint()
        if size > len(self.data) - self.at:
            raise _Malformed("binary overruns the footer")
        value = self.data[self.at : self.at + size]
        self.at += size
        return value

    def field_header(self, last_id: int) -> tuple[int, int]:
        header = self.byte()
        kind = header & 0x0F
        if kind == _STOP:
            return _STOP, 0
        delta = header >> 4
        return kind, (last_id + delta) if delta else self.zigzag()

    def list_header(self) -> tuple[int, int]:
        header = self.byte()
        size = header >> 4
        if size == 15:
            size = self.varint()
        if size > len(self.data):
            raise _Malformed("list larger than the footer")
        return header & 0x0F, size

    def skip(self, kind: int, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise _Malformed("nesting too deep")
        if kind in (_TRUE, _FALSE):
            return
        if kind == _BYTE:
            self.byte()
        elif kind in (_I16, _I32, _I64):
            self.varint()
        elif kind == _DOUBLE:
            self.at += 8
        elif kind == _BINARY:
            self.binary()
        elif kind in (_LIST, _SET):
            element, size = self.list_header()
            for _ in range(size):
                self.skip_element(element, depth + 1)
        elif kind == _MAP:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip_element(types >> 4, depth + 1)
                    self.skip_element(types & 0x0F, depth + 1)
        elif kind == _STRUCT:
            last = 0
            while True:
                field, last = self.field_header(last)
                if field == _STOP:
                    return
                self.skip(field, depth + 1)
        else:
            raise _Malformed(f"unknown type {kind}")

    def skip_element(self, kind: int, depth: int) -> None:
        # Inside lists, sets and maps a boolean is a whole byte.
        if kind in (_TRUE, _FALSE):
            self.byte()
        else:
            self.skip(kind, depth)


def _schema_element_name(reader: _Reader) -> str | None:
    name, last = None, 0
    while True:
        kind, last = reader.field_header(last)
        if kind == _STOP:
            return name
        if last == 4 and kind == _BINARY:
            name = reader.binary().decode("utf-8", errors="replace")
        else:
            reader.skip(kind)


def footer_length(tail: bytes) -> int | None:
    """The footer's length from a file's last 8 bytes, or None when they are not a Parquet trailer."""
    if len(tail) < 8 or tail[-4:] != MAGIC:
        return None
    return int.from_bytes(tail[-8:-4], "little")


def parquet_column_names(data: bytes) -> list[str]:
    """The column names of a Parquet file (`data`: the whole file, or any tail of it holding the footer), in
    schema order, the root element left out; [] when `data` holds no readable Parquet footer."""
    length = footer_length(data[-8:])
    if length is None or length > MAX_FOOTER_BYTES or length + 8 > len(data):
        return []
    reader = _Reader(data[-8 - length : -8])
    names: list[str] = []
    try:
        last = 0
        while True:
            kind, last = reader.field_header(last)
            if kind == _STOP:
                break
            if last == 2 and kind == _LIST:
                element, size = reader.list_header()
                if element != _STRUCT:
                    return []
                for position in range(size):
                    name = _schema_element_name(reader)
                    if position and name and len(names) < MAX_COLUMNS:  # element 0 is the schema's root
                        names.append(name)
                return names
            reader.skip(kind)
    except (_Malformed, IndexError):
        return []
    return names
