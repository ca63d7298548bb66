"""The artifact library over HTTP: entries, unique names, deprecation, keyword search with filters, sorting and
paging, the top list."""

import pytest

from tests.integration.conftest import problem

pytestmark = pytest.mark.integration


def _artifact(client, name, type_="feature_pipeline", **fields):
    response = client.post("/v1/artifacts", json={"name": name, "type": type_, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_read_and_names_unique_per_type(tenant):
    created = _artifact(
        tenant.admin,
        "Customer RFM features",
        description="Recency, frequency, monetary value",
        tags=["retail", "features", "retail"],
        metadata={"language": "python"},
    )
    assert created["id"].startswith("art_") and created["tags"] == ["retail", "features"]
    assert tenant.admin.get(f"/v1/artifacts/{created['id']}").json() == created
    body = problem(
        tenant.admin.post("/v1/artifacts", json={"name": "customer rfm FEATURES", "type": "feature_pipeline"}), 409
    )
    assert body["field"] == "name"
    assert (
        tenant.admin.post("/v1/artifacts", json={"name": "Customer RFM features", "type": "schema"}).status_code == 201
    )
    problem(tenant.admin.post("/v1/artifacts", json={"name": "x", "type": "spreadsheet"}), 422)


def test_names_are_unique_under_concurrent_creates(tenant):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda _: tenant.admin.post("/v1/artifacts", json={"name": "race", "type": "notebook"}).status_code,
                range(8),
            )
        )
    assert sorted(statuses) == [201] + [409] * 7
    assert tenant.admin.get("/v1/tenant").json()["quotas"]["artifacts"]["used"] == 1


