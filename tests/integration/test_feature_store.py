"""The meta-learning feature store on the moto server: Feast apply, Parquet appends in S3, materialisation to
DynamoDB, point-in-time training frames (no leakage past the cut-off) and the Feast-free online reader."""

import math
import uuid
from datetime import timedelta

import pytest

pytestmark = pytest.mark.integration

SEED = 11
EFFECTS = {"art-000": 4.0, "art-003": -2.5, "art-007": 1.25, "art-011": 0.5}  # published impact, success points


def _tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def fs(local_stack):
    """The batch module with Feast imported once and the repo applied to this stage."""
    from maestro.ml import feature_store

    feature_store.apply()
    feature_store.apply()  # idempotent
    return feature_store


@pytest.fixture(scope="module")
def history():
    from maestro.domain.meta.synthetic import generate_history

    return generate_history(n_projects=60, n_artifacts=30, seed=SEED)


@pytest.fixture(scope="module")
def loaded(fs, history):
    """Tenant A's history written at `now` (each project as of its cut-off) and materialised."""
    tenant = _tenant()
    own = {
        p.project_id: {"gpu_hours": 10.0 + i, "labelled_rows": 1000.0 * i}
        for i, p in enumerate(history.projects)
        if i % 3 == 0
    }
    rows = fs.feature_rows(tenant, history.projects, EFFECTS, history.now, own_features=own)
    write = fs.write_offline(tenant, rows)
    assert write.rows == len(history.projects)
    fs.materialize(history.now + timedelta(seconds=1), since=write.earliest_event)
    return tenant, rows, own


def test_training_frame_round_trips_the_cutoff_features(fs, history, loaded):
    from maestro.domain.meta.history import FEATURE_NAMES, features

    tenant, _, own = loaded
    projects = history.projects
    frame = fs.training_frame(tenant, [(p.project_id, p.cutoff) for p in projects])
    assert list(frame.columns) == ["project_id", "as_of", *FEATURE_NAMES]
    assert frame["project_id"].tolist() == [p.project_id for p in projects]  # the order asked
    for p, (_, row) in zip(projects, frame.iterrows(), strict=False):
        expected = features(p, artifact_effects=EFFECTS)
        assert [row[n] for n in FEATURE_NAMES] == pytest.approx([expected[n] for n in FEATURE_NAMES], abs=1e-12)
    assert frame["reuse_known_share"].max() > 0  # the published effects reached the rows

    chosen = [p for p in projects if p.project_id in own][:4]
    extra = fs.training_frame(
        tenant,
        [(p.project_id, p.cutoff) for p in chosen],
        ["features.gpu_hours", "features.missing", "ci_success_rate"],
    )
    assert extra["features.gpu_hours"].tolist() == [own[p.project_id]["gpu_hours"] for p in chosen]
    assert extra["features.missing"].isna().all()


def test_young_project_gets_current_features_then_its_cutoff_snapshot(fs, history):
    from maestro.domain.meta.history import features

    tenant, project = _tenant(), history.projects[5]
    early = project.start_date + timedelta(days=5)
    [young] = fs.feature_rows(tenant, [project], None, early)
    assert young["event_timestamp"] == early and young["created"] == early
    assert young["commits_per_week"] == features(project, early)["commits_per_week"]
    started = fs.feature_rows(tenant, history.projects, None, early)  # projects not started by then have no row
    assert all(r["event_timestamp"] <= early for r in started) and len(started) < len(history.projects)
    fs.write_offline(tenant, [young])
    [later] = fs.feature_rows(tenant, [project], None, project.cutoff + timedelta(days=30))
    assert later["event_timestamp"] == project.cutoff  # frozen at the cut-off, written 30 days later
    fs.write_offline(tenant, [later])

    frame = fs.training_frame(
        tenant,
        [
            (project.project_id, early),
            (project.project_id, project.cutoff),
            (project.project_id, early - timedelta(days=1)),
        ],
    )
    assert frame["commits_per_week"].iloc[0] == young["commits_per_week"]
    assert frame["commits_per_week"].iloc[1] == later["commits_per_week"]
    assert math.isnan(frame["commits_per_week"].iloc[2])  # nothing was known before the first row


