"""The per-tenant search index on the local stack: a search never reads the artifact partition (requests counted
at the botocore layer), a cold function loads one snapshot object, an artifact created while snapshots are being
written is searchable within 10 s and never lost, and deleting or deprecating takes an artifact out of results
at once."""

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


def test_a_search_reads_no_partition_and_hydrates_its_page_with_one_batch_read(tenant, dispatcher):
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
    for calls, searches in ((cold, 1), (warm, 4)):
        assert calls.count("dynamodb", "Query", table="artifacts") == 0, calls.summary()
        assert calls.count("dynamodb", "Scan") == 0
        assert calls.count("dynamodb", "GetItem", table="artifacts") == 0, calls.summary()
        # at most one batch read per search (none when the page is empty: no embed ran here, semantic finds none)
        assert 1 <= calls.count("dynamodb", "BatchGetItem") <= searches, calls.summary()
    # warm: the changes are read at most once per REFRESH_INTERVAL_S (nothing was written meanwhile), nothing per
    # artifact
    refreshes = warm.count("dynamodb", "Query", table="artifact-vectors")
    assert refreshes <= 1 + warm_s / search_index.REFRESH_INTERVAL_S, warm.summary()
    assert warm.count("s3") == 0


def test_a_warm_search_sees_this_process_writes_at_once_and_other_writers_within_the_interval(
    tenant, dispatcher, monkeypatch
):
    """The API's own writes (create here) are read by the next search in the same process; a change written by
    another function (an entry updated straight in the table, no local note) waits for the refresh interval."""
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
