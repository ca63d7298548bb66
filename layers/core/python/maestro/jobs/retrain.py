"""The meta-learning retrain job of one tenant: history -> Feast -> models -> MLflow -> champion -> serving.

1. Load the tenant's stored history (maestro.services.meta.tenant_history), each project as of its cut-off.
2. Feature rows (impact effects as published at each project's cut-off: 30-day snapshots computed only from
   projects completed by then) are appended to Feast's offline store, applied and materialised to the online
   store, so serving reads what training read.
3. Below MIN_COMPLETED_FOR_MODEL completed projects the job stops there: serving answers with priors.
4. The training frame comes from Feast's point-in-time join at each completed project's cut-off.
5. Per target (success score, duration, cost): one MLflow run with parameters, the feature list, the dataset
   fingerprint, cross-validated and hold-out metrics of every candidate and both baselines, interval coverage;
   the chosen model is exported to ONNX, logged with MLflow's onnx flavour and registered as a new version of
   `maestro-meta-<tenant>-<target>`.
6. The alias `champion` moves to the new version only if its hold-out MAE (through the exported graph, as
   served) is lower than the current champion's on the same hold-out projects; the decision is logged to the run
   and stored. The current champion may have been trained when some of these projects were already complete,
   which favours it: the rule errs on the side of not moving.
7. The artifact recommender (a blend learned on this history, maestro.ml.recommend) is refitted and saved.

Batch-only (scikit-learn, MLflow, Feast, pandas). Entry points: `run_job` (a queued job), `retrain_tenant`.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from maestro.domain.errors import ConfigurationError
from maestro.domain.meta.history import (
    CUTOFF_DAYS,
    FEATURE_NAMES,
    TARGET_NAMES,
    ArtifactSpec,
    History,
    ProjectRecord,
    effects_as_of,
)
from maestro.domain.meta.priors import MIN_COMPLETED_FOR_MODEL
from maestro.domain.meta.serving import ServedTarget
from maestro.domain.meta.targets import RECOMMENDER
from maestro.observability import logger
from maestro.repositories import artifacts as artifact_store
from maestro.repositories import jobs as job_store
from maestro.repositories import meta_models, object_store
from maestro.repositories import projects as project_store
from maestro.repositories.schema import ModelRecord
from maestro.services.meta.tenant_history import INVALID, NO_OUTCOME, NOT_ENDED, USED, project_record, training_status
from maestro.settings import get_settings

Progress = Callable[[str, float], None]
CHAMPION_ALIAS = "champion"
SNAPSHOT_DAYS = 30
HISTORY_READERS = 16
SEED = 0


def registered_model_name(tenant_id: str, target: str) -> str:
    return f"maestro-meta-{tenant_id}-{target}"


def experiment_name(tenant_id: str) -> str:
    return f"maestro-meta/{tenant_id}"


def _quiet(message: str, fraction: float) -> None:
    logger.info(message, extra={"progress": round(fraction, 3)})


def _effects_at_cutoff(records: Sequence[ProjectRecord], origin: datetime) -> Callable[[ProjectRecord], dict]:
    """p -> impact effects as published on the last 30-day snapshot before p's cut-off (never p's own outcome)."""
    snapshots: dict[datetime, dict[str, float]] = {}

    def effects(project: ProjectRecord) -> dict[str, float]:
        steps = math.floor((project.cutoff - origin).total_seconds() / (SNAPSHOT_DAYS * 86400))
        taken = origin + timedelta(days=SNAPSHOT_DAYS * steps)
        if taken not in snapshots:
            snapshots[taken] = effects_as_of(records, taken, seed=SEED)
        return snapshots[taken]

    return effects


def outcomes_fingerprint(completed: Sequence[ProjectRecord]) -> str:
    """sha256 of which projects completed and how (cheap: no features), to tell whether a retrain has anything new
    to learn from."""
    digest = hashlib.sha256()
    for record in sorted(completed, key=lambda r: r.project_id):
        digest.update(
            json.dumps(
                [
                    record.project_id,
                    record.start_date.isoformat(),
                    record.success_score,
                    *(record.target(t) for t in TARGET_NAMES[1:]),
                ]
            ).encode()
        )
    return digest.hexdigest()


def fingerprint(project_ids: Sequence[str], X: np.ndarray, targets: Mapping[str, np.ndarray]) -> str:
    """sha256 of the exact training data: ids, features and outcomes (float64 bytes)."""
    digest = hashlib.sha256("\n".join(project_ids).encode())
    digest.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    for name in sorted(targets):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(targets[name], dtype=np.float64).tobytes())
    return digest.hexdigest()


def _metric_name(text: str) -> str:
    allowed = "".join(c if c.isalnum() or c in "_-./ " else "_" for c in text)
    return allowed.replace(" ", "_")[:250]


def _log_metrics(mlflow: Any, metrics: Mapping[str, Any]) -> None:
    values: dict[str, float] = {}
    for candidate in metrics["candidates"]:
        for key in ("cv_mae", "cv_r2", "holdout_mae", "holdout_r2"):
            values[_metric_name(f"candidate.{candidate['name']}.{key}")] = candidate[key]
    for name, figures in metrics["baselines"].items():
        for key in ("cv_mae", "cv_r2", "holdout_mae", "holdout_r2"):
            values[f"baseline.{name}.{key}"] = figures[key]
    values.update(
        {
            "model.cv_mae": metrics["cv"]["mae"],
            "model.cv_r2": metrics["cv"]["r2"],
            "model.holdout_mae": metrics["holdout"]["mae"],
            "model.holdout_r2": metrics["holdout"]["r2"],
        }
    )
    for level, coverage in metrics["coverage"].items():
        values[f"interval.coverage_{level}"] = coverage
        values[f"interval.median_width_{level}"] = metrics["interval_median_width"][level]
    mlflow.log_metrics({k: float(v) for k, v in values.items()})


def _artifact_specs(tenant_id: str) -> list[ArtifactSpec]:
    specs = []
    for artifact in artifact_store.tenant_artifacts(tenant_id):
        deprecated_at = None
        if artifact.deprecated:
            raw = artifact.deprecated.get("at") or artifact.deprecated.get("deprecated_at")
            deprecated_at = datetime.fromisoformat(raw) if raw else artifact.updated_at
        specs.append(
            ArtifactSpec(
                artifact.artifact_id,
                artifact.name,
                artifact.type,
                artifact.description or "",
                None,
                ((artifact.latest_version or "1.0.0", artifact.created_at),),
                deprecated_at,
            )
        )
    return specs


def _similarity_function(tenant_id: str, artifacts: Sequence[ArtifactSpec]) -> tuple[Callable, str]:
    """Content similarity of a project description to each artifact: the embedding layer's cosine when the
    model is here, else token overlap; the source is saved with the recommender so serving uses the same."""
    from maestro.ml.recommend import description_overlap

    try:
        from maestro.services.embeddings import encoder, tenant_vectors

        ids, matrix = tenant_vectors(tenant_id).matrix()
        if ids:
            model = encoder()

            def embedded(project: ProjectRecord) -> dict[str, float]:
                scores = np.asarray(matrix) @ model.encode([project.description])[0]
                return {a: float(s) for a, s in zip(ids, scores, strict=False)}

            return embedded, "embedding"
    except Exception as error:  # no model here, or no vectors yet: say so in the recommender's state
        logger.info("recommender similarity falls back to token overlap", extra={"reason": repr(error)})
    return (lambda project: description_overlap(project.description, artifacts)), "token_overlap"


class RetrainRun:
    """One retrain of one tenant (see the module docstring)."""

    def __init__(self, tenant_id: str, now: datetime, progress: Progress, job_id: str | None, only_if_changed: bool):
        self.tenant_id, self.job_id, self.only_if_changed = tenant_id, job_id, only_if_changed
        self.now, self.progress = now, progress
        self.settings = get_settings()

    def say(self, message: str, fraction: float) -> None:
        self.progress(message, fraction)

    def run(self) -> dict[str, Any]:
        from maestro.ml import feature_store

        started = time.perf_counter()
        stored = list(project_store.all_projects(self.tenant_id))
        self.say(f"loading the history of {len(stored)} projects", 0.02)
        records = []
        # Six small queries per project: in parallel, or 10k projects would spend most of Lambda's 15 minutes
        # waiting on DynamoDB round trips (the local stack serialises them anyway).
        with ThreadPoolExecutor(max_workers=HISTORY_READERS) as pool:
            loaded = pool.map(lambda project: project_record(self.tenant_id, project), stored)
            for index, record in enumerate(loaded, 1):
                records.append(record)
                if index % 100 == 0:
                    self.say(f"loaded {index}/{len(stored)} projects", 0.02 + 0.18 * index / len(stored))
        statuses = [training_status(p, r, self.now) for p, r in zip(stored, records, strict=True)]
        completed = sorted(
            (r for r, status in zip(records, statuses, strict=True) if status == USED),
            key=lambda r: (r.start_date, r.project_id),
        )
        left_out = {reason: statuses.count(reason) for reason in (NO_OUTCOME, NOT_ENDED, INVALID)}
        summary: dict[str, Any] = {
            "projects": len(records),
            "completed_projects": len(completed),
            "min_completed_projects": MIN_COMPLETED_FOR_MODEL,
            "training_data": self._training_data(len(records), len(completed), {**left_out, "without_features": 0}),
        }
        if not records:
            summary.update(outcome="insufficient_history", seconds=round(time.perf_counter() - started, 1))
            return summary
        if len(completed) < MIN_COMPLETED_FOR_MODEL:
            # nothing to train; running projects' online features are the hourly refresh's (feature_refresh)
            summary.update(outcome="insufficient_history", seconds=round(time.perf_counter() - started, 1))
            self.say(
                f"{len(completed)} completed projects: models need {MIN_COMPLETED_FOR_MODEL}; serving uses priors", 1.0
            )
            return summary
        outcomes = outcomes_fingerprint(completed)
        summary["outcomes_fingerprint"] = self.outcomes_fingerprint = outcomes
        if self.only_if_changed and self._trained_on(outcomes):
            # the schedule's run: the champions were trained on exactly these outcomes; nothing to learn
            summary.update(outcome="unchanged", seconds=round(time.perf_counter() - started, 1))
            self.say("no outcome changed since the champions were trained", 1.0)
            return summary
        origin = min(r.start_date for r in records)
        effects = _effects_at_cutoff(records, origin)
        rows = feature_store.feature_rows(
            self.tenant_id, records, effects, self.now, own_features={p.project_id: p.features for p in stored}
        )
        self.say(f"computed {len(rows)} feature rows", 0.25)
        feature_store.apply()
        write = feature_store.write_offline(self.tenant_id, rows, written_at=self.now)
        if write is not None:
            feature_store.materialize(self.now + timedelta(seconds=1), since=write.earliest_event)
        self.say("feature store materialised", 0.3)
        summary["feature_rows"] = len(rows)

        frame = feature_store.training_frame(
            self.tenant_id, [(r.project_id, r.cutoff) for r in completed], FEATURE_NAMES
        )
        X = frame[list(FEATURE_NAMES)].to_numpy(dtype=float)
        missing = ~np.isfinite(X).all(axis=1)
        if missing.any():  # a project with no row at its cut-off cannot be trained on honestly: left out, counted
            completed = [r for r, m in zip(completed, missing, strict=False) if not m]
            X = X[~missing]
        targets = {t: np.array([r.target(t) for r in completed], dtype=float) for t in TARGET_NAMES}
        starts = np.array([r.start_date.replace(tzinfo=None) for r in completed], dtype="datetime64[s]")
        ids = [r.project_id for r in completed]
        data_fingerprint = fingerprint(ids, X, targets)
        summary["training_data"] = self._training_data(
            len(records), len(completed), {**left_out, "without_features": int(missing.sum())}
        )
        summary.update(
            training_rows=len(completed),
            dropped_without_features=int(missing.sum()),
            dataset_fingerprint=data_fingerprint,
            targets={},
        )

        mlflow = self._mlflow()
        for index, target in enumerate(TARGET_NAMES):
            self.say(f"training {target} on {len(completed)} projects", 0.35 + 0.18 * index)
            summary["targets"][target] = self._train_target(
                mlflow, target, X, targets[target], starts, data_fingerprint
            )
        self.say("learning the artifact recommender", 0.9)
        summary["recommender"] = self._train_recommender(mlflow, completed, origin)
        summary.update(outcome="trained", seconds=round(time.perf_counter() - started, 1))
        self.say("done", 1.0)
        return summary

    def _training_data(self, projects: int, used: int, left_out: dict[str, int]) -> dict[str, Any]:
        """How many stored projects the models learn from and why the others are left out; kept beside the models
        so GET /v1/models/meta says it too ("40 recorded, 0 used" is never silent)."""
        report = {
            "projects": projects,
            "used": used,
            "left_out": left_out,
            "min_completed_projects": MIN_COMPLETED_FOR_MODEL,
            "counted_at": self.now.isoformat(),
        }
        object_store.put_json(meta_models.training_data_key(self.tenant_id), report)
        return report

    def _trained_on(self, outcomes: str) -> bool:
        champions = meta_models.champions(self.tenant_id)
        return all(
            t in champions and (champions[t].metrics or {}).get("outcomes_fingerprint") == outcomes
            for t in TARGET_NAMES
        )

    # ------------------------------------------------------------ MLflow
    def _mlflow(self):
        import os

        tracking_uri = self.settings.mlflow_tracking_uri
        if not tracking_uri:
            raise ConfigurationError("MAESTRO_MLFLOW_TRACKING_URI must name the MLflow tracking server")
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        mlflow.set_experiment(experiment_name(self.tenant_id))
        return mlflow

    def _train_target(
        self, mlflow: Any, target: str, X: np.ndarray, y: np.ndarray, starts: np.ndarray, data_fingerprint: str
    ) -> dict[str, Any]:
        import onnx
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        from maestro.ml.onnx_export import export_target
        from maestro.ml.training import train_target

        name = registered_model_name(self.tenant_id, target)
        with mlflow.start_run(run_name=f"{target} {self.now:%Y-%m-%d %H:%M}") as run:
            mlflow.set_tags(
                {"maestro.tenant_id": self.tenant_id, "maestro.target": target, "maestro.job_id": self.job_id or ""}
            )
            mlflow.log_params(
                {
                    "target": target,
                    "training_rows": len(y),
                    "features": len(FEATURE_NAMES),
                    "dataset_fingerprint": data_fingerprint,
                    "cutoff_days": CUTOFF_DAYS,
                    "seed": SEED,
                    "feature_source": "feast:get_historical_features",
                    "min_completed_projects": MIN_COMPLETED_FOR_MODEL,
                }
            )
            mlflow.log_dict({"features": list(FEATURE_NAMES)}, "features.json")
            model = train_target(X, y, FEATURE_NAMES, target=target, seed=SEED, start_dates=starts)
            mlflow.log_params(
                {"holdout_rule": model.metrics["split"]["rule"], "selected": model.metrics["selected"][:500]}
            )
            _log_metrics(mlflow, model.metrics)
            mlflow.log_dict(model.to_dict(), "model_summary.json")
            onnx_bytes, manifest = export_target(model, feature_means=X[model.train_index].mean(axis=0))
            info = mlflow.onnx.log_model(
                onnx.load_from_string(onnx_bytes),
                name="model",
                registered_model_name=name,
                pip_requirements=["onnxruntime==1.16.3", "numpy==1.26.4"],
                metadata={"target": target, "dataset_fingerprint": data_fingerprint},
            )
            version = str(info.registered_model_version)
            manifest["version"] = version
            mlflow.log_dict(manifest, "serving_manifest.json")
            bundle = meta_models.put_bundle(self.tenant_id, target, version, onnx_bytes, manifest)
            record = ModelRecord(
                self.tenant_id,
                meta_models.version_key(target, version),
                target=target,
                model_version=version,
                mlflow_run_id=run.info.run_id,
                metrics={**json.loads(json.dumps(model.metrics)), "outcomes_fingerprint": self.outcomes_fingerprint},
                trained_at=self.now,
                training_rows=len(y),
                bundle_key=bundle,
            )
            meta_models.put_version(record)

            holdout = model.holdout_index
            challenger = ServedTarget.load(onnx_bytes, manifest)
            challenger_mae = float(np.mean(np.abs(challenger.predict(X[holdout])[0] - y[holdout])))
            client = MlflowClient()
            try:
                previous = client.get_model_version_by_alias(name, CHAMPION_ALIAS).version
            except MlflowException:
                previous = None
            decision: dict[str, Any] = {
                "challenger_version": version,
                "challenger_holdout_mae": round(challenger_mae, 4),
                "holdout_projects": int(len(holdout)),
                "champion_version": previous,
                "decided_at": self.now.isoformat(),
            }
            previous_record = meta_models.get_version(self.tenant_id, target, previous) if previous else None
            if previous_record is None or not previous_record.bundle_key:
                decision.update(
                    moved=True,
                    reason="no champion yet" if previous is None else "the champion has no exported graph to compare",
                )
            else:
                champion = ServedTarget.load(*meta_models.get_bundle(previous_record.bundle_key))
                champion_mae = float(np.mean(np.abs(champion.predict(X[holdout])[0] - y[holdout])))
                moved = challenger_mae < champion_mae
                decision.update(
                    champion_holdout_mae=round(champion_mae, 4),
                    moved=moved,
                    reason=(
                        "lower hold-out MAE than the champion"
                        if moved
                        else "not better than the champion on the hold-out set"
                    ),
                )
            mlflow.set_tags({"maestro.champion_decision": "moved" if decision["moved"] else "kept"})
            mlflow.log_dict(decision, "champion_decision.json")
            if decision["moved"]:
                client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
                try:
                    meta_models.move_champion(record, previous, decision)
                except Exception:
                    # serving and the registry must agree: put the alias back where it was
                    if previous is not None:
                        client.set_registered_model_alias(name, CHAMPION_ALIAS, previous)
                    else:
                        client.delete_registered_model_alias(name, CHAMPION_ALIAS)
                    raise
            else:
                meta_models.record_decision(self.tenant_id, target, version, decision)
        return {
            "version": version,
            "run_id": run.info.run_id,
            "champion": decision,
            "holdout": model.metrics["holdout"],
            "baselines": model.metrics["baselines"],
            "coverage": model.metrics["coverage"],
        }

    def _train_recommender(self, mlflow: Any, completed: list[ProjectRecord], origin: datetime) -> dict[str, Any]:
        from maestro.ml.recommend import learn_recommender, observed_relevance

        artifacts = _artifact_specs(self.tenant_id)
        history = History(tuple(completed), tuple(artifacts), None, SEED, origin, self.now)
        similarity, source = _similarity_function(self.tenant_id, artifacts)
        ordered = sorted(completed, key=lambda p: (p.start_date, p.project_id))
        fitted = learn_recommender(
            history,
            completed,
            similarity=similarity,
            seed=SEED,
            relevance=observed_relevance(ordered[: int(round(len(ordered) * 0.75))]),
        )
        state = fitted.recommender.state()
        state.update(similarity_source=source, validation=fitted.validation, trained_at=self.now.isoformat())
        previous = meta_models.champions(self.tenant_id).get(RECOMMENDER)
        version = str(int(previous.model_version) + 1 if previous else 1)
        key = meta_models.recommender_state_key(self.tenant_id, version)
        object_store.put_json(key, state)
        with mlflow.start_run(run_name=f"recommender {self.now:%Y-%m-%d %H:%M}"):
            mlflow.set_tags({"maestro.tenant_id": self.tenant_id, "maestro.target": RECOMMENDER})
            mlflow.log_params(
                {
                    **{f"weight.{k}": v for k, v in fitted.validation["weights"].items()},
                    "similarity_source": source,
                    "projects": len(completed),
                }
            )
            mlflow.log_metrics(
                {
                    "validation.ndcg_at_10": fitted.validation["ndcg_at_10"],
                    "validation.most_popular_ndcg_at_10": fitted.validation["most_popular_ndcg_at_10"],
                }
            )
        record = ModelRecord(
            self.tenant_id,
            meta_models.version_key(RECOMMENDER, version),
            target=RECOMMENDER,
            model_version=version,
            metrics=fitted.validation,
            trained_at=self.now,
            training_rows=len(completed),
            bundle_key=key,
        )
        meta_models.put_version(record)
        meta_models.move_champion(
            record,
            previous.model_version if previous else None,
            {"moved": True, "reason": "the recommender is refitted on every retrain"},
        )
        return {"version": version, "similarity_source": source, **fitted.validation}


def retrain_tenant(
    tenant_id: str,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    job_id: str | None = None,
    only_if_changed: bool = False,
) -> dict[str, Any]:
    return RetrainRun(tenant_id, now or datetime.now(UTC), progress or _quiet, job_id, only_if_changed).run()


PROGRESS_INTERVAL_SECONDS = 2.0


def run_job(
    tenant_id: str, job_id: str, *, now: datetime | None = None, only_if_changed: bool = False
) -> dict[str, Any]:
    """Run a queued retrain job, reporting progress on the job (at most every 2 s); a job that is not queued
    any more (a redelivered event) is left alone. The schedule passes `only_if_changed`: a tenant whose champions
    were trained on exactly its current outcomes is not retrained (a request always is)."""
    if not job_store.start_job(tenant_id, job_id, datetime.now(UTC)):
        logger.info("retrain job already taken", extra={"tenant_id": tenant_id, "job_id": job_id})
        return {"job_id": job_id, "outcome": "skipped: not queued"}
    last = [0.0]

    def progress(message: str, fraction: float) -> None:
        _quiet(message, fraction)
        if time.monotonic() - last[0] >= PROGRESS_INTERVAL_SECONDS or fraction >= 1.0:
            last[0] = time.monotonic()
            job_store.report_progress(tenant_id, job_id, round(fraction, 3), {"message": message}, datetime.now(UTC))

    try:
        summary = retrain_tenant(tenant_id, now=now, progress=progress, job_id=job_id, only_if_changed=only_if_changed)
    except Exception as error:
        logger.exception("retrain failed", extra={"tenant_id": tenant_id, "job_id": job_id})
        job_store.finish_job(
            tenant_id, job_id, "failed", {"error": type(error).__name__, "message": str(error)[:500]}, datetime.now(UTC)
        )
        return {"job_id": job_id, "outcome": "failed"}
    job_store.finish_job(tenant_id, job_id, "succeeded", summary, datetime.now(UTC))
    return {"job_id": job_id, **summary}
