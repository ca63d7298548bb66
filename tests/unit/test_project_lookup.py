"""One project-or-404 check for every use case (services.projects.require_project)."""

from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "layers" / "core" / "python" / "maestro" / "services"


def test_a_missing_or_foreign_project_is_not_found(monkeypatch):
    from maestro.domain.errors import NotFound
    from maestro.services import projects

    stored = {("ten_a", "prj_1"): object()}
    monkeypatch.setattr(
        projects.store, "get_project", lambda tenant_id, project_id: stored.get((tenant_id, project_id))
    )
    assert projects.require_project("ten_a", "prj_1") is stored[("ten_a", "prj_1")]
    for tenant_id, project_id in [("ten_b", "prj_1"), ("ten_a", "prj_2")]:
        with pytest.raises(NotFound, match="project prj_"):
            projects.require_project(tenant_id, project_id)


def test_no_service_writes_its_own_project_lookup():
    own = [
        str(path.relative_to(SERVICES))
        for path in SERVICES.rglob("*.py")
        if path.name != "projects.py" and 'NotFound(f"project {project_id} not found")' in path.read_text()
    ]
    assert own == [], f"use services.projects.require_project in {own}"
