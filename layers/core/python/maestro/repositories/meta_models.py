"""Storage of the outcome models (meta-learning): a record per trained version, the champion pointer that serving
reads, the exported ONNX graphs in S3, and the live-error counters scored predictions add to.

The MLflow registry is where versions and the `champion` alias live for people and tools; these records mirror
it for the request path, which must not import MLflow (cold start) nor depend on the tracking server being up.
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from maestro.domain.errors import Conflict
from maestro.repositories import object_store
from maestro.repositories.schema import ModelRecord, Prediction
from maestro.repositories.tables import ensure_bound, failed_conditions, transaction_connection

CHAMPION_PREFIX = "champion#"


def version_key(target: str, version: int | str) -> str:
    return f"{target}#{int(version):06d}"


def champion_key(target: str) -> str:
    return f"{CHAMPION_PREFIX}{target}"


def bundle_key(tenant_id: str, target: str, version: int | str) -> str:
    return f"meta-models/{tenant_id}/{target}/v{int(version):06d}/model.onnx"


def recommender_state_key(tenant_id: str, version: int | str) -> str:
    """S3 key of a fitted recommender's state (JSON: maestro.ml.recommend.ArtifactRecommender.state)."""
    return f"meta-models/{tenant_id}/recommender/v{int(version):06d}/state.json"


def training_data_key(tenant_id: str) -> str:
    """The last retrain's count of projects used and left out (and why)."""
    return f"meta-models/{tenant_id}/training-data.json"


def put_bundle(tenant_id: str, target: str, version: int | str, onnx_bytes: bytes, manifest: dict) -> str:
    """Write the graph and its manifest; returns the graph's key (the manifest is `<key>.json`)."""
    key = bundle_key(tenant_id, target, version)
    object_store.put_bytes(key, onnx_bytes)
    object_store.put_json(f"{key}.json", manifest)
    return key


def get_bundle(key: str) -> tuple[bytes, dict]:
    return object_store.get_bytes(key), object_store.get_json(f"{key}.json")


def put_version(record: ModelRecord) -> None:
    """A new trained version; a version number is written once."""
    ensure_bound()
    record.save(condition=ModelRecord.model_key.does_not_exist())


def champions(tenant_id: str) -> dict[str, ModelRecord]:
    """target -> the champion pointer record (one query, all targets)."""
    ensure_bound()
    return {r.target: r for r in ModelRecord.query(tenant_id, ModelRecord.model_key.startswith(CHAMPION_PREFIX))}


def versions(
    tenant_id: str, target: str, *, newest_first: bool = True, limit: int | None = None
) -> Iterator[ModelRecord]:
    ensure_bound()
    return ModelRecord.query(
        tenant_id, ModelRecord.model_key.startswith(f"{target}#"), scan_index_forward=not newest_first, limit=limit
    )


def get_version(tenant_id: str, target: str, version: int | str) -> ModelRecord | None:
    ensure_bound()
    try:
        return ModelRecord.get(tenant_id, version_key(target, version))
    except ModelRecord.DoesNotExist:
        return None


def move_champion(record: ModelRecord, previous_version: str | None, decision: dict) -> None:
    """Make `record` (a stored version) the champion, if the champion is still `previous_version` (None: there
    was none). The pointer, the new and the old version's flags change together or not at all."""
    ensure_bound()
    pointer = ModelRecord(
        record.tenant_id,
        champion_key(record.target),
        **{
            name: getattr(record, name)
            for name in (
                "target",
                "model_version",
                "mlflow_run_id",
                "metrics",
                "trained_at",
                "training_rows",
                "bundle_key",
            )
        },
        is_champion=True,
        decision=decision,
    )
    condition = (
        ModelRecord.model_key.does_not_exist()
        if previous_version is None
        else ModelRecord.model_version == previous_version
    )
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.save(pointer, condition=condition)
            tx.update(
                ModelRecord(record.tenant_id, version_key(record.target, record.model_version)),
                actions=[ModelRecord.is_champion.set(True), ModelRecord.decision.set(decision)],
                condition=ModelRecord.model_key.exists(),
            )
            if previous_version is not None:
                tx.update(
                    ModelRecord(record.tenant_id, version_key(record.target, previous_version)),
                    actions=[ModelRecord.is_champion.set(False)],
                    condition=ModelRecord.model_key.exists(),
                )
    except TransactWriteError as error:
        if failed_conditions(error):
            raise Conflict(f"the {record.target} champion changed while this retrain ran") from None
        raise


def record_decision(tenant_id: str, target: str, version: str, decision: dict) -> None:
    ensure_bound()
    ModelRecord(tenant_id, version_key(target, version)).update(actions=[ModelRecord.decision.set(decision)])


def score_prediction(prediction: Prediction, scored: dict, live: list[tuple[str, str, float, bool, bool]]) -> bool:
    """Mark a prediction scored and add each (target, version, abs error, in 80%, in 90%) to that version's live
    counters, exactly once: False (nothing written) if it was already scored."""
    ensure_bound()
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.update(
                prediction,
                actions=[Prediction.scored.set(scored)],
                condition=Prediction.prediction_id.exists() & Prediction.scored.does_not_exist(),
            )
            for target, version, abs_error, hit_80, hit_90 in live:
                tx.update(
                    ModelRecord(prediction.tenant_id, version_key(target, version)),
                    actions=[
                        ModelRecord.live_count.add(1),
                        ModelRecord.live_abs_error_sum.add(abs_error),
                        ModelRecord.live_hits_80.add(int(hit_80)),
                        ModelRecord.live_hits_90.add(int(hit_90)),
                    ],
                    condition=ModelRecord.model_key.exists(),
                )
        return True
    except TransactWriteError as error:
        if 0 in failed_conditions(error):
            return False
        raise
