"""The request-time online feature reader speaks Feast's DynamoDB format without Feast (no network here).

Reference ValueProto bytes come from Feast's own generated message (Value_pb2.py, loaded by path so the feast
package, 5-11 s of import, is not imported); reference entity ids were computed with feast 0.67's
feast.infra.online_stores.helpers.compute_entity_id(EntityKey(join_keys=["tenant_project"], ...), 3).
"""

import importlib.util
import math
import random
from pathlib import Path

import pytest

from maestro.domain.meta.feature_views import (
    MODEL_FEATURES,
    VIEW_FEATURES,
    split_tenant_project_key,
    tenant_project_key,
    view_for,
)
from maestro.repositories.online_features import (
    UnsupportedFeatureValue,
    decode_value,
    murmur3_x64_128,
    online_entity_id,
    serialize_entity_key,
)
from tests.unit.cold_start import modules_loaded_by


def _feast_value_message():
    spec = importlib.util.find_spec("feast")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("feast is not installed")
    path = Path(spec.submodule_search_locations[0]) / "protos" / "feast" / "types" / "Value_pb2.py"
    module_spec = importlib.util.spec_from_file_location("feast_value_pb2_by_path", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.Value


@pytest.fixture(scope="module")
def Value():
    return _feast_value_message()


def test_entity_ids_match_feast_compute_entity_id():
    assert online_entity_id("t1", "proj-0000") == "3fb4ceb6fe720148d46f4e0271f528f4"
    assert online_entity_id("8f3a2c1e-tenant", "p#with#hash") == "270646bbf325a32f4432a7630f3f63b7"
    assert (
        online_entity_id("ténant-ü", "🙂-project-with-a-rather-long-identifier-0123456789")
        == "dee65db94860b6792a04f9fe7d50e588"
    )


def test_entity_key_serialization_is_version_3_layout():
    assert serialize_entity_key("k", "ab") == (
        b"\x01\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00k\x02\x00\x00\x00\x02\x00\x00\x00ab"
    )


def test_murmur3_matches_mmh3_for_every_tail_length():
    mmh3 = pytest.importorskip("mmh3")
    rng = random.Random(7)
    for length in list(range(0, 40)) + [100, 257]:
        data = bytes(rng.randrange(256) for _ in range(length))
        assert murmur3_x64_128(data) == mmh3.hash_bytes(data), length


def test_tenant_key_is_scoped_and_unambiguous():
    assert tenant_project_key("acme", "p#1") == "acme#p#1"
    assert split_tenant_project_key("acme#p#1") == ("acme", "p#1")
    assert online_entity_id("acme", "p1") != online_entity_id("globex", "p1")
    with pytest.raises(ValueError):
        tenant_project_key("ac#me", "p1")  # would make "ac#me#p1" readable as tenant "ac"
    with pytest.raises(ValueError):
        tenant_project_key("", "p1")


@pytest.mark.parametrize(
    "field, value",
    [
        ("double_val", 3.141592653589793),
        ("double_val", -0.0),
        ("double_val", 1e6),
        ("double_val", 0.0),
        ("float_val", 0.1),
        ("int64_val", 0),
        ("int64_val", 2**62 + 5),
        ("int64_val", -17),
        ("int32_val", -1),
        ("int32_val", 2**31 - 1),
        ("int32_val", -(2**31)),
        ("bool_val", True),
        ("bool_val", False),
        ("string_val", "computer_vision"),
        ("string_val", ""),
        ("string_val", "ünïcødé 🙂"),
        ("unix_timestamp_val", 1_700_000_000),
        ("bytes_val", b"\x00\xff"),
        ("json_val", '{"a":1.5}'),
    ],
)
def test_decoder_reads_feast_value_proto_scalars(Value, field, value):
    data = Value(**{field: value}).SerializeToString()
    decoded = decode_value(data)
    if field == "float_val":
        assert decoded == pytest.approx(value, rel=1e-7)
    else:
        assert decoded == value
        assert type(decoded) is type(value)


def test_decoder_unset_and_null_are_none(Value):
    assert decode_value(Value().SerializeToString()) is None
    assert decode_value(Value(null_val=0).SerializeToString()) is None


def test_decoder_nan_and_infinity(Value):
    assert math.isnan(decode_value(Value(double_val=float("nan")).SerializeToString()))
    assert decode_value(Value(double_val=float("inf")).SerializeToString()) == float("inf")


def test_decoder_refuses_list_values(Value):
    from google.protobuf import descriptor

    message = Value()
    list_field = message.DESCRIPTOR.fields_by_name["double_list_val"]
    assert list_field.type == descriptor.FieldDescriptor.TYPE_MESSAGE
    message.double_list_val.val.extend([1.0, 2.0])
    with pytest.raises(UnsupportedFeatureValue):
        decode_value(message.SerializeToString())


def test_decoder_rejects_truncated_bytes(Value):
    data = Value(string_val="abcdef").SerializeToString()
    with pytest.raises(ValueError):
        decode_value(data[:-2])


def test_views_cover_exactly_the_model_feature_vector():
    from maestro.domain.meta.history import FEATURE_NAMES

    assert MODEL_FEATURES == FEATURE_NAMES
    assert {view_for(n) for n in FEATURE_NAMES} <= set(VIEW_FEATURES)
    assert view_for("features.gpu_hours") == "project_own_features"
    with pytest.raises(KeyError):
        view_for("no_such_feature")


def test_reader_imports_neither_feast_nor_pandas_nor_protobuf():
    watched = ("feast", "pandas", "google.protobuf", "pyarrow", "dask")
    assert modules_loaded_by("maestro.repositories.online_features", watched) == ""
