"""Match described work (free text and/or a spec) to the tenant's library, and find similar projects."""

from __future__ import annotations

import math
from typing import Any

from maestro.domain.errors import InvalidInput
from maestro.domain.identity.principals import Caller
from maestro.domain.matching import SPEC_PARTS, reuse_suggestion
from maestro.repositories import artifacts as artifact_store
from maestro.repositories import projects as project_store
from maestro.repositories import usage as usage_store
from maestro.services import embeddings
from maestro.services.artifact_views import artifact_view
from maestro.services.projects import require_project

MAX_PARTS = 200
SIMILAR_PROJECTS_SCANNED = 500
TEXT_WEIGHT, STRUCTURE_WEIGHT = 0.7, 0.3  # similar projects: description meaning first, shape second


def match(
    caller: Caller, text: str | None, spec: dict[str, list[str]], types: list[str] | None, limit: int
) -> dict[str, Any]:
    parts = ([("text", text)] if text else []) + [(kind, item) for kind in SPEC_PARTS for item in spec.get(kind, [])]
    if not parts:
        raise InvalidInput("describe the work: give text or at least one spec item")
    if len(parts) > MAX_PARTS:
        raise InvalidInput(f"at most {MAX_PARTS} text and spec items")

    library = {
        a.artifact_id: a
        for a in artifact_store.tenant_artifacts(caller.tenant_id)
        if not a.deprecated and (not types or a.type in types)
    }
    ids, matrix = embeddings.tenant_vectors(caller.tenant_id).matrix()
    keep = [i for i, artifact_id in enumerate(ids) if artifact_id in library]
    if not keep:
        return {"items": [], "next_cursor": None, "parts": len(parts)}
    part_vectors = embeddings.encoder().encode([p[1] for p in parts])
    similarities = matrix[keep] @ part_vectors.T  # (artifacts, parts)
    matches = []
    for row, index in enumerate(keep):
        scores = similarities[row]
        best = float(scores.max())
        matched = sorted(((float(s), parts[j]) for j, s in enumerate(scores) if s >= 0.35), reverse=True)[:5]
        matches.append((best, ids[index], matched))
    matches.sort(key=lambda m: (-m[0], m[1]))
    items = []
    for best, artifact_id, matched in matches[:limit]:
        view = artifact_view(library[artifact_id])
        items.append(
            {
                **view,
                "score": round(best, 4),
                "suggestion": reuse_suggestion(best),
                "matched": [{"part": kind, "text": item, "similarity": round(s, 4)} for s, (kind, item) in matched],
            }
        )
    return {"items": items, "next_cursor": None, "parts": len(parts)}


def _structure_similarity(a: Any, b: Any) -> float:
    same_class = 1.0 if a.problem_class == b.problem_class else 0.0
    complexity = 1 - abs(float(a.complexity_score) - float(b.complexity_score)) / 9
    team = 1 - min(1.0, abs(math.log(float(a.team_size)) - math.log(float(b.team_size))) / math.log(500))
    return (same_class + complexity + team) / 3


def similar_projects(caller: Caller, project_id: str, limit: int) -> dict[str, Any]:
    """Projects like this one by description meaning and by shape (problem class, complexity, team size),
    with their outcomes and the artifacts they used."""
    project = require_project(caller.tenant_id, project_id)
    others = [
        p
        for p in project_store.list_projects(
            caller.tenant_id, status=None, problem_class=None, limit=SIMILAR_PROJECTS_SCANNED, cursor=None
        ).items
        if p.project_id != project_id
    ]
    if not others:
        return {"items": [], "next_cursor": None}
    texts = [f"{p.name}. {p.problem_class.replace('_', ' ')}. {p.description}" for p in [project, *others]]
    vectors = embeddings.encoder().encode(texts)
    text_similarity = vectors[1:] @ vectors[0]
    ranked = sorted(
        (
            (TEXT_WEIGHT * float(t) + STRUCTURE_WEIGHT * _structure_similarity(project, p), float(t), p)
            for t, p in zip(text_similarity, others, strict=False)
        ),
        key=lambda r: -r[0],
    )[:limit]
    from maestro.services.projects import project_view

    items = []
    for score, text_score, other in ranked:
        used = sorted(
            {
                u.artifact_version.split("#", 1)[0]
                for u in usage_store.usages_of_project(caller.tenant_id, other.project_id)
            }
        )
        view = project_view(other)
        items.append(
            {
                "id": other.project_id,
                "name": other.name,
                "problem_class": other.problem_class,
                "status": other.status,
                "success_score": other.success_score,
                "outcome": view["outcome"],
                "score": round(score, 4),
                "description_similarity": round(text_score, 4),
                "structure_similarity": round(_structure_similarity(project, other), 4),
                "artifacts_used": used,
            }
        )
    return {"items": items, "next_cursor": None}
