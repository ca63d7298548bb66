"""The tamper-evident audit log: what an event records, how secrets are kept out, and how the hash chain is built
and verified. Pure Python; storage lives in maestro.repositories.audit_log.

Every tenant's events form one chain: link `seq` n (1, 2, 3, ...) stores `prev_hash`, the `hash` of link n-1
(`GENESIS_HASH` for link 1), and its own `hash` over its content and `prev_hash`. Editing, deleting or moving a
stored event therefore breaks the chain at a point `verify_chain` can name.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
REDACTED = "[redacted]"
OUTCOMES = frozenset({"success", "failure", "denied"})
ANONYMOUS = "anonymous"

# A key is secret when its name, lowercased with punctuation removed, contains one of these
# ("X-Api-Key" -> "xapikey", "refresh_token" -> "refreshtoken").
SECRET_KEY_FRAGMENTS = ("password", "secret", "token", "hash", "authorization", "apikey", "credential")
# Values that are credentials whatever their key is called: HTTP auth headers and JWTs.
_SECRET_VALUE = re.compile(r"^(bearer|basic)\s+\S+|^eyJ[\w-]+\.[\w-]+\.[\w-]*$", re.IGNORECASE)

# The content fields a link's hash covers, besides prev_hash. Changing this list changes every hash.
LINK_FIELDS = (
    "tenant_id",
    "seq",
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
)
MAX_USER_AGENT = 512  # client-controlled: bounded so a caller cannot bloat its own audit trail

# How far verify_chain looks on either side of a broken link for the seq its content really belongs to.
REORDER_WINDOW = 1024


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """What a caller records about one mutating request or auth event; the log adds time, seq and hashes."""

    actor: str  # "user:<id>", "key:<id>" or "anonymous"
    action: str  # "auth.login", "user.update", ...
    resource_type: str
    outcome: str  # "success" | "failure" | "denied"
    resource_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    changes: dict[str, Any] | None = None  # {"before": {...}, "after": {...}}, as `diff` returns it

    def __post_init__(self) -> None:
        for name in ("actor", "action", "resource_type"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"audit entry needs a non-empty {name}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"audit outcome must be one of {sorted(OUTCOMES)}, not {self.outcome!r}")
        if self.changes is not None and not isinstance(self.changes, dict):
            raise ValueError("audit changes must be a dict")


@dataclass(frozen=True)
class ChainVerification:
    intact: bool
    checked: int  # links examined, up to and including the first broken one
    first_broken: dict[str, Any] | None = None  # {"seq", "event_id", "problem"}

    def to_body(self) -> dict[str, Any]:
        return {"intact": self.intact, "checked": self.checked, "first_broken": self.first_broken}


# ---------------------------------------------------------------- secrets
def is_secret_key(name: Any) -> bool:
    folded = re.sub(r"[^a-z0-9]", "", str(name).lower())
    return any(fragment in folded for fragment in SECRET_KEY_FRAGMENTS)


def redact(value: Any) -> Any:
    """A deep copy of `value` in which every dict entry whose key names a secret (password, secret, token, hash,
    authorization, api key, credential; case and punctuation ignored), and every string that is itself a
    credential (a "Bearer ..."/"Basic ..." header or a JWT), is replaced by "[redacted]". Recurses through
    dicts, lists and tuples (tuples come back as lists, as JSON would store them)."""
    if isinstance(value, dict):
        return {key: REDACTED if is_secret_key(key) else redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return REDACTED if _SECRET_VALUE.match(value) else value
    return copy.deepcopy(value)


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any] | None:
    """The top-level keys whose values differ, as {"before": {k: old}, "after": {k: new}}, redacted.

    A key that exists on one side only appears on that side only. Values are compared before redaction, so a
    changed password shows as changed ("[redacted]" on both sides). None when nothing changed."""
    before, after = before or {}, after or {}
    changed = [key for key in {**before, **after} if key not in before or key not in after or before[key] != after[key]]
    if not changed:
        return None
    return redact(
        {
            "before": {key: before[key] for key in changed if key in before},
            "after": {key: after[key] for key in changed if key in after},
        }
    )


# ---------------------------------------------------------------- the chain
def canonical_time(value: datetime | str) -> str:
    """An instant as the chain hashes it: UTC, microseconds, `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`.

    Naive datetimes are taken as UTC (as pynamodb stores them); strings are parsed as ISO 8601 first."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def json_safe(value: Any) -> Any:
    """`value` as it reads back after a JSON round trip (tuples -> lists, keys -> str, others -> str)."""
    return json.loads(json.dumps(value, default=str))


