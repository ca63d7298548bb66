"""The meta-learning feature store in batch: rows as of the prediction cut-off, Parquet in S3, `feast apply`,
materialisation to DynamoDB and point-in-time correct training frames.

Batch-only: Feast (about 11 s of import time) and pandas are imported inside the functions. Request-time code reads
the online store with `maestro.repositories.online_features`, which never imports Feast. See docs/feature-store.md.

Row semantics (`feature_rows`): a project's row describes it as of min(as_of, its cut-off) and carries that moment
as its event time. Past the cut-off the values never move again, so the online store holds exactly the snapshot the
models were trained on (training asks for each project as of its cut-off): train/serve consistency. A project
younger than the cut-off gets its current values, which its cut-off row later supersedes.
"""

from __future__ import annotations

import io
import json
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from maestro.domain.meta.feature_views import (
    CREATED_TIMESTAMP,
    ENTITY_JOIN_KEY,
    EVENT_TIMESTAMP,
    MODEL_FEATURES,
    OWN_FEATURE_PREFIX,
    OWN_FEATURES_COLUMN,
    STRING_COLUMNS,
    VIEW_FEATURES,
    tenant_project_key,
    view_columns,
    view_for,
)
from maestro.domain.meta.history import ProjectRecord, features
from maestro.settings import Settings, get_settings

if TYPE_CHECKING:
    import pandas

Progress = Callable[[str], None]
# Effects of artifacts (success points) as published by then: one map for every project, or one per project (the
# last snapshot before its cut-off, as maestro.domain.meta.history.feature_table does).
ArtifactEffects = Mapping[str, float] | Callable[[ProjectRecord], Mapping[str, float]] | None
# materialize() starts here when a view was never materialised (Feast's own default looks back one year only).
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
STORED_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(c for view in VIEW_FEATURES for c in view_columns(view)))


@dataclass(frozen=True)
class OfflineWrite:
    uri: str
    rows: int
    earliest_event: datetime | None  # pass as materialize(since=...) when rows may predate the last materialisation
    latest_event: datetime | None


# ---------------------------------------------------------------- rows
def feature_rows(
    tenant_id: str,
    projects: Iterable[ProjectRecord],
    artifact_effects: ArtifactEffects,
    as_of: datetime,
    *,
    own_features: Mapping[str, Mapping[str, float]] | None = None,
) -> list[dict]:
    """One row per project started by `as_of`: its features as of min(as_of, cut-off), with `event_timestamp` that
    moment and `created` = `as_of` (a rewrite of the same moment wins by being newer). `own_features` maps a project
    id to the project's own numeric `features` (else a `features` attribute of the record, else none); they are
    stored as one JSON object."""
    as_of = _utc(as_of)
    out = []
    for project in projects:
        if _utc(project.start_date) > as_of:
            continue
        moment = min(as_of, _utc(project.cutoff))
        effects = artifact_effects(project) if callable(artifact_effects) else artifact_effects
        own = (own_features or {}).get(project.project_id) or getattr(project, "features", None) or {}
        row: dict[str, Any] = {
            ENTITY_JOIN_KEY: tenant_project_key(tenant_id, project.project_id),
            EVENT_TIMESTAMP: moment,
            CREATED_TIMESTAMP: as_of,
            "problem_class": str(project.problem_class),
            OWN_FEATURES_COLUMN: _own_features_json(own),
        }
        row.update(features(project, moment, artifact_effects=effects))
        out.append(row)
    return out


def _own_features_json(own: Mapping[str, Any]) -> str:
    numeric = {}
    for key, value in own.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue  # only finite numbers are features
        numeric[str(key)] = float(value)
    return json.dumps(numeric, sort_keys=True, separators=(",", ":"))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# ---------------------------------------------------------------- offline store