def test_value_recorded_after_the_cutoff_does_not_leak_into_training(fs, history):
    tenant = _tenant()
    projects = history.projects[:12]
    rows = fs.feature_rows(tenant, projects, None, history.now)
    victim = projects[3]
    planted_at = victim.cutoff + timedelta(days=3)
    planted = {
        **next(r for r in rows if r["tenant_project"].endswith("#" + victim.project_id)),
        "event_timestamp": planted_at,
        "created": history.now + timedelta(days=1),
        "commits_per_week": 1e6,
    }
    fs.write_offline(tenant, rows)
    fs.write_offline(tenant, [planted])

    at_cutoff = fs.training_frame(tenant, [(p.project_id, p.cutoff) for p in projects])
    assert at_cutoff["commits_per_week"].max() < 1e3
    honest = next(r for r in rows if r["tenant_project"].endswith("#" + victim.project_id))
    assert at_cutoff.loc[3, "commits_per_week"] == honest["commits_per_week"]
    # the join is temporal, not blind to the row: asked as of after the planted time, it is seen
    later = fs.training_frame(
        tenant,
        [
            (victim.project_id, planted_at - timedelta(seconds=1)),
            (victim.project_id, planted_at),
            (victim.project_id, planted_at + timedelta(days=1)),
        ],
    )
    assert later["commits_per_week"].tolist() == [honest["commits_per_week"], 1e6, 1e6]


def test_online_reader_matches_feast_and_is_tenant_scoped(fs, history, loaded):
    from maestro.domain.meta.feature_views import MODEL_FEATURES, OWN_FEATURES_COLUMN, view_for
    from maestro.repositories.online_features import read_online_features

    tenant_a, rows_a, own = loaded
    store = fs.feature_store()
    project_ids = [p.project_id for p in history.projects[:9]]
    names = [*MODEL_FEATURES, "problem_class"]
    refs = [f"{view_for(n)}:{n}" for n in names] + [f"project_own_features:{OWN_FEATURES_COLUMN}"]

    def feast_read(tenant):
        found = store.get_online_features(
            features=refs, entity_rows=[{"tenant_project": f"{tenant}#{p}"} for p in project_ids]
        ).to_dict()
        return {p: {n: found[n][i] for n in names} for i, p in enumerate(project_ids)}, found[OWN_FEATURES_COLUMN]

    by_feast, own_json = feast_read(tenant_a)
    ours = read_online_features(tenant_a, project_ids, names + ["features.gpu_hours"])
    assert {p: {n: v for n, v in row.items() if n in names} for p, row in ours.items()} == by_feast
    assert all(v is not None for row in ours.values() for n, v in row.items() if n in names)
    for p, raw in zip(project_ids, own_json, strict=False):
        assert ours[p]["features.gpu_hours"] == (own[p]["gpu_hours"] if p in own else None), raw
    # the online store holds exactly what training saw: the cut-off snapshot
    expected = {r["tenant_project"].split("#", 1)[1]: r for r in rows_a}
    assert all(ours[p]["ci_success_rate"] == expected[p]["ci_success_rate"] for p in project_ids)

    # tenant B: the same project ids, other values; nothing of A answers B, and B's rows answer only B
    tenant_b = _tenant()
    assert all(v is None for row in read_online_features(tenant_b, project_ids, names).values() for v in row.values())
    from maestro.domain.meta.synthetic import generate_history

    other = generate_history(n_projects=20, n_artifacts=30, seed=SEED + 1)
    write = fs.write_offline(tenant_b, fs.feature_rows(tenant_b, other.projects[:12], None, other.now))
    fs.materialize(other.now + timedelta(seconds=1), since=write.earliest_event)
    shared = [p.project_id for p in other.projects[:9]]
    assert shared == project_ids
    ours_b = read_online_features(tenant_b, project_ids, names)
    assert ours_b == feast_read(tenant_b)[0]
    assert ours_b != {p: {n: ours[p][n] for n in names} for p in project_ids}
    assert read_online_features(tenant_a, project_ids, names) == by_feast  # A unchanged by B's load


def test_rows_of_another_tenant_are_refused(fs, history):
    rows = fs.feature_rows("tenant-a", history.projects[:2], None, history.now)
    with pytest.raises(ValueError):
        fs.write_offline("tenant-b", rows)
