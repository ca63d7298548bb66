"""Serving ONNX model versions: which versions are servable, the budgets a serving function keeps, and the checks a
request's inputs must pass against the version's signature before any graph runs. Pure rules: no AWS, no Chalice,
no numpy (the request is checked as the JSON it arrived as).

A signature is what the graph declares, read once when the version becomes ready:
`{"inputs": [{"name", "type", "shape"}], "outputs": [{"name", "type", "shape"}], "feature_names": [...] | null}`
where `type` is a numpy-style element type (`float32`, `int64`, `string`, `bool`, ...) and `shape` lists each
dimension as an integer or null (any size; the first is normally the batch)."""

from __future__ import annotations

import math
from typing import Any

from maestro.domain.errors import ValidationFailed

SERVABLE_CONTENT_TYPES = frozenset({"application/onnx", "application/x-onnx"})

# The serving function (infra: 2048 MB memory, 2048 MB /tmp). A graph's session takes about 1-2x its file size in
# memory, so the in-memory cache holds graphs up to MEMORY_BUDGET_BYTES of file size and one graph may not exceed
# MAX_GRAPH_BYTES (refused with 422 when it takes an alias or is first asked to predict).
MAX_GRAPH_BYTES = 256 * 1024**2
MEMORY_BUDGET_BYTES = 640 * 1024**2
TMP_BUDGET_BYTES = 1536 * 1024**2
# An alias move reaches a warm serving function within this many seconds (no redeploy).
ALIAS_TTL_SECONDS = 2.0
MAX_BATCH_ROWS = 1000  # rows (first dimension) per request; the 1 MiB body limit applies as well
MAX_INPUT_VALUES = 250_000  # numbers or strings in one request, across every input
MAX_RANK = 8  # dimensions of one input (a graph of unknown rank still gets no deeper nesting)

_ELEMENT_TYPES = {
    "float": "float32",
    "double": "float64",
    "float16": "float16",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "bool": "bool",
    "string": "string",
}
FLOAT_TYPES = frozenset({"float16", "float32", "float64"})
INT_TYPES = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"})


def is_servable(artifact_type: str, content_type: str) -> bool:
    """A `model` artifact version whose content is an ONNX graph."""
    base = content_type.split(";", 1)[0].strip().lower()
    return artifact_type == "model" and base in SERVABLE_CONTENT_TYPES


def graph_size_problem(size_bytes: int) -> str | None:
    if size_bytes > MAX_GRAPH_BYTES:
        return (
            f"the graph is {size_bytes} bytes; the serving function serves graphs up to {MAX_GRAPH_BYTES} bytes "
            f"({MAX_GRAPH_BYTES // 1024**2} MiB)"
        )
    return None


def element_type(onnx_type: str) -> str:
    """onnxruntime's `tensor(float)` as `float32`; a non-tensor type (`seq(map(int64,tensor(float)))`) as is."""
    if onnx_type.startswith("tensor(") and onnx_type.endswith(")"):
        return _ELEMENT_TYPES.get(onnx_type[7:-1], onnx_type[7:-1])
    return onnx_type


def dimension(value: Any) -> int | None:
    """A declared dimension: an integer, or None for a symbolic/unknown one."""
    return value if isinstance(value, int) and value >= 0 else None


# ---------------------------------------------------------------- request inputs
def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {message}", errors=[{"field": field, "message": message, "type": "value"}], input=field
    )


def request_inputs(signature: dict, inputs: dict[str, Any] | None, instances: list | None) -> dict[str, Any]:
    """The named inputs of a request: `inputs` as given, or `instances` as the only input of a single-input model."""
    names = [i["name"] for i in signature["inputs"]]
    if (inputs is None) == (instances is None):
        raise _fail("inputs", "send exactly one of `inputs` (by name) or `instances` (single-input models)")
    if instances is not None:
        if len(names) != 1:
            raise _fail("instances", f"this model takes {len(names)} inputs ({', '.join(names)}); send `inputs`")
        return {names[0]: instances}
    return inputs if inputs is not None else {}


