"""Artifact version rules without AWS: the object key layout, the declaration, the verdict on uploaded bytes,
the latest version, and the bounded lineage walk."""

import base64
import hashlib

import pytest

from maestro.domain import artifact_versions as rules
from maestro.domain.artifact_versions import ObjectLocation, VersionRef
from maestro.domain.artifacts import MAX_CONTENT_BYTES


def test_object_key_round_trips_through_the_parser():
    key = rules.object_key("ten_1", "art_2", "1.2.3-rc.1+build.7")
    assert key == "artifacts/ten_1/art_2/1.2.3-rc.1+build.7"
    assert rules.parse_object_key(key) == ObjectLocation("ten_1", "art_2", "1.2.3-rc.1+build.7")


def test_an_url_encoded_event_key_is_decoded_as_aws_sends_it():
    assert rules.parse_object_key("artifacts/ten_1/art_2/1.0.0%2Bbuild.7").version == "1.0.0+build.7"


@pytest.mark.parametrize(
    "key",
    [
        "ingest/t/p/x",
        "artifacts/t/a",
        "artifacts/t/a/not-semver",
        "artifacts/t/a/1.0.0/x",
        "artifacts//a/1.0.0",
        "artifacts/t/../1.0.0",
        "artifacts/t/a/01.0.0",
    ],
)
def test_keys_outside_the_layout_name_no_version(key):
    assert rules.parse_object_key(key) is None


@pytest.mark.parametrize(
    "version, ok",
    [
        ("1.0.0", True),
        ("0.1.0-alpha.1", True),
        ("2.0.0+sha.5114f85", True),
        ("1.0", False),
        ("v1.0.0", False),
        ("1.0.0-01", False),
        ("", False),
    ],
)
def test_versions_must_be_semver(version, ok):
    assert (rules.version_problem(version) is None) is ok


def test_declared_size_is_between_one_byte_and_5_gib():
    assert rules.size_problem(1) is None and rules.size_problem(MAX_CONTENT_BYTES) is None
    assert "at least 1 byte" in rules.size_problem(0)
    assert "5 GiB" in rules.size_problem(MAX_CONTENT_BYTES + 1)


@pytest.mark.parametrize(
    "content_type, ok",
    [
        ("application/octet-stream", True),
        ("text/csv; charset=utf-8", True),
        ("application/vnd.apache.parquet", True),
        ('text/plain; a="b c"', True),
        ("octet-stream", False),
        ("text/", False),
        ("a/b c", False),
    ],
)
def test_content_type_must_be_a_mime_type(content_type, ok):
    assert (rules.content_type_problem(content_type) is None) is ok


def test_sha256_is_64_hex_characters_and_its_header_is_base64_of_the_digest():
    digest = hashlib.sha256(b"weights").hexdigest()
    assert rules.sha256_problem(digest) is None and rules.sha256_problem(digest[:-1]) is not None
    assert rules.sha256_problem("g" * 64) is not None
    assert base64.b64decode(rules.checksum_header(digest)) == bytes.fromhex(digest)


def test_a_version_cannot_derive_from_itself_or_name_a_parent_twice():
    child, parent = VersionRef("a", "1.0.0"), VersionRef("b", "1.0.0")
    assert rules.parents_problem(child, [parent]) is None
    assert rules.parents_problem(child, [VersionRef("a", "0.9.0")]) is None  # an earlier version of itself
    assert "itself" in rules.parents_problem(child, [child])
    assert "twice" in rules.parents_problem(child, [parent, parent])
    assert "at most" in rules.parents_problem(child, [VersionRef("b", f"1.0.{n}") for n in range(21)])


def test_the_verdict_names_what_differs():
    digest = hashlib.sha256(b"0123456789").hexdigest()
    assert rules.judge_content(10, digest, 10, digest.upper()).accepted
    assert rules.judge_content(10, digest, 12, digest).reason == "size 12 does not match declared 10"
    assert rules.judge_content(10, digest, 10, hashlib.sha256(b"x").hexdigest()).reason == "sha256 mismatch"
    assert rules.judge_size(10, 10) is None


def test_latest_version_follows_semver_precedence_not_string_order():
    assert rules.latest_version(["1.9.0", "1.10.0", "1.10.0-rc.1", "0.99.0"]) == "1.10.0"
    assert rules.latest_version([]) is None


GRAPH = {"a": ["b", "c"], "b": ["d"], "c": ["d", "a"], "d": ["e"], "e": ["f"], "f": []}


def _walk(depth, max_nodes=500):
    refs = {name: VersionRef(name, "1.0.0") for name in GRAPH}
    found, cut = rules.walk_lineage([refs["a"]], lambda r: [refs[n] for n in GRAPH[r.artifact_id]], depth, max_nodes)
    return [(ref.artifact_id, hops) for ref, hops in found], cut


def test_lineage_walk_reports_each_version_once_at_its_fewest_hops_and_survives_a_cycle():
    assert _walk(5) == ([("b", 1), ("c", 1), ("d", 2), ("e", 3), ("f", 4)], False)


def test_lineage_walk_stops_at_the_depth_bound():
    assert _walk(2) == ([("b", 1), ("c", 1), ("d", 2)], False)
    assert _walk(1) == ([("b", 1), ("c", 1)], False)


def test_lineage_walk_says_when_the_node_cap_cut_it_short():
    assert _walk(5, max_nodes=2) == ([("b", 1), ("c", 1)], True)


# ---------------------------------------------------------------- aliases
@pytest.mark.parametrize("alias", ["champion", "staging", "prod-eu", "canary_2", "a"])
def test_mlflow_like_alias_names_are_accepted(alias):
    from maestro.domain.aliases import alias_problem

    assert alias_problem(alias) is None


@pytest.mark.parametrize("alias", ["Champion", "latest", "v3", "2nd", "a--b", "a b", "x" * 64, "", "@champion"])
def test_other_alias_names_are_refused_with_the_rule(alias):
    from maestro.domain.aliases import alias_problem

    assert alias_problem(alias)


def test_an_at_sign_names_an_alias_in_place_of_a_version():
    from maestro.domain.aliases import alias_of

    assert alias_of("@champion") == "champion" and alias_of("1.2.0") is None


def test_a_download_is_named_after_its_artifact_and_version_with_nothing_that_breaks_the_header():
    from maestro.domain.artifact_versions import download_filename

    assert download_filename("churn-features", "1.1.0") == "churn-features-1.1.0"
    assert download_filename("churn features", "2.0.0-rc.1") == "churn_features-2.0.0-rc.1"
    named = download_filename('a "quoted"\r\nname/é', "1.0.0")
    assert named == "a_quoted_name_-1.0.0" and not set(named) & set('"\r\n/é;')
