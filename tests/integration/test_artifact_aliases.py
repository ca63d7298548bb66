"""Version aliases over HTTP: set, move (audited from/to), remove and list; MLflow-like names; 409 for versions
that are not ready; protected aliases for admins only; conditional moves under concurrency; `@alias` wherever a
version is taken (read, download, usages, lineage); roles and tenant isolation."""

import threading

import pytest
import requests

from tests.integration.conftest import problem
from tests.integration.test_artifact_versions import _artifact, _declare, _published

pytestmark = pytest.mark.integration


def _two_versions(client):
    artifact_id = _published(client, b"first model bytes", "1.0.0")
    _published(client, b"second model bytes", "1.1.0", artifact_id=artifact_id)
    return artifact_id


def _alias_audit(tenant, artifact_id):
    events = tenant.admin.get("/v1/audit", params={"limit": 200}).json()["items"]
    return [e for e in events if e["action"] == "artifact.alias_set" and e["resource_id"] == artifact_id]


def test_an_alias_is_set_then_moved_with_its_from_and_to_audited(tenant, dispatcher):
    developer = tenant.client_for("developer")
    artifact_id = _two_versions(developer)

    created = developer.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.0.0"})
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    assert created.json() | {"updated_at": None} == {
        "id": "champion",
        "alias": "champion",
        "artifact_id": artifact_id,
        "version": "1.0.0",
        "previous_version": None,
        "protected": False,
        "revision": 1,
        "updated_by": created.json()["updated_by"],
        "updated_at": None,
    }
    assert created.json()["updated_by"].startswith("key:")

    moved = developer.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.1.0"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"] == "1.1.0" and moved.json()["previous_version"] == "1.0.0"
    assert moved.json()["revision"] == 2

    again = developer.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.1.0"})
    assert again.status_code == 200 and again.json()["revision"] == 2  # already there: no move, no audit

    audit = _alias_audit(tenant, artifact_id)
    audit.sort(key=lambda e: e["changes"]["after"]["revision"])
    assert [(e["changes"]["before"]["version"], e["changes"]["after"]["version"]) for e in audit] == [
        (None, "1.0.0"),
        ("1.0.0", "1.1.0"),
    ]
    assert {e["changes"]["after"]["alias"] for e in audit} == {"champion"}

    developer.put(f"/v1/artifacts/{artifact_id}/aliases/staging", json={"version": "@champion"})
    listed = tenant.client_for("viewer").get(f"/v1/artifacts/{artifact_id}/aliases")
    assert listed.status_code == 200, listed.text
    assert [(a["alias"], a["version"]) for a in listed.json()["items"]] == [("champion", "1.1.0"), ("staging", "1.1.0")]
    assert listed.json()["next_cursor"] is None


def test_alias_in_place_of_a_version_reads_downloads_records_usage_and_lineage(tenant, dispatcher):
    client = tenant.admin
    artifact_id = _two_versions(client)
    client.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.0.0"})

    view = client.get(f"/v1/artifacts/{artifact_id}/versions/@champion")
    assert view.status_code == 200 and view.json()["version"] == "1.0.0"
    link = client.get(f"/v1/artifacts/{artifact_id}/versions/@champion/download").json()
    assert link["version"] == "1.0.0"
    assert requests.get(link["url"], timeout=30).content == b"first model bytes"

    client.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.1.0"})
    link = client.get(f"/v1/artifacts/{artifact_id}/versions/@champion/download").json()
    assert requests.get(link["url"], timeout=30).content == b"second model bytes"

    project = client.post(
        "/v1/projects", json={"name": "churn", "problem_class": "classification", "complexity_score": 3, "team_size": 2}
    ).json()
    usage = client.post(
        f"/v1/artifacts/{artifact_id}/usages", json={"project_id": project["id"], "version": "@champion"}
    )
    assert usage.status_code == 201, usage.text
    assert usage.json()["version"] == "1.1.0"  # pinned: a usage is history, not a live pointer

    child = _artifact(client, "notebook")
    created = _declare(client, child, b"notebook", derived_from=[{"artifact_id": artifact_id, "version": "@champion"}])
    assert created["derived_from"] == [{"artifact_id": artifact_id, "version": "1.1.0"}]
    upstream = client.get(f"/v1/artifacts/{child}/lineage").json()["upstream"]
    assert [(n["artifact_id"], n["version"]) for n in upstream] == [(artifact_id, "1.1.0")]

    unset = problem(client.get(f"/v1/artifacts/{artifact_id}/versions/@staging/download"), 404)
    assert "alias staging" in unset["detail"]


def test_a_version_that_is_not_ready_cannot_take_an_alias(tenant, dispatcher):
    client = tenant.admin
    artifact_id = _published(client, b"ready bytes", "1.0.0")
    _declare(client, artifact_id, b"never uploaded", "2.0.0")
    body = problem(client.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "2.0.0"}), 409)
    assert body["version_status"] == "pending" and "ready" in body["detail"]
    problem(client.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "3.0.0"}), 404)
    problem(client.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "@staging"}), 404)
    assert client.get(f"/v1/artifacts/{artifact_id}/aliases").json()["items"] == []


@pytest.mark.parametrize("alias", ["Champion", "latest", "v3", "-x", "two__under", "a" * 64, "prod.1"])
def test_alias_names_follow_mlflow_rules(tenant, dispatcher, alias):
    artifact_id = _published(tenant.admin, b"bytes", "1.0.0")
    body = problem(tenant.admin.put(f"/v1/artifacts/{artifact_id}/aliases/{alias}", json={"version": "1.0.0"}), 422)
    assert [e["field"] for e in body["errors"]] == ["alias"]


