"""Request-time reads of the meta-learning online features, straight from Feast's DynamoDB online tables.

Importing Feast costs seconds, so request-time code reads Feast's storage format itself (feast 0.67,
feast/infra/online_stores/dynamodb.py, checked against Feast in tests/integration/test_feature_store.py):
- one table per feature view, named by the store's `table_name_template` (`Settings.feast_online_table`);
- partition key `entity_id` (S): the hex of MurmurHash3 x64 128 (seed 0) of the entity key serialised as
  version 3 (key_encoding_utils.serialize_entity_key): uint32 LE number of join keys, then per key uint32 LE value
  type STRING (2), uint32 LE length and the UTF-8 name, then per value uint32 LE type, uint32 LE length, bytes;
- `event_ts` (S): str() of the tz-aware event time; `values` (M): feature name -> (B) serialised feast ValueProto.
A tiny protobuf wire decoder reads the scalar ValueProto fields. No Feast, pandas or protobuf import here.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterable, Sequence

from maestro.aws_clients import client
from maestro.domain.meta.feature_views import (
    ENTITY_JOIN_KEY,
    OWN_FEATURE_PREFIX,
    OWN_FEATURES_COLUMN,
    tenant_project_key,
    view_for,
)
from maestro.settings import Settings, get_settings

FeatureValue = float | str | bytes | None  # bytes only where a bytes value was stored (none of ours)
VALUE_TYPE_STRING = 2  # feast.value_type.ValueType.STRING
BATCH_GET_LIMIT = 100  # keys per BatchGetItem call, over all tables
MAX_UNPROCESSED_ROUNDS = 8


class UnsupportedFeatureValue(ValueError):
    """A stored ValueProto holds a type this reader does not decode (a list, map, ...)."""


class OnlineStoreUnavailable(RuntimeError):
    """The online tables do not exist (the feature store was never applied in this stage)."""


# ---------------------------------------------------------------- entity key
def serialize_entity_key(join_key: str, value: str) -> bytes:
    """Feast's entity key serialization version 3 for one string join key."""
    name, data = join_key.encode("utf-8"), value.encode("utf-8")
    return b"".join(
        (
            struct.pack("<I", 1),
            struct.pack("<II", VALUE_TYPE_STRING, len(name)),
            name,
            struct.pack("<II", VALUE_TYPE_STRING, len(data)),
            data,
        )
    )


_MASK = (1 << 64) - 1
_C1, _C2 = 0x87C37B91114253D5, 0x4CF5AD432745937F


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _MASK


