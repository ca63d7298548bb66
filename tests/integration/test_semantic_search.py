"""Semantic and hybrid artifact search on the local stack: embeddings computed asynchronously from the
ArtifactChanged event, searchable within 10 seconds, filtered like keyword search, and never across tenants."""

import time

import pytest

from tests.integration.conftest import declare_version

pytestmark = [pytest.mark.integration, pytest.mark.embedding]


@pytest.fixture(scope="module", autouse=True)
def exported_model(embedding_model):
    return embedding_model


def _search(client, **body):
    response = client.post("/v1/artifacts/search", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _wait_until_found(client, artifact_id, timeout_s=10.0, **body):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if artifact_id in [h["id"] for h in _search(client, **body)["items"]]:
            return time.monotonic()
        time.sleep(0.2)
    raise AssertionError(f"{artifact_id} not found by {body} within {timeout_s} s")


def test_a_new_artifact_is_semantically_searchable_within_10_seconds(tenant, dispatcher):
    started = time.monotonic()
    created = tenant.admin.post(
        "/v1/artifacts",
        json={
            "name": "Subscriber attrition classifier",
            "type": "model_template",
            "description": "Gradient boosted trees predicting which telecom subscribers will cancel next month",
            "tags": ["telecom", "tabular"],
        },
    ).json()
    found_at = _wait_until_found(tenant.admin, created["id"], query="customer churn prediction", mode="semantic")
    assert found_at - started < 10
    hits = _search(tenant.admin, query="customer churn prediction", mode="semantic")["items"]
    assert hits[0]["id"] == created["id"] and hits[0]["mode"] == "semantic" and hits[0]["score"] > 0.3


def test_hybrid_is_the_default_with_a_query_and_filters_apply_in_every_mode(tenant, dispatcher):
    model = tenant.admin.post(
        "/v1/artifacts",
        json={
            "name": "Fraud detection model",
            "type": "model",
            "description": "Isolation forest flagging suspicious card transactions",
        },
    ).json()
    notebook = tenant.admin.post(
        "/v1/artifacts",
        json={"name": "Card fraud exploration", "type": "notebook", "description": "EDA of anomalous payments"},
    ).json()
    _wait_until_found(tenant.admin, notebook["id"], query="payment anomalies", mode="semantic")
    _wait_until_found(tenant.admin, model["id"], query="payment anomalies", mode="semantic")
    hybrid = _search(tenant.admin, query="fraud")
    assert hybrid["mode"] == "hybrid"
    assert {h["id"] for h in hybrid["items"]} >= {model["id"], notebook["id"]}
    assert all("score" in h and h["found_by"] for h in hybrid["items"])
    only_notebooks = _search(tenant.admin, query="suspicious payments", mode="semantic", type="notebook")["items"]
    assert [h["id"] for h in only_notebooks] == [notebook["id"]]
    tenant.admin.patch(f"/v1/artifacts/{model['id']}", json={"deprecated": {"reason": "replaced"}})
    assert model["id"] not in [h["id"] for h in _search(tenant.admin, query="fraud model", mode="hybrid")["items"]]


def test_vectors_never_cross_tenants(new_tenant, dispatcher):
    owner, other = new_tenant(), new_tenant()
    secret = owner.admin.post(
        "/v1/artifacts",
        json={
            "name": "Proprietary demand forecaster",
            "type": "model_template",
            "description": "Weekly demand forecasting for grocery stores with holidays",
        },
    ).json()
    _wait_until_found(owner.admin, secret["id"], query="grocery demand forecast", mode="semantic")
    for mode in ("semantic", "hybrid", "keyword"):
        items = _search(other.admin, query="Proprietary demand forecaster grocery", mode=mode)["items"]
        assert secret["id"] not in [h["id"] for h in items], mode


def test_a_deleted_artifact_leaves_the_semantic_index(tenant, dispatcher):
    created = tenant.admin.post(
        "/v1/artifacts",
        json={
            "name": "Image segmentation template",
            "type": "model_template",
            "description": "U-Net for satellite imagery segmentation",
        },
    ).json()
    _wait_until_found(tenant.admin, created["id"], query="satellite image segmentation", mode="semantic")
    assert tenant.admin.delete(f"/v1/artifacts/{created['id']}").status_code == 200
    assert created["id"] not in [
        h["id"] for h in _search(tenant.admin, query="satellite image segmentation", mode="semantic")["items"]
    ]


def test_backfill_re_embeds_a_tenant_idempotently(tenant, dispatcher):
    from maestro.services.embeddings import backfill_tenant

    created = tenant.admin.post(
        "/v1/artifacts",
        json={"name": "Sentiment pipeline", "type": "feature_pipeline", "description": "tokenise and score reviews"},
    ).json()
    _wait_until_found(tenant.admin, created["id"], query="review sentiment", mode="semantic")
    response = tenant.admin.post("/v1/artifacts/embeddings/backfill")
    assert response.status_code == 202
    assert backfill_tenant(tenant.tenant_id) == {"unchanged": 1}


def test_without_the_model_hybrid_degrades_to_keyword_and_semantic_says_why(tenant, dispatcher, monkeypatch):
    from maestro.domain.errors import DependencyUnavailable
    from maestro.services import embeddings

    def unavailable():
        raise DependencyUnavailable("the embedding model is not available here (FileNotFoundError)")

    created = tenant.admin.post("/v1/artifacts", json={"name": "churn features", "type": "feature_pipeline"}).json()
    _wait_until_found(tenant.admin, created["id"], query="churn", mode="semantic")
    monkeypatch.setattr(embeddings, "encoder", unavailable)
    body = _search(tenant.admin, query="churn")
    assert body["mode"] == "keyword" and "not available" in body["degraded"] and body["items"]
    response = tenant.admin.post("/v1/artifacts/search", json={"query": "churn", "mode": "semantic"})
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"


def test_the_content_of_a_text_like_version_is_embedded_too(tenant, dispatcher):
    import json as jsonlib

    import requests

    created = tenant.admin.post("/v1/artifacts", json={"name": "Exploration 7", "type": "notebook"}).json()
    query = "wind turbine gearbox failure prediction"
    _wait_until_found(tenant.admin, created["id"], query=query, mode="semantic")
    before = _search(tenant.admin, query=query, mode="semantic")["items"][0]["score"]
    notebook = jsonlib.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {
                    "cell_type": "markdown",
                    "metadata": {},
                    "source": [
                        "# Estimating wind turbine power output\n",
                        "Gearbox vibration sensors predict failures.",
                    ],
                },
                {
                    "cell_type": "code",
                    "metadata": {},
                    "execution_count": 1,
                    "outputs": [],
                    "source": ["turbines = load_scada_readings()"],
                },
            ],
        }
    ).encode()
    declared = declare_version(tenant.admin, created["id"], notebook, "application/x-ipynb+json").json()
    assert (
        requests.put(
            declared["upload"]["url"], data=notebook, headers=declared["upload"]["headers"], timeout=30
        ).status_code
        == 200
    )
    assert tenant.admin.post(f"/v1/artifacts/{created['id']}/versions/1.0.0/complete").json()["status"] == "ready"
    # Nothing in the artifact's own fields speaks of turbines: only the notebook's content does.
    deadline = time.monotonic() + 10
    after = before
    while time.monotonic() < deadline and after < 0.3:
        time.sleep(0.2)
        after = _search(tenant.admin, query=query, mode="semantic")["items"][0]["score"]
    assert before < 0.2 < 0.3 < after