def write_offline(
    tenant_id: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    settings: Settings | None = None,
    written_at: datetime | None = None,
    progress: Progress | None = None,
) -> OfflineWrite | None:
    """Append rows to the offline store: one new Parquet file under `<offline>/project_features/<tenant>/`, named by
    write time, so a write never rewrites earlier files or another tenant's. Every row must belong to the tenant.
    None when there is nothing to write."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from maestro.aws_clients import client
    from maestro.ml.feature_definitions import offline_source_uri

    if not rows:
        return None
    settings = settings or get_settings()
    prefix = tenant_project_key(tenant_id, "x")[:-1]
    foreign = [r[ENTITY_JOIN_KEY] for r in rows if not str(r[ENTITY_JOIN_KEY]).startswith(prefix)]
    if foreign:
        raise ValueError(f"rows of another tenant in a write for {tenant_id}: {foreign[:3]}")
    started = time.perf_counter()
    table = pa.Table.from_pylist([dict(r) for r in rows], schema=_arrow_schema(pa))
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    written_at = _utc(written_at or datetime.now(UTC))
    uri = f"{offline_source_uri(settings)}{tenant_id}/{written_at:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}.parquet"
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    client("s3", settings).put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    events = [_utc(r[EVENT_TIMESTAMP]) for r in rows]
    _report(progress, f"feature store: wrote {len(rows)} rows to {uri} in {time.perf_counter() - started:.2f} s")
    return OfflineWrite(uri, len(rows), min(events), max(events))


def _arrow_schema(pa: Any) -> Any:
    fields = [
        pa.field(ENTITY_JOIN_KEY, pa.string(), nullable=False),
        pa.field(EVENT_TIMESTAMP, pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field(CREATED_TIMESTAMP, pa.timestamp("us", tz="UTC"), nullable=False),
    ]
    fields += [pa.field(c, pa.string() if c in STRING_COLUMNS else pa.float64()) for c in STORED_COLUMNS]
    return pa.schema(fields)


# ---------------------------------------------------------------- Feast
_stores: dict[tuple, Any] = {}
_stores_lock = threading.Lock()


def feature_store(settings: Settings | None = None) -> Any:
    """The Feast FeatureStore of the stage (one per process and configuration)."""
    settings = settings or get_settings()
    key = (
        settings.feast_project,
        settings.feast_registry_uri,
        settings.feast_offline_uri,
        settings.feast_online_table_prefix,
        settings.endpoint_url,
        settings.region,
    )
    with _stores_lock:
        found = _stores.get(key)
        if found is None:
            prepare_environment(settings)
            from feast import FeatureStore

            from maestro.ml.feature_definitions import repo_config

            found = _stores[key] = FeatureStore(config=repo_config(settings))
        return found


def apply(*, settings: Settings | None = None, progress: Progress | None = None) -> None:
    """Register the entity, source, views and service and create the online tables (idempotent)."""
    from maestro.ml.feature_definitions import repo_objects

    settings = settings or get_settings()
    started = time.perf_counter()
    feature_store(settings).apply(repo_objects(settings))
    _report(progress, f"feature store: applied {len(VIEW_FEATURES)} views in {time.perf_counter() - started:.2f} s")


def materialize(
    end: datetime, *, since: datetime | None = None, settings: Settings | None = None, progress: Progress | None = None
) -> tuple[datetime, datetime]:
    """Load the latest row per project with event time in [start, end) into the DynamoDB online store; returns
    (start, end). start is `since` when given, else where the previous materialisation ended (incremental), else
    EPOCH. Pass `since` = OfflineWrite.earliest_event after rewriting rows older than the last materialisation
    (late ingestion of a project past its cut-off): an incremental window would not look back at them."""
    store = feature_store(settings)
    end = _utc(end)
    if since is None:
        ends = [v.most_recent_end_time for v in store.list_feature_views(allow_cache=False)]
        since = min((_utc(e) for e in ends if e is not None), default=EPOCH) if all(ends) else EPOCH
    start = min(_utc(since), end)
    started = time.perf_counter()
    store.materialize(start_date=start, end_date=end, feature_views=list(VIEW_FEATURES))
    _report(
        progress,
        f"feature store: materialised {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} "
        f"in {time.perf_counter() - started:.2f} s",
    )
    return start, end


def training_frame(
    tenant_id: str,
    entity_rows: Sequence[tuple[str, datetime]],
    features: Sequence[str] = MODEL_FEATURES,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> pandas.DataFrame:
    """Point-in-time correct features: for each (project_id, as_of) the values of the newest row with event time
    <= as_of (never a later one), in the order asked. Columns: project_id, as_of, then `features` (NaN where the
    store has nothing yet). A name "features.<key>" reads the project's own feature <key>."""
    import pandas as pd

    started = time.perf_counter()
    entity_df = pd.DataFrame(
        {
            ENTITY_JOIN_KEY: [tenant_project_key(tenant_id, p) for p, _ in entity_rows],
            EVENT_TIMESTAMP: pd.to_datetime([_utc(t) for _, t in entity_rows], utc=True),
            "_row": range(len(entity_rows)),
        }
    )
    refs = list(dict.fromkeys(f"{view_for(name)}:{_stored_name(name)}" for name in features))
    joined = feature_store(settings).get_historical_features(entity_df=entity_df, features=refs).to_df()
    # Feast drops an entity row when every stored row of the project is later than its as_of: put it back (NaN).
    joined = joined.drop_duplicates("_row").set_index("_row").reindex(range(len(entity_rows)))
    out = pd.DataFrame(
        {
            "project_id": [p for p, _ in entity_rows],
            "as_of": pd.to_datetime([_utc(t) for _, t in entity_rows], utc=True),
        }
    )
    own = None
    for name in features:
        if name.startswith(OWN_FEATURE_PREFIX):
            if own is None:
                own = [json.loads(v) if isinstance(v, str) and v else {} for v in joined[OWN_FEATURES_COLUMN]]
            key = name.removeprefix(OWN_FEATURE_PREFIX)
            out[name] = [float(o[key]) if key in o else float("nan") for o in own]
        else:
            out[name] = joined[name].to_numpy()
    _report(
        progress,
        f"feature store: training frame of {len(out)} rows x {len(features)} features "
        f"in {time.perf_counter() - started:.2f} s",
    )
    return out