def test_protected_aliases_are_moved_and_removed_only_by_admins(tenant, dispatcher):
    developer, viewer = tenant.client_for("developer"), tenant.client_for("viewer")
    artifact_id = _two_versions(tenant.admin)
    problem(developer.put("/v1/tenant/protected-aliases", json={"aliases": ["production"]}), 403)
    protected = tenant.admin.put("/v1/tenant/protected-aliases", json={"aliases": ["production"]})
    assert protected.status_code == 200 and protected.json()["aliases"] == ["production"]
    assert viewer.get("/v1/tenant/protected-aliases").json()["aliases"] == ["production"]

    denied = problem(developer.put(f"/v1/artifacts/{artifact_id}/aliases/production", json={"version": "1.0.0"}), 403)
    assert denied["permission"] == "artifacts.protected_aliases"
    set_by_admin = tenant.admin.put(f"/v1/artifacts/{artifact_id}/aliases/production", json={"version": "1.0.0"})
    assert set_by_admin.status_code == 201 and set_by_admin.json()["protected"] is True
    problem(developer.put(f"/v1/artifacts/{artifact_id}/aliases/production", json={"version": "1.1.0"}), 403)
    problem(developer.delete(f"/v1/artifacts/{artifact_id}/aliases/production"), 403)
    assert tenant.admin.get(f"/v1/artifacts/{artifact_id}/aliases/production").json()["version"] == "1.0.0"

    # Unprotected aliases stay the developers' to move; the viewer moves none.
    assert developer.put(f"/v1/artifacts/{artifact_id}/aliases/staging", json={"version": "1.1.0"}).status_code == 201
    problem(viewer.put(f"/v1/artifacts/{artifact_id}/aliases/staging", json={"version": "1.0.0"}), 403)
    problem(viewer.delete(f"/v1/artifacts/{artifact_id}/aliases/staging"), 403)
    removed = developer.delete(f"/v1/artifacts/{artifact_id}/aliases/staging")
    assert removed.status_code == 200 and removed.json() == {"id": "staging", "deleted": True}
    problem(developer.get(f"/v1/artifacts/{artifact_id}/versions/@staging"), 404)
    assert tenant.admin.delete(f"/v1/artifacts/{artifact_id}/aliases/production").status_code == 200

    audit = tenant.admin.get("/v1/audit", params={"limit": 200}).json()["items"]
    deletions = [e for e in audit if e["action"] == "artifact.alias_delete" and e["outcome"] == "success"]
    assert sorted(e["changes"]["before"]["alias"] for e in deletions) == ["production", "staging"]


def test_if_match_moves_only_the_state_it_read(tenant, dispatcher):
    client = tenant.admin
    artifact_id = _two_versions(client)
    first = client.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.0.0"})
    etag = first.headers["ETag"]
    client.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.1.0"})  # someone else moved it
    problem(
        client.put(
            f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.0.0"}, headers={"If-Match": etag}
        ),
        412,
    )
    problem(client.delete(f"/v1/artifacts/{artifact_id}/aliases/champion", headers={"If-Match": etag}), 412)
    current = client.get(f"/v1/artifacts/{artifact_id}/aliases/champion")
    assert current.json()["version"] == "1.1.0"
    moved = client.put(
        f"/v1/artifacts/{artifact_id}/aliases/champion",
        json={"version": "1.0.0"},
        headers={"If-Match": current.headers["ETag"]},
    )
    assert moved.status_code == 200 and moved.json()["revision"] == 3


def test_concurrent_moves_each_replace_a_distinct_state(tenant, dispatcher):
    client = tenant.admin
    artifact_id = _two_versions(client)
    client.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.0.0"})
    answers = []

    def flip(version):
        for _ in range(3):
            response = client.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": version})
            answers.append(response)

    threads = [threading.Thread(target=flip, args=(v,)) for v in ("1.0.0", "1.1.0", "1.0.0", "1.1.0")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers if a.status_code >= 400]
    final = client.get(f"/v1/artifacts/{artifact_id}/aliases/champion").json()
    # Every audited move starts where the previous one ended: no two moves replaced the same state.
    audit = sorted(_alias_audit(tenant, artifact_id), key=lambda e: e["changes"]["after"]["revision"])
    assert [e["changes"]["after"]["revision"] for e in audit] == list(range(1, final["revision"] + 1))
    for earlier, later in zip(audit, audit[1:], strict=False):
        assert later["changes"]["before"]["version"] == earlier["changes"]["after"]["version"]
    assert audit[-1]["changes"]["after"]["version"] == final["version"]


def test_another_tenant_cannot_see_set_or_remove_aliases(new_tenant, dispatcher):
    owner, intruder = new_tenant(), new_tenant()
    artifact_id = _published(owner.admin, b"secret model", "1.0.0")
    owner.admin.put(f"/v1/artifacts/{artifact_id}/aliases/champion", json={"version": "1.0.0"})
    for method, path, body in (
        ("GET", "/aliases", None),
        ("GET", "/aliases/champion", None),
        ("PUT", "/aliases/champion", {"version": "1.0.0"}),
        ("DELETE", "/aliases/champion", None),
        ("GET", "/versions/@champion", None),
        ("GET", "/versions/@champion/download", None),
    ):
        problem(intruder.admin.request(method, f"/v1/artifacts/{artifact_id}{path}", json=body), 404)
    # The intruder's own artifact cannot point an alias at the owner's version either (ids are per artifact).
    own = _published(intruder.admin, b"mine", "2.0.0")
    problem(intruder.admin.put(f"/v1/artifacts/{own}/aliases/champion", json={"version": "1.0.0"}), 404)
    assert owner.admin.get(f"/v1/artifacts/{artifact_id}/aliases/champion").json()["revision"] == 1
