import pytest

from maestro.domain.errors import InvalidInput
from maestro.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

TENANT_A = {"tenant_id": {"S": "tenant-a"}}


def test_cursor_round_trips_and_is_opaque():
    key = {"tenant_id": {"S": "tenant-a"}, "project_id": {"S": "p-42"}}
    cursor = encode_cursor(key)
    assert "tenant-a" not in cursor and "p-42" not in cursor
    assert decode_cursor(cursor, TENANT_A) == key


def test_no_last_key_means_no_cursor():
    assert encode_cursor(None) is None
    assert encode_cursor({}) is None
    assert decode_cursor(None, TENANT_A) is None


def test_cursor_from_another_tenant_is_rejected():
    foreign = encode_cursor({"tenant_id": {"S": "tenant-b"}, "project_id": {"S": "p-1"}})
    with pytest.raises(InvalidInput):
        decode_cursor(foreign, TENANT_A)


@pytest.mark.parametrize("garbage", ["%%%", "bm90IGpzb24", "W10"])  # not base64, not JSON, a JSON list
def test_garbage_cursor_is_rejected(garbage):
    with pytest.raises(InvalidInput):
        decode_cursor(garbage, TENANT_A)


def test_limit_defaults_and_bounds():
    from maestro.domain.errors import ValidationFailed
    from maestro.http.requests import parse_query
    from maestro.http.schemas import PageQuery

    assert parse_query(PageQuery, {}).limit == DEFAULT_LIMIT == 50
    assert parse_query(PageQuery, {"limit": "1000"}).limit == MAX_LIMIT
    for bad in ("0", "1001", "ten", "-3", ""):
        with pytest.raises(ValidationFailed) as raised:
            parse_query(PageQuery, {"limit": bad})
        assert [error["field"] for error in raised.value.extensions["errors"]] == ["limit"]


def test_page_body_has_items_and_next_cursor():
    assert Page(items=[1, 2], next_cursor="abc").to_body(lambda i: {"id": i}) == {
        "items": [{"id": 1}, {"id": 2}],
        "next_cursor": "abc",
    }
