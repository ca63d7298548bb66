"""POST /v1/match and GET /v1/projects/{id}/similar on the local stack, and the calibration of the reuse
thresholds against the labelled retrieval set."""

import json
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.embedding]
DATA = Path(__file__).resolve().parents[1] / "data" / "retrieval"


@pytest.fixture(scope="module", autouse=True)
def exported_model():
    from infra.embedding_model import export_model

    export_model()


def test_reuse_thresholds_are_the_calibrated_cuts():
    """Re-derive the F1-optimal cuts on the labelled set; the documented constants must be those cuts."""
    from maestro.domain import matching
    from maestro.domain.retrieval import artifact_text
    from maestro_embedding import default_encoder

    catalogue = [json.loads(line) for line in (DATA / "catalogue.jsonl").read_text().splitlines()]
    queries = [json.loads(line) for line in (DATA / "queries.jsonl").read_text().splitlines()]
    encoder = default_encoder()
    similarities = (
        encoder.encode([q["query"] for q in queries]) @ encoder.encode([artifact_text(a) for a in catalogue]).T
    )
    graded = {g: [] for g in range(4)}
    for qi, query in enumerate(queries):
        for ai, artifact in enumerate(catalogue):
            graded[query["relevant"].get(artifact["id"], 0)].append(float(similarities[qi, ai]))
    for constant, positive_grades in (
        (matching.REUSE_AS_IS, {3}),
        (matching.ADAPT, {2, 3}),
        (matching.REFERENCE, {1, 2, 3}),
    ):
        positives = [s for g in positive_grades for s in graded[g]]
        negatives = [s for g in range(4) if g not in positive_grades for s in graded[g]]
        assert abs(matching.best_threshold(positives, negatives) - constant) <= 0.02
    assert matching.REUSE_AS_IS > matching.ADAPT > matching.REFERENCE


def _artifact(client, name, type_, description):
    response = client.post("/v1/artifacts", json={"name": name, "type": type_, "description": description})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _wait_for_vectors(tenant_id, ids, timeout_s=10.0):
    from maestro.repositories import vectors

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = [vectors.get_vector(tenant_id, i) for i in ids]  # the entry exists at once, its vector later
        if all(row is not None and row.vector is not None for row in rows):
            return
        time.sleep(0.2)
    raise AssertionError("artifacts were not embedded in time")


def test_match_ranks_artifacts_that_fit_a_spec_with_the_parts_they_matched(tenant, dispatcher):
    churn = _artifact(
        tenant.admin,
        "Churn feature pipeline",
        "feature_pipeline",
        "Builds tenure, usage decline and support-ticket features to predict customer churn",
    )
    vision = _artifact(
        tenant.admin, "Defect detector", "model_template", "Object detection for scratches on manufactured metal parts"
    )
    _wait_for_vectors(tenant.tenant_id, [churn, vision])
    response = tenant.admin.post(
        "/v1/match",
        json={
            "text": "We want to predict which subscribers will cancel",
            "spec": {
                "user_stories": ["As a retention manager I see customers likely to churn next month"],
                "data_entities": ["customer", "subscription", "support ticket"],
            },
            "limit": 5,
        },
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items[0]["id"] == churn
    assert items[0]["suggestion"] in ("reuse_as_is", "adapt", "take_as_reference")
    assert {m["part"] for m in items[0]["matched"]} & {"text", "user_stories", "data_entities"}
    assert items[-1]["id"] == vision and items[-1]["score"] < items[0]["score"]
    only_models = tenant.admin.post("/v1/match", json={"text": "churn", "types": ["model_template"]}).json()
    assert [i["id"] for i in only_models["items"]] == [vision]
    assert tenant.admin.post("/v1/match", json={}).status_code == 400


def test_similar_projects_by_meaning_and_shape_with_outcomes_and_artifacts(tenant):
    def project(name, description, problem_class="classification", team_size=4):
        return tenant.admin.post(
            "/v1/projects",
            json={
                "name": name,
                "description": description,
                "problem_class": problem_class,
                "complexity_score": 5,
                "team_size": team_size,
            },
        ).json()["id"]

    target = project("Telecom churn", "Predict which mobile subscribers will leave")
    close = project("Bank attrition", "Find retail banking customers about to close their accounts")
    far = project("Crop yield", "Forecast wheat harvest from satellite imagery", "forecasting", 40)
    response = tenant.admin.get(f"/v1/projects/{target}/similar", params={"limit": 5})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["id"] for i in items] == [close, far]
    assert items[0]["description_similarity"] > items[1]["description_similarity"]
    assert "artifacts_used" in items[0] and "success_score" in items[0]


def test_match_and_similar_stay_in_the_tenant(new_tenant, dispatcher):
    owner, other = new_tenant(), new_tenant()
    secret = _artifact(owner.admin, "Secret churn model", "model", "churn prediction for our customers")
    _wait_for_vectors(owner.tenant_id, [secret])
    assert secret not in json.dumps(other.admin.post("/v1/match", json={"text": "churn prediction"}).json())
    project_id = owner.admin.post(
        "/v1/projects", json={"name": "p", "problem_class": "other", "complexity_score": 1, "team_size": 1}
    ).json()["id"]
    assert other.admin.get(f"/v1/projects/{project_id}/similar").status_code == 404