def _seed_generated_library(tenant, request_embeddings: bool) -> int:
    """A generated library written as the demo seeder writes it (rows straight into the tables); returns
    how many of its artifacts a search without filters admits (deprecated ones are left out)."""
    import dataclasses

    from infra.local.demo_history import seed_history
    from maestro.domain.meta.synthetic import generate_history

    library_only = dataclasses.replace(generate_history(n_projects=20, n_artifacts=24, seed=5), projects=())
    seed_history(
        tenant.tenant_id,
        library_only,
        actor=tenant.admin_id,
        progress=lambda message: None,
        request_embeddings=request_embeddings,
    )
    return _search(tenant.admin)["total"]


def _wait_until_fully_embedded(client, query: str, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = _search(client, query=query, mode="semantic")
        if "not_embedded" not in body or time.monotonic() > deadline:
            return body
        time.sleep(0.3)


def test_artifacts_without_vectors_are_counted_never_a_silent_empty_answer(tenant, dispatcher):
    admitted = _seed_generated_library(tenant, request_embeddings=False)
    assert admitted >= 3
    semantic = _search(tenant.admin, query="feature pipeline for tabular data", mode="semantic")
    assert semantic["items"] == []
    assert semantic["not_embedded"] == admitted
    assert f"{admitted} of {admitted} artifacts are not embedded yet" in semantic["degraded"]
    hybrid = _search(tenant.admin, query="feature pipeline for tabular data")
    assert hybrid["mode"] == "hybrid" and hybrid["not_embedded"] == admitted

    assert tenant.admin.post("/v1/artifacts/embeddings/backfill").status_code == 202
    embedded = _wait_until_fully_embedded(tenant.admin, "feature pipeline for tabular data")
    assert "not_embedded" not in embedded and "degraded" not in embedded
    assert len(embedded["items"]) == admitted and embedded["mode"] == "semantic"


def test_the_demo_seeder_embeds_its_artifacts_through_the_backfill(tenant, dispatcher):
    admitted = _seed_generated_library(tenant, request_embeddings=True)
    embedded = _wait_until_fully_embedded(tenant.admin, "model template for classification")
    assert "not_embedded" not in embedded and "degraded" not in embedded
    assert len(embedded["items"]) == admitted and all(h["found_by"] == ["semantic"] for h in embedded["items"])
