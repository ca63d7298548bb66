"""Artifact versions: where their content lives, what a declaration must say, how uploaded bytes are judged
against it, and how lineage is walked. Pure rules: no AWS, no Chalice."""

from __future__ import annotations

import base64
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from maestro.domain.artifacts import MAX_CONTENT_BYTES, is_semver, semver_key

OBJECT_PREFIX = "artifacts/"
UPLOAD_URL_SECONDS = 15 * 60
DOWNLOAD_URL_SECONDS = 5 * 60
MAX_PARENTS = 20  # a version and its lineage edges are one transaction (DynamoDB allows 100 items)
DEFAULT_LINEAGE_DEPTH = 3
MAX_LINEAGE_DEPTH = 5
MAX_LINEAGE_NODES = 500  # per direction: a wide graph is cut short (and says so) rather than read whole
# `complete` verifies inside an API request (API Gateway gives up after 29 s); larger objects are left to the
# object-created event, whose function has minutes.
SYNC_VERIFY_MAX_BYTES = 1024**3

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def download_filename(artifact_name: str, version: str) -> str:
    """What a downloaded version is saved as: `churn-features-1.1.0`, with anything that could break the quoted
    Content-Disposition value (quotes, separators, control or non-ASCII characters) made `_`."""
    return _UNSAFE_IN_FILENAME.sub("_", f"{artifact_name}-{version}").strip("._") or "artifact"


_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}\Z")
# RFC 6838 type/subtype names, optionally followed by parameters (`text/csv; charset=utf-8`).
_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
# No CR, LF or other control character anywhere (the value goes back out as an upload header): blanks around
# `;` are spaces or tabs only, quoted values printable, and \Z (not $, which also matches before a final "\n").
_MIME = re.compile(rf'^{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|"[^"\\\x00-\x1f\x7f]*"))*\Z')


class Integrity:
    """What the platform knows about the object under a version's key since it verified it."""

    UNVERIFIED = "unverified"
    INTACT = "intact"
    CHANGED = "changed"  # another object was written under the key; downloads stay pinned to the verified one


@dataclass(frozen=True)
class VersionRef:
    artifact_id: str
    version: str


@dataclass(frozen=True)
class ObjectLocation:
    tenant_id: str
    artifact_id: str
    version: str


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str | None = None


# ---------------------------------------------------------------- the object key
def object_key(tenant_id: str, artifact_id: str, version: str) -> str:
    """Where a version's content lives in the artifact bucket."""
    return f"{OBJECT_PREFIX}{tenant_id}/{artifact_id}/{version}"


def parse_object_key(key: str) -> ObjectLocation | None:
    """The tenant, artifact and version an object key names, or None when it breaks the layout.

    AWS sends object keys URL-encoded in events (`+` in build metadata arrives as `%2B`); moto sends them
    raw. A valid key never contains `%` or a space, so the raw key is tried first, then its decoded form."""
    from urllib.parse import unquote_plus

    for candidate in (key, unquote_plus(key)):
        location = _parse(candidate)
        if location is not None:
            return location
    return None


def _parse(key: str) -> ObjectLocation | None:
    if not key.startswith(OBJECT_PREFIX):
        return None
    parts = key[len(OBJECT_PREFIX) :].split("/")
    if len(parts) != 3 or not _ID.match(parts[0]) or not _ID.match(parts[1]) or not is_semver(parts[2]):
        return None
    return ObjectLocation(*parts)


# ---------------------------------------------------------------- the declaration
def version_problem(version: str) -> str | None:
    if not is_semver(version):
        return "must be a semantic version (SemVer 2.0), such as 1.0.0 or 2.1.0-rc.1"
    if len(version) > 128:
        return "must be at most 128 characters"
    return None


def size_problem(size_bytes: int) -> str | None:
    if size_bytes < 1:
        return "must be at least 1 byte"
    if size_bytes > MAX_CONTENT_BYTES:
        return (
            f"{size_bytes} bytes exceeds the largest artifact version, {MAX_CONTENT_BYTES} bytes (5 GiB, one S3 upload)"
        )
    return None


def sha256_problem(sha256: str) -> str | None:
    return None if _SHA256_HEX.match(sha256) else "must be the SHA-256 digest as 64 hexadecimal characters"


def content_type_problem(content_type: str) -> str | None:
    if len(content_type) > 255 or not _MIME.match(content_type):
        return "must be a MIME type such as application/octet-stream or text/csv; charset=utf-8"
    return None


def parents_problem(child: VersionRef, parents: list[VersionRef]) -> str | None:
    """What is wrong with a `derived_from` list on its face (existence is the repository's to check)."""
    if len(parents) > MAX_PARENTS:
        return f"at most {MAX_PARENTS} parents"
    if child in parents:
        return "a version cannot derive from itself"
    if len(set(parents)) != len(parents):
        return "lists the same parent twice"
    return None


def checksum_header(sha256_hex: str) -> str:
    """The `x-amz-checksum-sha256` value S3 expects: the digest base64-encoded, not hex."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


# ---------------------------------------------------------------- verification
def judge_size(declared_size: int, actual_size: int) -> Verdict | None:
    """A rejection when the object's size differs from the declaration (decided before reading any bytes)."""
    if actual_size != declared_size:
        return Verdict(False, f"size {actual_size} does not match declared {declared_size}")
    return None


def judge_content(declared_size: int, declared_sha256: str, actual_size: int, actual_sha256: str) -> Verdict:
    """Ready only when the bytes that landed are exactly the bytes declared: same length, same SHA-256."""
    return judge_size(declared_size, actual_size) or (
        Verdict(True) if actual_sha256.lower() == declared_sha256.lower() else Verdict(False, "sha256 mismatch")
    )


def latest_version(versions: Iterable[str]) -> str | None:
    """The highest version by SemVer precedence (ties in build metadata go to the greater string)."""
    return max(versions, key=lambda v: (semver_key(v), v), default=None)


# ---------------------------------------------------------------- lineage
def walk_lineage(
    start: Iterable[VersionRef],
    neighbours: Callable[[VersionRef], Iterable[VersionRef]],
    depth: int,
    max_nodes: int = MAX_LINEAGE_NODES,
) -> tuple[list[tuple[VersionRef, int]], bool]:
    """Breadth-first from `start` (not reported) up to `depth` hops. Each version is reported once, at the
    fewest hops that reach it, so even a cyclic graph terminates. Returns (version, hops) pairs in visiting
    order and whether `max_nodes` cut the walk short."""
    origins = list(dict.fromkeys(start))  # ordered and without repeats, so the walk is deterministic
    seen = set(origins)
    frontier = deque((ref, 0) for ref in origins)
    found: list[tuple[VersionRef, int]] = []
    while frontier:
        ref, hops = frontier.popleft()
        if hops >= depth:
            continue
        for neighbour in neighbours(ref):
            if neighbour in seen:
                continue
            if len(found) >= max_nodes:
                return found, True
            seen.add(neighbour)
            found.append((neighbour, hops + 1))
            frontier.append((neighbour, hops + 1))
    return found, False