def test_deprecation_with_replacement_and_if_match(tenant):
    old = _artifact(tenant.admin, "old pipeline")
    new = _artifact(tenant.admin, "new pipeline")
    patched = tenant.admin.patch(
        f"/v1/artifacts/{old['id']}",
        headers={"If-Match": f'"{old["revision"]}"'},
        json={"deprecated": {"reason": "superseded", "replacement_id": new["id"]}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["deprecated"]["replacement_id"] == new["id"]
    problem(
        tenant.admin.patch(
            f"/v1/artifacts/{old['id']}",
            headers={"If-Match": f'"{old["revision"]}"'},
            json={"description": "lost update"},
        ),
        412,
    )
    problem(
        tenant.admin.patch(
            f"/v1/artifacts/{old['id']}", json={"deprecated": {"reason": "x", "replacement_id": "art_nope"}}
        ),
        404,
    )
    # Deprecated artifacts leave default searches but can be asked for.
    plain = tenant.admin.post("/v1/artifacts/search", json={"query": "pipeline", "mode": "keyword"}).json()["items"]
    assert [a["id"] for a in plain] == [new["id"]]
    every = tenant.admin.post(
        "/v1/artifacts/search", json={"query": "pipeline", "mode": "keyword", "include_deprecated": True}
    ).json()
    assert {a["id"] for a in every["items"]} == {old["id"], new["id"]}
    events = tenant.admin.get("/v1/audit", params={"action": "artifact.deprecate"}).json()["items"]
    assert events and events[0]["resource_id"] == old["id"]


def test_delete_is_soft_admin_only_and_frees_the_name(tenant):
    created = _artifact(tenant.admin, "temporary", "dataset")
    problem(tenant.client_for("developer").delete(f"/v1/artifacts/{created['id']}"), 403)
    assert tenant.admin.delete(f"/v1/artifacts/{created['id']}").status_code == 200
    problem(tenant.admin.get(f"/v1/artifacts/{created['id']}"), 404)
    assert _artifact(tenant.admin, "temporary", "dataset")["id"] != created["id"]


@pytest.fixture
def catalogue(tenant):
    made = {
        "rfm": _artifact(
            tenant.admin, "RFM features", description="customer recency frequency monetary", tags=["retail", "churn"]
        ),
        "churn_model": _artifact(
            tenant.admin,
            "Churn gradient boosting template",
            "model_template",
            description="XGBoost baseline for churn",
            tags=["churn", "tabular"],
        ),
        "events_schema": _artifact(
            tenant.admin,
            "Clickstream events",
            "schema",
            description="schema of web events with customer id",
            tags=["web"],
        ),
        "notebook": _artifact(tenant.admin, "Churn EDA", "notebook", description="exploration", tags=["churn"]),
    }
    return tenant, made


def test_keyword_search_matches_name_description_and_tags_case_insensitively(catalogue):
    tenant, made = catalogue
    hits = tenant.admin.post("/v1/artifacts/search", json={"query": "CHURN", "mode": "keyword"}).json()["items"]
    assert {h["id"] for h in hits} == {made["rfm"]["id"], made["churn_model"]["id"], made["notebook"]["id"]}
    assert all(h["mode"] == "keyword" and h["score"] > 0 for h in hits)
    # Name matches rank above tag-only matches.
    assert hits[-1]["id"] == made["rfm"]["id"]
    customer = tenant.admin.post("/v1/artifacts/search", json={"query": "customer", "mode": "keyword"}).json()["items"]
    assert {h["id"] for h in customer} == {made["rfm"]["id"], made["events_schema"]["id"]}


def test_filters_apply_together(catalogue):
    tenant, made = catalogue
    by_type = tenant.admin.post("/v1/artifacts/search", json={"type": "notebook"}).json()["items"]
    assert [h["id"] for h in by_type] == [made["notebook"]["id"]]
    tagged = tenant.admin.post("/v1/artifacts/search", json={"tags": ["churn", "tabular"]}).json()["items"]
    assert [h["id"] for h in tagged] == [made["churn_model"]["id"]]
    via_get = tenant.admin.get("/v1/artifacts", params={"tags": "churn,retail"}).json()["items"]
    assert [h["id"] for h in via_get] == [made["rfm"]["id"]]
    none = tenant.admin.post("/v1/artifacts/search", json={"min_impact_score": 99}).json()["items"]
    assert none == []


def test_search_pages_with_cursors_and_rejects_a_cursor_from_another_query(catalogue):
    tenant, made = catalogue
    seen, cursor = [], None
    while True:
        page = tenant.admin.post(
            "/v1/artifacts/search", json={"sort": "recent", "limit": 1, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [h["id"] for h in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(a["id"] for a in made.values())
    first = tenant.admin.post("/v1/artifacts/search", json={"sort": "recent", "limit": 1}).json()
    problem(
        tenant.admin.post(
            "/v1/artifacts/search",
            json={"query": "churn", "mode": "keyword", "limit": 1, "cursor": first["next_cursor"]},
        ),
        400,
    )


def test_relevance_sort_needs_a_query_and_mode_is_validated(tenant):
    problem(tenant.admin.post("/v1/artifacts/search", json={"sort": "relevance"}), 422)
    assert tenant.admin.post("/v1/artifacts/search", json={"query": "x", "mode": "keyword"}).status_code == 200
    problem(tenant.admin.post("/v1/artifacts/search", json={"query": "x", "mode": "telepathy"}), 422)


def test_top_lists_by_impact_with_a_bounded_limit(catalogue):
    tenant, made = catalogue
    top = tenant.admin.get("/v1/artifacts/top", params={"type": "schema"}).json()["items"]
    assert [a["id"] for a in top] == [made["events_schema"]["id"]]
    assert tenant.admin.get("/v1/artifacts/top", params={"limit": 50}).status_code == 200
    problem(tenant.admin.get("/v1/artifacts/top", params={"limit": 51}), 422)
    problem(tenant.admin.get("/v1/artifacts/top", params={"type": "spreadsheet"}), 422)


def test_viewer_reads_but_cannot_write(catalogue):
    tenant, made = catalogue
    viewer = tenant.client_for("viewer")
    assert viewer.get(f"/v1/artifacts/{made['rfm']['id']}").status_code == 200
    problem(viewer.post("/v1/artifacts", json={"name": "v", "type": "schema"}), 403)