def link_hash(fields: dict[str, Any], prev_hash: str | None) -> str:
    """SHA-256 (lowercase hex) of a link's canonical form.

    Canonical form: the JSON object of exactly the LINK_FIELDS (tenant_id, seq, event_id, occurred_at, actor,
    action, resource_type, resource_id, outcome, source_ip, user_agent, request_id, changes) plus prev_hash,
    a missing field counting as null; seq as an integer; occurred_at as `canonical_time` gives it; serialised
    with `json.dumps(..., sort_keys=True, separators=(",", ":"), default=str)` (keys sorted at every depth,
    no whitespace, non-ASCII escaped) and encoded as UTF-8. Other keys in `fields` (hash, id) are ignored."""
    payload: dict[str, Any] = {name: fields.get(name) for name in LINK_FIELDS}
    payload["seq"] = int(payload["seq"])
    if payload["occurred_at"] is not None:
        payload["occurred_at"] = canonical_time(payload["occurred_at"])
    payload["prev_hash"] = prev_hash
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def build_link(
    tenant_id: str, seq: int, prev_hash: str, entry: AuditEntry, *, event_id: str, occurred_at: datetime
) -> dict[str, Any]:
    """The link that records `entry` as event `seq` of the tenant's chain, hashed and ready to store.

    `changes` is redacted and made JSON-safe here, so the hash covers exactly what storage will read back;
    empty optional strings become None (stored as absent) for the same reason."""
    link: dict[str, Any] = {
        "tenant_id": tenant_id,
        "seq": int(seq),
        "event_id": event_id,
        "occurred_at": canonical_time(occurred_at),
        "actor": entry.actor,
        "action": entry.action,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id or None,
        "outcome": entry.outcome,
        "source_ip": entry.source_ip or None,
        "user_agent": (entry.user_agent or None) and entry.user_agent[:MAX_USER_AGENT],
        "request_id": entry.request_id or None,
        "changes": json_safe(redact(entry.changes)) if entry.changes is not None else None,
        "prev_hash": prev_hash,
    }
    link["hash"] = link_hash(link, prev_hash)
    return link


def verify_chain(links: Iterable[dict[str, Any]], *, expected_head_seq: int | None = None) -> ChainVerification:
    """Checks links given in ascending seq order and names the first broken one.

    A link is sound when its seq is the previous seq + 1 (starting at 1), its prev_hash is the previous link's
    stored hash (GENESIS_HASH for seq 1), and its stored hash equals `link_hash` of its content. The first
    link that is not sound is reported as {"seq", "event_id", "problem"}, problem being:

    - "missing": the seq is not contiguous. Reported at the first seq after the gap (a deleted event 3 shows as
      missing at seq 4: the deleted event has no event id left to name). With `expected_head_seq` (a head
      recorded elsewhere), a chain that ends early is missing at last seq + 1 with event_id None; without it a
      deleted *last* event cannot be told from one never written.
    - "reordered": the link's content is authentic (its hash verifies) for a different seq within
      REORDER_WINDOW, or its prev_hash is the hash of an earlier, non-adjacent link: an event moved. Swapping
      the contents of events 3 and 4 is reported as reordered at seq 3.
    - "forked": its prev_hash is the previous link's prev_hash: two links claim the same predecessor.
    - "edited": anything else. A field edited in place is reported at its own seq. An edit whose author also
      recomputed that link's hash shows at the next seq, whose prev_hash no longer matches.
    """
    prev: dict[str, Any] | None = None
    recent_hashes: deque[str] = deque(maxlen=REORDER_WINDOW)
    checked = 0
    expected_seq = 1
    for link in links:
        checked += 1
        seq = int(link["seq"])
        if seq != expected_seq:
            problem = "missing" if seq > expected_seq else "reordered"
            return _broken(checked, link, problem)
        prev_hash = prev["hash"] if prev else GENESIS_HASH
        content_ok = link_hash(link, link.get("prev_hash")) == link.get("hash")
        if not content_ok or link.get("prev_hash") != prev_hash:
            return _broken(checked, link, _classify(link, prev, recent_hashes))
        recent_hashes.append(link["hash"])
        prev = link
        expected_seq += 1
    if expected_head_seq is not None and expected_seq <= expected_head_seq:
        return ChainVerification(False, checked, {"seq": expected_seq, "event_id": None, "problem": "missing"})
    return ChainVerification(True, checked)


def _classify(link: dict[str, Any], prev: dict[str, Any] | None, recent_hashes: deque[str]) -> str:
    seq, claimed_prev = int(link["seq"]), link.get("prev_hash")
    for other_seq in range(max(1, seq - REORDER_WINDOW), seq + REORDER_WINDOW + 1):
        if other_seq != seq and link_hash({**link, "seq": other_seq}, claimed_prev) == link.get("hash"):
            return "reordered"
    if prev is not None and claimed_prev == prev.get("prev_hash"):
        return "forked"
    if prev is not None and claimed_prev != prev["hash"] and claimed_prev in recent_hashes:
        return "reordered"
    return "edited"


def _broken(checked: int, link: dict[str, Any], problem: str) -> ChainVerification:
    return ChainVerification(
        False, checked, {"seq": int(link["seq"]), "event_id": link.get("event_id"), "problem": problem}
    )
