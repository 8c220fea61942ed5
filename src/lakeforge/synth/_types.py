"""Arrow types and schemas written as JSON text, for saved synthesizers (no pickle)."""

from __future__ import annotations

import base64
import re

import pyarrow as pa

__all__ = [
    "schema_from_text",
    "schema_to_text",
    "table_from_text",
    "table_to_text",
    "type_from_text",
]

_TIMESTAMP = re.compile(r"timestamp\[(\w+)(?:, tz=(.+))?\]")


def type_from_text(name: str) -> pa.DataType:
    """The Arrow type written as ``str(type)`` (``int64``, ``timestamp[us, tz=UTC]``...)."""
    match = _TIMESTAMP.fullmatch(name)
    if match:
        return pa.timestamp(match.group(1), tz=match.group(2))
    try:
        return pa.type_for_alias(name)
    except ValueError:
        return pa.string()


def schema_to_text(schema: pa.Schema) -> str:
    """A schema as base64 Arrow IPC (exact, metadata included)."""
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def schema_from_text(text: str) -> pa.Schema:
    """Inverse of :func:`schema_to_text`."""
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


def table_to_text(table: pa.Table) -> str:
    """A (small) table as base64 Arrow IPC, for values kept in a JSON plan."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")


def table_from_text(text: str) -> pa.Table:
    """Inverse of :func:`table_to_text`."""
    return pa.ipc.open_stream(pa.py_buffer(base64.b64decode(text))).read_all()
