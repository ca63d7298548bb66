"""The per-tenant search index on the local stack: a search never reads the artifact partition (requests counted
at the botocore layer), a cold function loads one snapshot object, an artifact created while snapshots are being
written is searchable within 10 s and never lost, deleting or deprecating takes an artifact out of results at once,
and a warm search reads one counter and, when it moved, the changes since; the page's views are read again only
for the hits that changed."""

from __future__ import annotations

import threading
import time

import pytest

from infra.local.request_counter import aws_requests

pytestmark = [pytest.mark.integration, pytest.mark.embedding]


@pytest.fixture(scope="module", autouse=True)
def exported_model(embedding_model):
    return embedding_model


def _search(client, **body) -> dict:
    response = client.post("/v1/artifacts/search", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _create(client, name: str, **fields) -> dict:
    response = client.post("/v1/artifacts", json={"name": name, "type": "feature_pipeline", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_search_reads_no_partition_and_hydrates_with_at_most_one_batch_read(tenant, dispatcher):
    from maestro.services import search_index

    for n in range(30):
        _create(tenant.admin, f"churn features {n}", description="subscriber churn signals", tags=["churn"])
    dispatcher.wait_idle()  # the embed handler shares this process: its writes would be this reader's to read
    search_index.forget()
    with aws_requests() as cold:
        body = _search(tenant.admin, query="churn features", mode="keyword", limit=20)
    assert body["total"] == 30 and len(body["items"]) == 20
    warm_began = time.monotonic()
    with aws_requests() as warm:
        for mode in ("keyword", "hybrid", "semantic"):
            _search(tenant.admin, query="subscriber churn", mode=mode, limit=20)
        _search(tenant.admin, tags=["churn"], sort="impact", limit=20)
    warm_s = time.monotonic() - warm_began
    # cold: one snapshot GET (none written yet for this tenant: the entries are read once instead)
    assert cold.count("s3", "GetObject") == 1
    assert cold.count("dynamodb", "BatchGetItem") == 1  # the page of 20, read once
    for calls, searches in ((cold, 1), (warm, 4)):
        assert calls.count("dynamodb", "Query", table="artifacts") == 0, calls.summary()
        assert calls.count("dynamodb", "Scan") == 0
        assert calls.count("dynamodb", "GetItem", table="artifacts") == 0, calls.summary()
        # at most one batch read per search, of the hits not read before (none: the views are kept)
        assert calls.count("dynamodb", "BatchGetItem") <= searches, calls.summary()
    # warm: one GetItem of the change counter per search; the changes are read only when it moved (nothing was
    # written meanwhile) or once per REFRESH_INTERVAL_S
    assert warm.count("dynamodb", "GetItem", table="artifact-vectors") == 4, warm.summary()
    refreshes = warm.count("dynamodb", "Query", table="artifact-vectors")
    assert refreshes <= warm_s / search_index.REFRESH_INTERVAL_S, warm.summary()
    assert warm.count("s3") == 0
    # the same search again: the change counter, nothing else
    with aws_requests() as again:
        repeated = _search(tenant.admin, query="subscriber churn", mode="keyword", limit=20)
    assert len(repeated["items"]) == 20
    searched = {k: v for k, v in again.summary().items() if "artifact" in k or k.startswith("s3")}
    assert searched == {"dynamodb:GetItem:maestro-test-artifact-vectors": 1}, again.summary()  # (and the auth's)


def test_a_warm_search_sees_this_process_writes_at_once_and_other_writers_when_their_counter_moves(
    tenant, dispatcher, monkeypatch
):
    """The API's own writes (create here) are read by the next search in the same process; a change written by
    another function is read by the next search once that function moved the tenant's change counter, and a change
    whose counter update was lost (an entry updated straight in the table) waits for the refresh interval."""
    from maestro.repositories import search_index as index_store
    from maestro.repositories import vectors
    from maestro.repositories.schema import ArtifactVector
    from maestro.services import search_index

    monkeypatch.setattr(search_index, "REFRESH_INTERVAL_S", 5.0)  # wide enough for a busy CI machine
    first = _create(tenant.admin, "alpha widget", description="first one")
    dispatcher.wait_idle()
    assert [h["id"] for h in _search(tenant.admin, query="alpha widget", mode="keyword")["items"]] == [first["id"]]
    second = _create(tenant.admin, "beta gadget", description="written by this process")
    with aws_requests() as calls:
        found = _search(tenant.admin, query="beta gadget", mode="keyword")
    assert [h["id"] for h in found["items"]][:1] == [second["id"]]
    # one Query, or none when the embed handler (in this process, handling the create's event) refreshed the
    # shared index first; the rule itself: tests/unit/test_search_index_refresh.py
    assert calls.count("dynamodb", "Query", table="artifact-vectors") <= 1
    dispatcher.wait_idle()
    _search(tenant.admin, query="beta gadget", mode="keyword")  # reads the embed handler's writes
    read_at = time.monotonic()

    row = vectors.get_vector(tenant.tenant_id, first["id"])
    assert row is not None and row.entry
    entry = {**row.entry, "description": "zebra quokka"}
    ArtifactVector._get_connection().update_item(  # another function's write: no note in this process
        tenant.tenant_id,
        first["id"],
        actions=[ArtifactVector.entry.set(entry), ArtifactVector.updated_ms.set(index_store.now_ms())],
    )
    with aws_requests() as calls:
        not_yet = _search(tenant.admin, query="zebra quokka", mode="keyword")
    if time.monotonic() - read_at < search_index.REFRESH_INTERVAL_S:
        assert not_yet["items"] == [] and calls.count("dynamodb", "Query", table="artifact-vectors") == 0
    time.sleep(max(0.0, read_at + search_index.REFRESH_INTERVAL_S - time.monotonic()) + 0.1)
    with aws_requests() as calls:
        later = _search(tenant.admin, query="zebra quokka", mode="keyword")
    assert [h["id"] for h in later["items"]] == [first["id"]]
    assert calls.count("dynamodb", "Query", table="artifact-vectors") == 1

    # another function's write that moves the counter (as note_written does there): the very next search
    entry = {**entry, "description": "okapi narwhal"}
    ArtifactVector._get_connection().update_item(
        tenant.tenant_id,
        first["id"],
        actions=[ArtifactVector.entry.set(entry), ArtifactVector.updated_ms.set(index_store.now_ms())],
    )
    ArtifactVector._get_connection().update_item(
        tenant.tenant_id, index_store.CHANGE_COUNTER_KEY, actions=[ArtifactVector.change_count.add(1)]
    )
    with aws_requests() as calls:
        moved = _search(tenant.admin, query="okapi narwhal", mode="keyword")
    assert [h["id"] for h in moved["items"]] == [first["id"]]
    assert calls.count("dynamodb", "Query", table="artifact-vectors") == 1


def test_a_cold_function_loads_the_snapshot_with_one_object_read(tenant, dispatcher):
    from maestro.services import search_index

    created = [_create(tenant.admin, f"fraud pipeline {n}", description="card fraud signals") for n in range(12)]
    # A Lambda function serves one request at a time; here the embed handler shares this process and its cache,
    # so its work on these artifacts is let finish before the cold load is measured.
    dispatcher.wait_idle()
    assert search_index.compact(tenant.tenant_id, force=True)
    search_index.forget()
    with aws_requests() as calls:
        found = _search(tenant.admin, query="fraud pipeline", mode="keyword", limit=50)
    assert {h["id"] for h in found["items"]} == {a["id"] for a in created}
    assert calls.count("s3", "GetObject") == 1
    assert calls.count("dynamodb", "Query", table="artifact-vectors") == 1, calls.summary()  # changes since
    assert calls.count("dynamodb", "GetItem", table="artifact-vectors") == 1, calls.summary()  # the counter, once
    assert calls.count("dynamodb", "Query", table="artifacts") == 0


def test_artifacts_created_while_snapshots_are_written_are_searchable_within_10_s_and_never_lost(tenant):
    """Three writers create artifacts through the API while a fourth thread, standing for embed functions
    starting cold, loads the index and writes a new snapshot in a loop; each artifact is waited for by its exact
    name. At the end a cold load (snapshot + changes since) holds every one of them."""
    from maestro.services import search_index

    stop = threading.Event()
    snapshots = []
    errors: list[BaseException] = []

    def compact_continuously():
        try:
            while not stop.is_set():
                search_index.forget(tenant.tenant_id)
                search_index.compact(tenant.tenant_id, force=True)
                snapshots.append(time.monotonic())
        except BaseException as error:  # surfaced below
            errors.append(error)

    delays: dict[str, float] = {}

    def write(worker: int):
        try:
            for n in range(8):
                name = f"w{worker} concurrent artifact {n}"
                created_at = time.monotonic()
                artifact = _create(tenant.admin, name, description="written during a snapshot")
                deadline = created_at + 10
                while True:
                    ids = [h["id"] for h in _search(tenant.admin, query=name, mode="keyword", limit=5)["items"]]
                    if ids and ids[0] == artifact["id"]:
                        delays[artifact["id"]] = time.monotonic() - created_at
                        break
                    assert time.monotonic() < deadline, f"{name} not searchable within 10 s"
                    time.sleep(0.1)
        except BaseException as error:
            errors.append(error)

    compactor = threading.Thread(target=compact_continuously)
    writers = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    compactor.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    compactor.join()
    assert not errors, errors
    assert len(delays) == 24 and max(delays.values()) < 10
    assert len(snapshots) >= 3, "the snapshots must have been written while the artifacts were"
    search_index.forget()
    index = search_index.tenant_index(tenant.tenant_id)
    assert index.size == 24
    # and a snapshot written now, loaded cold with nothing after it, still holds all of them
    search_index.compact(tenant.tenant_id, force=True)
    search_index.forget()
    from maestro.domain.search_index import TenantIndex
    from maestro.repositories import search_index as store

    data, _etag = store.read_snapshot(tenant.tenant_id)
    assert TenantIndex.from_snapshot(data).size == 24


def test_deleting_or_deprecating_takes_an_artifact_out_of_results_at_once(tenant):
    kept = _create(tenant.admin, "satellite segmentation kept", description="U-Net for satellite imagery")
    deleted = _create(tenant.admin, "satellite segmentation deleted", description="U-Net for satellite imagery")
    deprecated = _create(tenant.admin, "satellite segmentation old", description="U-Net for satellite imagery")
    for mode in ("keyword", "hybrid"):
        ids = {h["id"] for h in _search(tenant.admin, query="satellite segmentation", mode=mode)["items"]}
        assert {kept["id"], deleted["id"], deprecated["id"]} <= ids
    assert tenant.admin.delete(f"/v1/artifacts/{deleted['id']}").status_code == 200
    patched = tenant.admin.patch(f"/v1/artifacts/{deprecated['id']}", json={"deprecated": {"reason": "replaced"}})
    assert patched.status_code == 200
    for mode in ("keyword", "hybrid", "semantic"):  # no waiting: the very next search
        body = _search(tenant.admin, query="satellite segmentation", mode=mode)
        ids = [h["id"] for h in body["items"]]
        assert deleted["id"] not in ids and deprecated["id"] not in ids, mode
    with_deprecated = _search(tenant.admin, query="satellite segmentation", mode="keyword", include_deprecated=True)
    assert deprecated["id"] in [h["id"] for h in with_deprecated["items"]]
    assert with_deprecated["total"] == 2


def test_a_kept_view_is_read_again_once_another_function_changes_what_it_shows(tenant, dispatcher, monkeypatch):
    """Searches keep the views they read; every change to a field a view shows (edit, deprecation, impact,
    version counts, deletion) is seen by the very next search, here with this process's own-write note removed
    after each change so that only the tenant's change counter can tell the reader (as in another function)."""
    from maestro.repositories import artifacts as artifact_store
    from maestro.repositories import search_index as index_store

    created = [_create(tenant.admin, f"lidar point cloud {n}", description="ground segmentation") for n in range(3)]
    ids = [a["id"] for a in created]
    dispatcher.wait_idle()

    def search_as_another_function(**extra):
        dispatcher.wait_idle()  # the embed handler, in this process, has re-read the changed artifacts
        monkeypatch.setattr(index_store, "_local_writes", {})
        with aws_requests() as calls:
            body = _search(tenant.admin, query="lidar point cloud", mode="keyword", **extra)
        return {h["id"]: h for h in body["items"]}, calls

    before, _ = search_as_another_function()
    assert set(before) == set(ids)
    unchanged, calls = search_as_another_function()
    assert calls.count("dynamodb", "BatchGetItem") == 0 and unchanged == before

    assert tenant.admin.patch(f"/v1/artifacts/{ids[0]}", json={"description": "ground and kerb"}).status_code == 200
    edited, calls = search_as_another_function()
    assert edited[ids[0]]["description"] == "ground and kerb" and edited[ids[0]]["revision"] == 2
    assert calls.count("dynamodb", "BatchGetItem") == 1  # the one changed hit, read again
    assert edited[ids[1]] == before[ids[1]]

    artifact_store.set_impact(tenant.tenant_id, ids[1], 87.5, {"score": 87.5})  # the impact job
    artifact_store.record_version_counts(tenant.tenant_id, ids[2], "2.0.0")  # an upload verified
    derived, _ = search_as_another_function()
    assert derived[ids[1]]["impact_score"] == 87.5
    assert derived[ids[2]]["version_count"] == 1 and derived[ids[2]]["latest_version"] == "2.0.0"

    deprecation = {"deprecated": {"reason": "replaced"}}
    assert tenant.admin.patch(f"/v1/artifacts/{ids[1]}", json=deprecation).status_code == 200
    assert tenant.admin.delete(f"/v1/artifacts/{ids[2]}").status_code == 200
    after, _ = search_as_another_function()
    assert set(after) == {ids[0]}
    listed, _ = search_as_another_function(include_deprecated=True)
    assert set(listed) == {ids[0], ids[1]} and listed[ids[1]]["deprecated"]["reason"] == "replaced"


def test_semantic_search_says_how_many_artifacts_are_not_embedded_yet(tenant, monkeypatch):
    from maestro.domain.errors import DependencyUnavailable
    from maestro.services import embeddings

    real_encoder = embeddings.encoder()
    calls = {"n": 0}

    def encoder_for_queries_only():
        # the request embeds its query; the embed function (same process here) finds no model
        calls["n"] += 1
        import inspect

        if any(frame.function == "embed_artifact" for frame in inspect.stack()):
            raise DependencyUnavailable("the embedding model is not available here (test)")
        return real_encoder

    monkeypatch.setattr(embeddings, "encoder", encoder_for_queries_only)
    created = _create(tenant.admin, "wind turbine gearbox features", description="vibration signals")
    assert embeddings.embed_artifact(tenant.tenant_id, created["id"]) == "not_embedded"
    body = _search(tenant.admin, query="wind turbine", mode="semantic")
    assert body["items"] == [] and body["not_embedded"] == 1
    assert "1 of 1 artifacts are not embedded yet" in body["degraded"]
    hybrid = _search(tenant.admin, query="wind turbine", mode="hybrid")
    assert [h["id"] for h in hybrid["items"]] == [created["id"]] and hybrid["degraded"]
    monkeypatch.setattr(embeddings, "encoder", lambda: real_encoder)
    assert embeddings.embed_artifact(tenant.tenant_id, created["id"]) == "embedded"
    body = _search(tenant.admin, query="wind turbine", mode="semantic")
    assert [h["id"] for h in body["items"]] == [created["id"]] and body.get("degraded") is None