def _fmix(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _MASK
    return k ^ (k >> 33)


def murmur3_x64_128(data: bytes, seed: int = 0) -> bytes:
    """MurmurHash3_x64_128 as mmh3.hash_bytes(data, seed) returns it: h1, h2 as little-endian uint64."""
    length = len(data)
    h1 = h2 = seed & _MASK
    blocks = length // 16
    for i in range(blocks):
        k1, k2 = struct.unpack_from("<QQ", data, 16 * i)
        h1 ^= (_rotl((k1 * _C1) & _MASK, 31) * _C2) & _MASK
        h1 = (_rotl(h1, 27) + h2) & _MASK
        h1 = (h1 * 5 + 0x52DCE729) & _MASK
        h2 ^= (_rotl((k2 * _C2) & _MASK, 33) * _C1) & _MASK
        h2 = (_rotl(h2, 31) + h1) & _MASK
        h2 = (h2 * 5 + 0x38495AB5) & _MASK
    tail = data[16 * blocks :]
    if len(tail) > 8:
        k2 = int.from_bytes(tail[8:], "little")
        h2 ^= (_rotl((k2 * _C2) & _MASK, 33) * _C1) & _MASK
    if tail:
        k1 = int.from_bytes(tail[:8], "little")
        h1 ^= (_rotl((k1 * _C1) & _MASK, 31) * _C2) & _MASK
    h1 ^= length
    h2 ^= length
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    return struct.pack("<QQ", h1, h2)


def online_entity_id(tenant_id: str, project_id: str) -> str:
    """The `entity_id` Feast stores a tenant's project under (compute_entity_id of the tenant-scoped key)."""
    return murmur3_x64_128(serialize_entity_key(ENTITY_JOIN_KEY, tenant_project_key(tenant_id, project_id))).hex()


# ---------------------------------------------------------------- ValueProto
def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# field number -> (name, wire type) of the scalar oneof members of feast.types.Value
_SCALARS = {
    1: ("bytes", 2),
    2: ("string", 2),
    3: ("int32", 0),
    4: ("int64", 0),
    5: ("double", 1),
    6: ("float", 5),
    7: ("bool", 0),
    8: ("unix_timestamp", 0),
    19: ("null", 0),
    32: ("json", 2),
}


def decode_value(data: bytes) -> float | int | bool | str | bytes | None:
    """Decode a serialised feast ValueProto holding a scalar: double/float -> float, int32/int64/unix_timestamp ->
    int, bool -> bool, string/json -> str, bytes -> bytes; an unset value or null_val -> None. The last field wins,
    as protobuf parses a oneof. Other types raise UnsupportedFeatureValue."""
    pos = 0
    value: float | int | bool | str | bytes | None = None
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        kind = _SCALARS.get(number)
        if kind is None or kind[1] != wire:
            raise UnsupportedFeatureValue(f"ValueProto field {number} (wire type {wire}) is not a decoded scalar")
        name = kind[0]
        if wire == 0:
            raw, pos = _varint(data, pos)
            if name == "bool":
                value = bool(raw)
            elif name == "null":
                value = None
            elif name == "int32":
                value = _signed64(raw)
                value = (value + (1 << 31)) % (1 << 32) - (1 << 31)  # int32 arithmetic on the low 32 bits
            else:
                value = _signed64(raw)
        elif wire == 1:
            value = struct.unpack_from("<d", data, pos)[0]
            pos += 8
        elif wire == 5:
            value = struct.unpack_from("<f", data, pos)[0]
            pos += 4
        else:
            size, pos = _varint(data, pos)
            raw_bytes = data[pos : pos + size]
            if len(raw_bytes) != size:
                raise ValueError("truncated length-delimited field")
            pos += size
            value = bytes(raw_bytes) if name == "bytes" else raw_bytes.decode("utf-8")
    return value


# ---------------------------------------------------------------- reads
def read_online_features(
    tenant_id: str, project_ids: Iterable[str], feature_names: Sequence[str], *, settings: Settings | None = None
) -> dict[str, dict[str, FeatureValue]]:
    """The online (materialised) features of a tenant's projects, as Feast's get_online_features would return
    them: {project_id: {name: value}}, every asked project and name present, None where nothing is stored.
    Numeric features come back as float; "problem_class" as str; "features.<key>" is the project's own feature.
    The tenant is part of every key read, so another tenant's rows cannot answer."""
    settings = settings or get_settings()
    ids = list(dict.fromkeys(project_ids))
    names = list(dict.fromkeys(feature_names))
    columns_by_view: dict[str, list[str]] = {}
    for name in names:
        column = OWN_FEATURES_COLUMN if name.startswith(OWN_FEATURE_PREFIX) else name
        columns = columns_by_view.setdefault(view_for(name), [])
        if column not in columns:
            columns.append(column)
    entity_ids = {online_entity_id(tenant_id, p): p for p in ids}
    stored: dict[tuple[str, str], dict[str, bytes]] = {}  # (view, project_id) -> column -> ValueProto bytes
    requests = [(view, entity_id) for view in columns_by_view for entity_id in entity_ids]
    dynamodb = client("dynamodb", settings)
    for start in range(0, len(requests), BATCH_GET_LIMIT):
        chunk = requests[start : start + BATCH_GET_LIMIT]
        for view, item in _batch_get(dynamodb, settings, chunk, columns_by_view):
            values = item.get("values", {}).get("M", {})
            stored[(view, entity_ids[item["entity_id"]["S"]])] = {k: v["B"] for k, v in values.items() if "B" in v}
    out: dict[str, dict[str, FeatureValue]] = {}
    for project_id in ids:
        row: dict[str, FeatureValue] = {}
        own: dict | None = None
        for name in names:
            found = stored.get((view_for(name), project_id), {})
            if name.startswith(OWN_FEATURE_PREFIX):
                if own is None:
                    raw = decode_value(found[OWN_FEATURES_COLUMN]) if OWN_FEATURES_COLUMN in found else None
                    own = json.loads(raw) if isinstance(raw, str) and raw else {}
                value = own.get(name.removeprefix(OWN_FEATURE_PREFIX))
                row[name] = float(value) if value is not None else None
                continue
            value = decode_value(found[name]) if name in found else None
            row[name] = float(value) if isinstance(value, (int, float)) else value
        out[project_id] = row
    return out


def _batch_get(
    dynamodb, settings: Settings, chunk: list[tuple[str, str]], columns_by_view: dict[str, list[str]]
) -> list[tuple[str, dict]]:
    """One BatchGetItem over every view's table (projected to the asked columns), retrying unprocessed keys."""
    request: dict[str, dict] = {}
    table_view: dict[str, str] = {}
    for view, entity_id in chunk:
        table = settings.feast_online_table(view)
        table_view[table] = view
        if table not in request:
            columns = columns_by_view[view]
            aliases = {f"#f{i}": column for i, column in enumerate(columns)}
            request[table] = {
                "Keys": [],
                "ProjectionExpression": ", ".join(["#id", *(f"#v.{a}" for a in aliases)]),
                "ExpressionAttributeNames": {"#id": "entity_id", "#v": "values", **aliases},
            }
        request[table]["Keys"].append({"entity_id": {"S": entity_id}})
    items: list[tuple[str, dict]] = []
    for attempt in range(MAX_UNPROCESSED_ROUNDS):
        try:
            response = dynamodb.batch_get_item(RequestItems=request)
        except dynamodb.exceptions.ResourceNotFoundException as error:
            raise OnlineStoreUnavailable(f"online feature tables missing: {sorted(request)}") from error
        for table, found in response.get("Responses", {}).items():
            items += [(table_view[table], item) for item in found]
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return items
        time.sleep(min(0.02 * 2**attempt, 0.5))
    raise RuntimeError(f"online features: keys still unprocessed after {MAX_UNPROCESSED_ROUNDS} rounds")
