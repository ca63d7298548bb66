"""The audit log's pure rules: secrets never recorded, diffs of changed keys only, and a hash chain whose
verification names the first edited, missing, moved or forked link."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from maestro.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    build_link,
    canonical_time,
    diff,
    link_hash,
    redact,
    verify_chain,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CONTENT_FIELDS = (
    "event_id",
    "occurred_at",
    "actor",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "source_ip",
    "user_agent",
    "request_id",
    "changes",
    "prev_hash",
    "hash",
)


def entry(n: int, **overrides) -> AuditEntry:
    fields = dict(
        actor=f"user:u{n % 3}",
        action="project.update",
        resource_type="project",
        resource_id=f"p{n}",
        outcome="success",
        source_ip="203.0.113.7",
        user_agent="pytest",
        request_id=f"req-{n}",
        changes={"before": {"name": f"old-{n}"}, "after": {"name": f"new-{n}"}},
    )
    fields.update(overrides)
    return AuditEntry(**fields)


def make_chain(length: int, tenant_id: str = "tenant-a") -> list[dict]:
    links, prev_hash = [], GENESIS_HASH
    for seq in range(1, length + 1):
        link = build_link(
            tenant_id, seq, prev_hash, entry(seq), event_id=f"e{seq}", occurred_at=T0 + timedelta(seconds=seq)
        )
        links.append(link)
        prev_hash = link["hash"]
    return links


def swap_contents(links: list[dict], i: int, j: int) -> None:
    """Swap everything but the keys (tenant_id, seq), as a tamperer rewriting two items would."""
    a, b = links[i], links[j]
    for name in CONTENT_FIELDS:
        a[name], b[name] = b[name], a[name]


# ---------------------------------------------------------------- secrets
def test_redact_hides_secret_keys_at_any_depth_and_in_lists():
    value = {
        "name": "ada",
        "password": "hunter2",
        "profile": {"refresh_token": "rt-1", "secret_hash": "h", "nested": [{"X-Api-Key": "mml_k_s"}, "plain"]},
        "headers": {"Authorization": "Bearer abc", "User-Agent": "curl"},
        "oldPasswordHash": "argon2...",
        "aws_credentials": {"key": "AKIA"},
        "apiKey": "k",
    }
    assert redact(value) == {
        "name": "ada",
        "password": "[redacted]",
        "profile": {
            "refresh_token": "[redacted]",
            "secret_hash": "[redacted]",
            "nested": [{"X-Api-Key": "[redacted]"}, "plain"],
        },
        "headers": {"Authorization": "[redacted]", "User-Agent": "curl"},
        "oldPasswordHash": "[redacted]",
        "aws_credentials": "[redacted]",
        "apiKey": "[redacted]",
    }


def test_redact_returns_a_copy_and_leaves_the_input_alone():
    value = {"user": {"password": "p", "tags": ["a"]}}
    copied = redact(value)
    copied["user"]["tags"].append("b")
    assert value == {"user": {"password": "p", "tags": ["a"]}}


def test_redact_hides_credential_values_whatever_the_key():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    assert redact({"note": "Bearer abc.def", "raw": jwt, "basic": ["Basic dXNlcjpwYXNz"], "ok": "Bearer"}) == {
        "note": "[redacted]",
        "raw": "[redacted]",
        "basic": ["[redacted]"],
        "ok": "Bearer",
    }


def test_diff_keeps_only_changed_keys_and_redacts_them():
    before = {"name": "a", "role": "viewer", "password_hash": "h1", "same": 1, "gone": True}
    after = {"name": "a", "role": "admin", "password_hash": "h2", "same": 1, "new": "x"}
    assert diff(before, after) == {
        "before": {"role": "viewer", "password_hash": "[redacted]", "gone": True},
        "after": {"role": "admin", "password_hash": "[redacted]", "new": "x"},
    }


def test_diff_of_creation_deletion_and_no_change():
    assert diff(None, {"name": "p"}) == {"before": {}, "after": {"name": "p"}}
    assert diff({"name": "p"}, None) == {"before": {"name": "p"}, "after": {}}
    assert diff({"name": "p"}, {"name": "p"}) is None
    assert diff(None, None) is None


def test_entry_rejects_unknown_outcome_and_empty_actor():
    with pytest.raises(ValueError):
        entry(1, outcome="ok")
    with pytest.raises(ValueError):
        entry(1, actor="")


# ---------------------------------------------------------------- hashing
def test_link_hash_is_deterministic_and_ignores_key_order_and_extra_fields():
    link = make_chain(1)[0]
    reordered = dict(reversed(list(link.items())))
    assert link_hash(link, GENESIS_HASH) == link_hash(reordered, GENESIS_HASH) == link["hash"]
    assert link_hash({**link, "id": "x", "hash": "y"}, GENESIS_HASH) == link["hash"]
    assert len(link["hash"]) == 64 and int(link["hash"], 16) >= 0


def test_link_hash_treats_the_same_instant_the_same_in_any_notation():
    link = make_chain(1)[0]
    moment = datetime.fromisoformat(link["occurred_at"])
    for notation in (
        moment,
        moment.replace(tzinfo=None),
        moment.isoformat().replace("+00:00", "Z"),
        moment.astimezone(timezone(timedelta(hours=2))),
    ):
        assert link_hash({**link, "occurred_at": notation}, GENESIS_HASH) == link["hash"]
    assert canonical_time(T0) == "2025-03-01T12:00:00.000000+00:00"


@pytest.mark.parametrize(
    "field, value",
    [
        ("tenant_id", "tenant-b"),
        ("seq", 2),
        ("event_id", "e9"),
        ("occurred_at", T0),
        ("actor", "user:evil"),
        ("action", "project.delete"),
        ("resource_type", "artifact"),
        ("resource_id", None),
        ("outcome", "failure"),
        ("source_ip", "198.51.100.1"),
        ("user_agent", "curl"),
        ("request_id", "req-x"),
        ("changes", {"before": {}, "after": {}}),
    ],
)
def test_link_hash_covers_every_content_field(field, value):
    link = make_chain(1)[0]
    assert link_hash({**link, field: value}, GENESIS_HASH) != link["hash"]


def test_link_hash_covers_the_previous_hash():
    link = make_chain(1)[0]
    assert link_hash(link, "f" * 64) != link["hash"]


def test_build_link_stores_changes_redacted_and_json_safe():
    link = build_link(
        "t",
        1,
        GENESIS_HASH,
        entry(1, changes={"after": {"password": "p", "at": T0, "ids": (1, 2)}}),
        event_id="e1",
        occurred_at=T0,
    )
    assert link["changes"] == {"after": {"password": "[redacted]", "at": str(T0), "ids": [1, 2]}}
    assert link["prev_hash"] == GENESIS_HASH and link["occurred_at"] == "2025-03-01T12:00:00.000000+00:00"


# ---------------------------------------------------------------- verification
def test_intact_chain_verifies():
    result = verify_chain(make_chain(6))
    assert result.intact and result.checked == 6 and result.first_broken is None


def test_empty_chain_is_intact():
    result = verify_chain([])
    assert result.intact and result.checked == 0 and result.first_broken is None


def test_edited_field_is_reported_as_edited_at_its_seq():
    links = make_chain(6)
    links[2]["actor"] = "user:someone-else"
    result = verify_chain(links)
    assert not result.intact
    assert result.first_broken == {"seq": 3, "event_id": "e3", "problem": "edited"}
    assert result.checked == 3


def test_edit_with_recomputed_hash_is_reported_at_the_next_link():
    links = make_chain(6)
    links[2]["outcome"] = "failure"
    links[2]["hash"] = link_hash(links[2], links[2]["prev_hash"])
    assert verify_chain(links).first_broken == {"seq": 4, "event_id": "e4", "problem": "edited"}


def test_deleted_event_is_reported_missing_at_the_first_seq_after_the_gap():
    links = make_chain(6)
    del links[2]
    assert verify_chain(links).first_broken == {"seq": 4, "event_id": "e4", "problem": "missing"}


def test_deleted_first_event_is_missing():
    assert verify_chain(make_chain(3)[1:]).first_broken == {"seq": 2, "event_id": "e2", "problem": "missing"}


def test_deleted_last_event_is_missing_only_against_a_recorded_head():
    links = make_chain(6)[:-1]
    assert verify_chain(links).intact
    assert verify_chain(links, expected_head_seq=6).first_broken == {"seq": 6, "event_id": None, "problem": "missing"}
    assert verify_chain(make_chain(6), expected_head_seq=6).intact


def test_swapped_events_are_reported_as_reordered_at_the_earlier_seq():
    links = make_chain(6)
    swap_contents(links, 2, 3)
    assert verify_chain(links).first_broken == {"seq": 3, "event_id": "e4", "problem": "reordered"}


def test_event_moved_far_back_is_reordered():
    links = make_chain(8)
    swap_contents(links, 1, 6)
    assert verify_chain(links).first_broken == {"seq": 2, "event_id": "e7", "problem": "reordered"}


def test_link_pointing_at_an_earlier_non_adjacent_link_is_reordered():
    links = make_chain(6)
    links[4]["prev_hash"] = links[1]["hash"]
    links[4]["hash"] = link_hash(links[4], links[4]["prev_hash"])
    assert verify_chain(links).first_broken == {"seq": 5, "event_id": "e5", "problem": "reordered"}


def test_two_links_claiming_the_same_predecessor_are_a_fork():
    links = make_chain(3)
    fork = build_link("tenant-a", 3, links[0]["hash"], entry(9), event_id="e-fork", occurred_at=T0)
    assert verify_chain([*links[:2], fork]).first_broken == {"seq": 3, "event_id": "e-fork", "problem": "forked"}


def test_first_link_must_start_from_genesis():
    links = make_chain(2)
    links[0]["prev_hash"] = "1" * 64
    links[0]["hash"] = link_hash(links[0], links[0]["prev_hash"])
    assert verify_chain(links).first_broken == {"seq": 1, "event_id": "e1", "problem": "edited"}


def test_event_copied_from_another_tenant_is_edited():
    ours, theirs = make_chain(3, "tenant-a"), make_chain(3, "tenant-b")
    ours[1] = {**theirs[1], "tenant_id": "tenant-a"}
    assert verify_chain(ours).first_broken["problem"] == "edited"


def test_duplicate_seq_is_reordered():
    links = make_chain(3)
    assert verify_chain([links[0], links[1], links[1]]).first_broken == {
        "seq": 2,
        "event_id": "e2",
        "problem": "reordered",
    }
