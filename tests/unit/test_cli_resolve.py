"""How the CLI finds an artifact given as an id or a name (maestro_client.cli._resolve_artifact), against a fake
client: ids have no fixed form, a missing one says so in words, a name two types share needs --type."""

from __future__ import annotations

import click
import pytest

from maestro_client.cli import _resolve_artifact, _resolve_project
from maestro_client.errors import NotFound

ARTIFACTS = [
    {"id": "art-036", "name": "visual-inspection-feature-pipeline", "type": "feature_pipeline"},
    {"id": "art_1", "name": "churn", "type": "schema"},
    {"id": "art_2", "name": "churn", "type": "model"},
]


class Page:
    def __init__(self, items):
        self.items = items

    def all(self, max_items=None):
        return self.items[:max_items]


PROJECTS = [{"id": "proj-0001", "name": "churn v2"}, {"id": "prj_1", "name": "twin"}, {"id": "prj_2", "name": "twin"}]


class FakeClient:
    def get_project(self, project_id):
        for item in PROJECTS:
            if item["id"] == project_id:
                return item
        raise NotFound(404, {"title": "Not found", "detail": "project not found"})

    def list_projects(self, limit):
        return Page(PROJECTS)

    def get_artifact(self, artifact_id):
        for item in ARTIFACTS:
            if item["id"] == artifact_id:
                return item
        raise NotFound(404, {"title": "Not found", "detail": f"artifact {artifact_id.replace(' ', '%20')} not found"})

    def search_artifacts(self, query, **_):
        return Page([a for a in ARTIFACTS if query in a["name"]])


def test_an_id_of_any_form_is_read_by_id():
    assert _resolve_artifact(FakeClient(), "art-036", None)["name"] == "visual-inspection-feature-pipeline"


def test_a_name_is_found_and_a_shared_name_needs_its_type():
    assert _resolve_artifact(FakeClient(), "churn", "model")["id"] == "art_2"
    with pytest.raises(click.UsageError, match="2 artifacts are named 'churn'"):
        _resolve_artifact(FakeClient(), "churn", None)


def test_neither_an_id_nor_a_name_says_so_in_words():
    with pytest.raises(NotFound) as missing:
        _resolve_artifact(FakeClient(), "missing name", None)
    assert missing.value.body["detail"] == "no artifact has the id or name 'missing name'"


def test_projects_resolve_the_same_way():
    assert _resolve_project(FakeClient(), "proj-0001")["name"] == "churn v2"  # the demo's id form
    assert _resolve_project(FakeClient(), "churn v2")["id"] == "proj-0001"
    with pytest.raises(click.UsageError, match="2 projects are named 'twin'"):
        _resolve_project(FakeClient(), "twin")
    with pytest.raises(NotFound) as missing:
        _resolve_project(FakeClient(), "nope")
    assert missing.value.body["detail"] == "no project has the id or name 'nope'"