def _stored_name(feature_name: str) -> str:
    return OWN_FEATURES_COLUMN if feature_name.startswith(OWN_FEATURE_PREFIX) else feature_name


def _report(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


# ---------------------------------------------------------------- S3 plumbing for Feast
def prepare_environment(settings: Settings) -> None:
    """Point Feast's S3 registry at the configured endpoint, and give fsspec an "s3" filesystem when s3fs is
    missing (Feast's file offline store reads Parquet through dask/fsspec; feast[aws] does not bring s3fs)."""
    if settings.endpoint_url:
        os.environ["FEAST_S3_ENDPOINT_URL"] = settings.endpoint_url
    try:
        import s3fs  # noqa: F401
    except ImportError:
        _register_arrow_s3(settings)


def _register_arrow_s3(settings: Settings) -> None:
    import fsspec
    from fsspec.implementations.arrow import ArrowFSWrapper
    from pyarrow.fs import S3FileSystem

    region = settings.region

    class ArrowS3(ArrowFSWrapper):
        """fsspec's "s3" protocol on pyarrow's S3 client, taking s3fs-style storage options."""

        protocol = ("s3", "s3a")
        root_marker = ""

        def __init__(
            self,
            client_kwargs: dict | None = None,
            key: str | None = None,
            secret: str | None = None,
            token: str | None = None,
            **kwargs: Any,
        ) -> None:
            options: dict[str, Any] = {"region": region}
            endpoint = (client_kwargs or {}).get("endpoint_url")
            if endpoint:
                options["endpoint_override"] = endpoint
                options["scheme"] = "https" if endpoint.startswith("https") else "http"
            if key and secret:
                options.update(access_key=key, secret_key=secret, session_token=token)
            super().__init__(S3FileSystem(**options), **kwargs)

        @classmethod
        def _strip_protocol(cls, path: Any) -> Any:
            if isinstance(path, list):
                return [cls._strip_protocol(p) for p in path]
            for scheme in ("s3://", "s3a://"):
                if path.startswith(scheme):
                    path = path[len(scheme) :]
            return path.rstrip("/")

    fsspec.register_implementation("s3", ArrowS3, clobber=True)
    fsspec.register_implementation("s3a", ArrowS3, clobber=True)


# ---------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    """`python -m maestro.ml.feature_store apply | materialize | yaml` for the configured stage."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m maestro.ml.feature_store")
    parser.add_argument("command", choices=("apply", "materialize", "yaml"))
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "yaml":
        from maestro.ml.feature_definitions import feature_store_yaml

        print(feature_store_yaml(settings), end="")
    elif args.command == "apply":
        apply(settings=settings, progress=print)
    else:
        materialize(datetime.now(UTC), settings=settings, progress=print)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