def check_inputs(signature: dict, inputs: dict[str, Any]) -> int:
    """Check every input against the signature (names, element types, ranks, fixed dimensions, the batch limit)
    before the graph runs. Returns the batch size; raises ValidationFailed naming the input (`inputs.<name>`)."""
    declared = {i["name"]: i for i in signature["inputs"]}
    for name in inputs:
        if name not in declared:
            raise _fail(f"inputs.{name}", f"the model has no input {name!r}; it takes {', '.join(declared)}")
    for name in declared:
        if name not in inputs:
            raise _fail(f"inputs.{name}", f"missing input {name!r}")
    batch: int | None = None
    total = 0
    for name, spec in declared.items():
        field = f"inputs.{name}"
        shape = _shape_of(inputs[name], field)
        rank = len(spec["shape"]) if spec["shape"] is not None else None
        if (rank is not None and len(shape) != rank) or len(shape) > MAX_RANK:
            raise _fail(field, f"expected {rank} dimensions {_show(spec['shape'])}, got {len(shape)}")
        leaves = _regular_leaves(inputs[name], shape, field)
        for axis, (want, got) in enumerate(zip(spec["shape"] or [], shape, strict=False)):
            if want is not None and want != got:
                raise _fail(field, f"dimension {axis} must be {want} {_show(spec['shape'])}, got {got}")
        if shape:
            if shape[0] > MAX_BATCH_ROWS:
                raise _fail(field, f"{shape[0]} rows; at most {MAX_BATCH_ROWS} per request")
            if batch is not None and shape[0] != batch and (spec["shape"] or [None])[0] is None:
                raise _fail(field, f"{shape[0]} rows, but another input has {batch}")
            batch = shape[0] if batch is None else batch
        total += math.prod(shape) if shape else 1
        if total > MAX_INPUT_VALUES:
            raise _fail(field, f"more than {MAX_INPUT_VALUES} values in one request")
        _check_values(leaves, spec["type"], field)
    return batch or 1


def _show(shape: list | None) -> str:
    return "[" + ", ".join("N" if d is None else str(d) for d in (shape or [])) + "]"


def _shape_of(value: Any, field: str) -> list[int]:
    """The dimensions of a nested list, read along its first elements (without recursion: a hostile body may nest
    deeply); empty lists are refused. Regularity is checked once the rank is known to be the signature's."""
    shape: list[int] = []
    level = value
    while isinstance(level, list):
        if not level:
            raise _fail(field, "empty list: send at least one row")
        shape.append(len(level))
        level = level[0]
    return shape


def _regular_leaves(value: Any, shape: list[int], field: str) -> list[Any]:
    """The values of a nested list that has exactly `shape` (level by level, no recursion), flattened; "ragged"
    when a row has another length or depth."""
    level = [value]
    for size in shape:
        below: list[Any] = []
        for item in level:
            if type(item) is not list or len(item) != size:
                raise _fail(field, "ragged: every row must have the same length")
            below.extend(item)
        level = below
    if any(type(leaf) is list for leaf in level):
        raise _fail(field, "ragged: rows of different depths")
    return level


def _check_values(leaves: list[Any], element: str, field: str) -> None:
    if element in FLOAT_TYPES:
        wanted = "finite numbers"

        def fits(leaf: Any) -> bool:
            return type(leaf) in (int, float) and math.isfinite(leaf)

    elif element in INT_TYPES:
        unsigned = element.startswith("u")
        wanted = "non-negative integers" if unsigned else "integers"

        def fits(leaf: Any) -> bool:
            return type(leaf) is int and (not unsigned or leaf >= 0)

    elif element == "bool":
        wanted = "true or false"

        def fits(leaf: Any) -> bool:
            return type(leaf) is bool

    elif element == "string":
        wanted = "strings"

        def fits(leaf: Any) -> bool:
            return type(leaf) is str

    else:
        raise _fail(field, f"inputs of type {element} cannot be sent as JSON")
    for leaf in leaves:
        if not fits(leaf):
            raise _fail(field, f"the model takes {element}: {wanted}, got {json_type(leaf)} {leaf!r:.40}")


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "an object"


def monitored_features(signature: dict, max_features: int) -> list[tuple[str, str, int | None]]:
    """(feature name, input name, column) for each numeric feature monitoring summarises: an input of shape [N] or
    [N, 1] is one feature named after it; each column of an [N, F] input is one, named by the signature's
    `feature_names` when it has them, else `<input>[<column>]`. Other ranks are not summarised."""
    features: list[tuple[str, str, int | None]] = []
    names = signature.get("feature_names") or []
    numeric_2d = [
        i for i in signature["inputs"] if i["type"] in FLOAT_TYPES | INT_TYPES and len(i["shape"] or []) in (1, 2)
    ]
    for spec in numeric_2d:
        shape = spec["shape"]
        if len(shape) == 1 or shape[1] == 1:
            features.append((spec["name"], spec["name"], None if len(shape) == 1 else 0))
            continue
        width = shape[1] or 0
        for column in range(min(width, max_features - len(features))):
            label = names[column] if len(numeric_2d) == 1 and len(names) == width else f"{spec['name']}[{column}]"
            features.append((label, spec["name"], column))
    return features[:max_features]
