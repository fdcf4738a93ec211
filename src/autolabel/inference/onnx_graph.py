"""An ONNX file's graph inputs and outputs, read from its protobuf without onnxruntime.

Registering a model checks that the file is an ONNX model with the input and outputs its spec
names. That runs in the API, which must not carry onnxruntime (≈120 MB with numpy) just to read
a few names; the ``onnx`` package would bring numpy and protobuf for the same. The protobuf wire
format is small enough to walk here: every field of the model and of its graph is parsed, so a
file that is not protobuf — or is cut short — is refused; tensors are skipped by their length,
so even a large model is read in milliseconds. Whether onnxruntime can run every operator is
found by the first run, which fails the task with onnxruntime's reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
# ModelProto and GraphProto field numbers (onnx/onnx.proto).
_MODEL_IR_VERSION, _MODEL_GRAPH = 1, 7
_GRAPH_INPUT, _GRAPH_OUTPUT = 11, 12
_VALUE_INFO_NAME = 1


class NotOnnx(ValueError):
    """The bytes are not a well-formed ONNX model."""


@dataclass(frozen=True)
class GraphSignature:
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def read_signature(data: bytes) -> GraphSignature:
    """The graph's input and output names; raises NotOnnx for anything that is not ONNX."""
    view = memoryview(data)
    ir_version: int | None = None
    graph: tuple[int, int] | None = None
    for number, wire, value in _fields(view, 0, len(view)):
        if number == _MODEL_IR_VERSION and wire == _VARINT:
            ir_version = value[0]
        elif number == _MODEL_GRAPH and wire == _LENGTH:
            graph = value
    if ir_version is None or graph is None:
        raise NotOnnx("no ONNX model: an IR version and a graph are required")
    inputs: list[str] = []
    outputs: list[str] = []
    for number, wire, (start, end) in _fields(view, *graph):
        if wire == _LENGTH and number in (_GRAPH_INPUT, _GRAPH_OUTPUT):
            name = _value_info_name(view, start, end)
            (inputs if number == _GRAPH_INPUT else outputs).append(name)
    if not inputs or not outputs:
        raise NotOnnx("the ONNX graph declares no inputs or no outputs")
    return GraphSignature(tuple(inputs), tuple(outputs))


def _value_info_name(view: memoryview, start: int, end: int) -> str:
    for number, wire, (begin, stop) in _fields(view, start, end):
        if number == _VALUE_INFO_NAME and wire == _LENGTH:
            try:
                return bytes(view[begin:stop]).decode("utf-8")
            except UnicodeDecodeError:
                raise NotOnnx("a graph input or output name is not UTF-8") from None
    raise NotOnnx("a graph input or output has no name")


def _fields(view: memoryview, start: int, end: int) -> Iterator[tuple[int, int, tuple[int, int]]]:
    """(field number, wire type, value) of each field in view[start:end]. A varint's value is
    (value, 0); a length-delimited field's is its (start, end); fixed fields are skipped."""
    position = start
    while position < end:
        tag, position = _varint(view, position, end)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise NotOnnx("field number 0 is not protobuf")
        if wire == _VARINT:
            value, position = _varint(view, position, end)
            yield number, wire, (value, 0)
        elif wire == _LENGTH:
            length, position = _varint(view, position, end)
            if position + length > end:
                raise NotOnnx("a field runs past the end of its message (a truncated file?)")
            yield number, wire, (position, position + length)
            position += length
        elif wire in (_FIXED64, _FIXED32):
            position += 8 if wire == _FIXED64 else 4
            if position > end:
                raise NotOnnx("a field runs past the end of its message (a truncated file?)")
        else:
            raise NotOnnx(f"wire type {wire} is not used by ONNX")


def _varint(view: memoryview, position: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while position < end and shift < 64:
        byte = view[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
    raise NotOnnx("a malformed or truncated varint")
