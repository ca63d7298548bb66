"""The DynamoDB schema: one pynamodb model per entity, the single source of truth for every table.

Tenant data always carries the tenant in the partition key (`tenant_id`, or `tenant_id#<parent id>` for
children), so a query cannot cross tenants by accident. The three tables keyed otherwise are global by
nature and say why. Access patterns: docs/dynamodb-access-patterns.md. The CloudFormation tables
(infra/) and the local stack's tables are both generated from these models, and
tests/integration/test_schema_consistency.py fails when either disagrees with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from maestro.settings import Settings

_IndexedModel = TypeVar("_IndexedModel", bound=Model)


def child_key(tenant_id: str, parent_id: str) -> str:
    """Partition key of an item that belongs to a parent object inside a tenant."""
    return f"{tenant_id}#{parent_id}"


def parent_id_of(key: str) -> str:
    """The parent object's id in a child_key (`tenant_id#parent_id` -> `parent_id`)."""
    return key.split("#", 1)[1]


def stored_fields(item: Model, *names: str) -> dict[str, Any]:
    """The named attributes of an item as stored, for a view that shows them unchanged."""
    return {name: getattr(item, name) for name in names}


class MaestroModel(Model):
    """Base: on-demand capacity; table name, region and endpoint are bound per stage by `bind_tables`."""

    logical_name: str = ""  # the table's name before bind_tables prefixes it: each model's Meta.table_name
    ttl_attribute: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.logical_name = cls.Meta.table_name  # each model names its table once, in its Meta

    class Meta:
        abstract = True
        billing_mode = "PAY_PER_REQUEST"
        # Set per stage by bind_tables (declared here for the type checker; pynamodb reads them off each Meta).
        table_name: str
        region: str
        host: str | None
        connect_timeout_seconds: int
        max_retry_attempts: int


class TenantLocalIndex(LocalSecondaryIndex[_IndexedModel]):
    """A local index of a table partitioned by `tenant_id`: it shares the table's hash key (as every local index
    must) and projects every attribute. A subclass names the index in its Meta and declares its range key."""

    class Meta:
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)


# ---------------------------------------------------------------- identity
class Tenant(MaestroModel):
    class Meta(MaestroModel.Meta):
        table_name = "tenants"

    tenant_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    quota_overrides = JSONAttribute(default=dict)
    # Usage counters, changed only by atomic ADD with a quota condition in the same transaction as the object.
    users_count = NumberAttribute(default=0)
    admin_count = NumberAttribute(default=0)
    projects_count = NumberAttribute(default=0)
    artifacts_count = NumberAttribute(default=0)
    stored_bytes = NumberAttribute(default=0)
    success_weights = JSONAttribute(null=True)
    mlflow = JSONAttribute(null=True)  # tracking server integration (the token lives in Secrets Manager)
    # Aliases only admins may move or remove (maestro.services.artifact_aliases); changed by admins only.
    # ListAttribute[str]: the element type its users see; pynamodb's stubs type `of=` as that element type
    # rather than the attribute class it takes at runtime (here and on RateLimitWindow.failures).
    protected_aliases = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]


class UserEmail(MaestroModel):
    """Global login index: an email names exactly one user. Written in the same transaction as the user."""

    class Meta(MaestroModel.Meta):
        table_name = "user-emails"

    email = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    user_id = UnicodeAttribute()


class User(MaestroModel):
    class Meta(MaestroModel.Meta):
        table_name = "users"

    tenant_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    password_hash = UnicodeAttribute(null=True)
    invite_token_hash = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    deleted_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class Session(MaestroModel):
    """A refresh-token family: rotation replaces `current_refresh_jti`; reuse of an older one revokes all."""

    ttl_attribute = "expires_at_epoch"

    class Meta(MaestroModel.Meta):
        table_name = "sessions"

    tenant_id = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
    current_refresh_jti = UnicodeAttribute()
    used_refresh_jtis = UnicodeSetAttribute(default=set)
    revoked = BooleanAttribute(default=False)
    revoked_reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at_epoch = NumberAttribute()
    version = VersionAttribute()


class ApiKeyIdIndex(GlobalSecondaryIndex["ApiKey"]):
    """Authenticates `mml_<key_id>_<secret>`: the key id alone finds the key (and so its tenant)."""

    class Meta:
        index_name = "key-id-index"
        projection = AllProjection()

    key_id = UnicodeAttribute(hash_key=True)


class ApiKey(MaestroModel):
    class Meta(MaestroModel.Meta):
        table_name = "api-keys"

    tenant_id = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    created_by = UnicodeAttribute()
    # The user whose standing the key borrows: it stops when that user is deactivated or deleted. None: the
    # tenant's own key (see maestro.domain.identity.api_keys.key_owner).
    owner_user_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)
    last_used_at = UTCDateTimeAttribute(null=True)
    revoked = BooleanAttribute(default=False)
    by_key_id = ApiKeyIdIndex()


class AuditEvent(MaestroModel):
    """One link of the tenant's hash chain; `seq` is written with attribute_not_exists so chains cannot fork."""

    class Meta(MaestroModel.Meta):
        table_name = "audit-events"

    tenant_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    event_id = UnicodeAttribute()
    occurred_at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    resource_type = UnicodeAttribute()
    resource_id = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute()
    source_ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    changes = JSONAttribute(null=True)
    prev_hash = UnicodeAttribute()
    hash = UnicodeAttribute()


class AuditHead(MaestroModel):
    """The highest seq each tenant's chain has reached, only ever raised. Lets verify notice a deleted last
    event, which the chain alone cannot show. Its own table so it never contends with Tenant transactions."""

    class Meta(MaestroModel.Meta):
        table_name = "audit-heads"

    tenant_id = UnicodeAttribute(hash_key=True)
    head_seq = NumberAttribute()


# ---------------------------------------------------------------- projects
class ProjectStatusIndex(TenantLocalIndex["Project"]):
    """Lists a tenant's projects by status, newest first (range `status#created_at#project_id`)."""

    class Meta(TenantLocalIndex.Meta):
        index_name = "status-index"

    status_key = UnicodeAttribute(range_key=True)


class ProjectClassIndex(TenantLocalIndex["Project"]):
    """Lists a tenant's projects by problem class (range `problem_class#created_at#project_id`)."""

    class Meta(TenantLocalIndex.Meta):
        index_name = "problem-class-index"

    problem_class_key = UnicodeAttribute(range_key=True)


class Project(MaestroModel):
    class Meta(MaestroModel.Meta):
        table_name = "projects"

    tenant_id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    problem_class = UnicodeAttribute()
    complexity_score = NumberAttribute()
    team_size = NumberAttribute()
    status = UnicodeAttribute(default="active")
    status_key = UnicodeAttribute()
    problem_class_key = UnicodeAttribute()
    start_date = UnicodeAttribute(null=True)
    repositories = ListAttribute(of=UnicodeAttribute, default=list)
    mlflow_experiment = UnicodeAttribute(null=True)
    features = JSONAttribute(default=dict)
    outcome = JSONAttribute(null=True)
    success_score = NumberAttribute(null=True)
    mlflow_summary = JSONAttribute(null=True)
    external_id = UnicodeAttribute(null=True)  # the team's own id of an imported project (its id derives from it)
    import_fingerprint = UnicodeAttribute(null=True)  # the imported row as last applied: a re-import changes nothing
    # The weekly rollups hold every event of the project: true from creation (the ingestion writes them with the
    # events); a project stored before the rollups existed has none until `backfill-rollups` sets it, and its
    # reports read the events meanwhile (maestro.services.analytics).
    rollups_complete = BooleanAttribute(null=True, default_for_new=True)
    deleted = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    by_status = ProjectStatusIndex()
    by_problem_class = ProjectClassIndex()


class TeamMember(MaestroModel):
    class Meta(MaestroModel.Meta):
        table_name = "team-members"

    tenant_project = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute()
    role = UnicodeAttribute()
    experience_level = UnicodeAttribute()
    contribution_hours = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()


# ---------------------------------------------------------------- artifact registry
class ArtifactTypeNameIndex(TenantLocalIndex["Artifact"]):
    """Finds an artifact by type and case-folded name (uniqueness check, listing by type)."""

    class Meta(TenantLocalIndex.Meta):
        index_name = "type-name-index"

    type_name = UnicodeAttribute(range_key=True)


class ArtifactImpactIndex(TenantLocalIndex["Artifact"]):
    """Ranks a tenant's artifacts by impact score (top artifacts, sort=impact)."""

    class Meta(TenantLocalIndex.Meta):
        index_name = "impact-index"

    impact_score = NumberAttribute(range_key=True)


class Artifact(MaestroModel):
    class Meta(MaestroModel.Meta):
        table_name = "artifacts"

    tenant_id = UnicodeAttribute(hash_key=True)
    artifact_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    type = UnicodeAttribute()
    type_name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    metadata = JSONAttribute(default=dict)
    owner = UnicodeAttribute(null=True)
    usage_count = NumberAttribute(default=0)
    version_count = NumberAttribute(default=0)
    latest_version = UnicodeAttribute(null=True)
    impact_score = NumberAttribute(default=50)
    impact = JSONAttribute(null=True)
    deprecated = JSONAttribute(null=True)
    deleted = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # Optimistic locking of user edits (the ETag). Not a VersionAttribute: platform-maintained fields
    # (usage counters, impact) change in transactions without invalidating a user's ETag.
    revision = NumberAttribute(default=1)
    by_type_name = ArtifactTypeNameIndex()
    by_impact = ArtifactImpactIndex()


class NameClaim(MaestroModel):
    """A unique name inside a tenant (e.g. `artifact#<type>#<case-folded name>`), claimed in the same
    transaction as the object that bears it, so two concurrent creates cannot both take it."""

    class Meta(MaestroModel.Meta):
        table_name = "name-claims"

    tenant_id = UnicodeAttribute(hash_key=True)
    claim = UnicodeAttribute(range_key=True)
    owner_id = UnicodeAttribute()


class LineageEdge(MaestroModel):
    """`child` (artifact version) derives from `parent` (artifact version); read from the parent's side to
    answer "what derives from this" (the child's own version lists what it derives from)."""

    class Meta(MaestroModel.Meta):
        table_name = "lineage-edges"

    tenant_parent = UnicodeAttribute(hash_key=True)  # tenant_id#parent_artifact_id
    child_key = UnicodeAttribute(range_key=True)  # child_artifact_id#child_version#parent_version
    parent_version = UnicodeAttribute()
    child_artifact_id = UnicodeAttribute()
    child_version = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class VectorChangesIndex(TenantLocalIndex["ArtifactVector"]):
    """A tenant's vectors changed since a moment (ms): how a warm search function catches up with new ones."""

    class Meta(TenantLocalIndex.Meta):
        index_name = "updated-index"

    updated_ms = NumberAttribute(range_key=True)


class ArtifactVector(MaestroModel):
    """An artifact's entry in its tenant's search index, and the change log the index is refreshed from (every
    write sets `updated_ms`; `by_updated` reads the changes since a moment, strongly consistent): the record fields
    search reads (`entry`, written with the artifact by the request that changes it), the text extracted from its
    content and its MiniLM embedding (384 float32, little-endian; null until the embed function has run) with the
    hash of the text it embeds, so re-embedding unchanged text is a no-op. Usage and impact are kept here by the
    writers that change them on the artifact. Tenant-partitioned: search never sees another tenant's entries.
    One row per tenant is no entry: CHANGE_COUNTER_KEY (maestro.repositories.search_index) holds `change_count`,
    added to after every write to the tenant's entries, which a warm reader reads (one GetItem) to know whether its
    index is current; it has no `updated_ms`, so the change log never lists it."""

    class Meta(MaestroModel.Meta):
        table_name = "artifact-vectors"

    tenant_id = UnicodeAttribute(hash_key=True)
    artifact_id = UnicodeAttribute(range_key=True)
    vector = BinaryAttribute(legacy_encoding=False, null=True)
    text_sha256 = UnicodeAttribute(null=True)
    updated_ms = NumberAttribute()
    deleted = BooleanAttribute(default=False)
    entry = JSONAttribute(null=True)
    record_revision = NumberAttribute(null=True)
    content_text = UnicodeAttribute(null=True)
    usage_count = NumberAttribute(null=True)
    impact_score = NumberAttribute(null=True)
    change_count = NumberAttribute(null=True)  # on the tenant's counter row only
    by_updated = VectorChangesIndex()


class ArtifactVersion(MaestroModel):
    class Meta(MaestroModel.Meta):
        table_name = "artifact-versions"

    tenant_artifact = UnicodeAttribute(hash_key=True)
    version = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute(default="pending")
    status_reason = UnicodeAttribute(null=True)
    description = UnicodeAttribute(default="")
    derived_from = JSONAttribute(default=list)
    size_bytes = NumberAttribute()
    sha256 = UnicodeAttribute()
    content_type = UnicodeAttribute()
    s3_key = UnicodeAttribute()
    s3_version_id = UnicodeAttribute(null=True)
    integrity = UnicodeAttribute(default="unverified")  # unverified | intact | changed
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    verified_at = UTCDateTimeAttribute(null=True)
    # Servable versions (maestro.domain.model_serving): the graph's signature, read once when it became ready, or
    # why it cannot be served.
    signature = JSONAttribute(null=True)
    serving_problem = UnicodeAttribute(null=True)


class ArtifactAlias(MaestroModel):
    """A mutable name for one ready version of an artifact (`champion` -> 1.2.0). Written with conditions on the
    version it replaces, so two concurrent moves cannot both believe they moved it from the same place."""

    class Meta(MaestroModel.Meta):
        table_name = "artifact-aliases"

    tenant_artifact = UnicodeAttribute(hash_key=True)  # tenant_id#artifact_id
    alias = UnicodeAttribute(range_key=True)
    version = UnicodeAttribute()
    previous_version = UnicodeAttribute(null=True)
    revision = NumberAttribute(default=1)  # the ETag: If-Match on PUT/DELETE
    updated_by = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()


class ServingStats(MaestroModel):
    """A served model version's daily rollup (`version#YYYY-MM-DD`) of requests, errors, latencies and input
    summaries (maestro.domain.serving_monitoring), and its drift reference (`version#reference`)."""

    class Meta(MaestroModel.Meta):
        table_name = "serving-stats"

    tenant_artifact = UnicodeAttribute(hash_key=True)  # tenant_id#artifact_id
    version_day = UnicodeAttribute(range_key=True)  # version#YYYY-MM-DD, or version#reference
    requests = NumberAttribute(default=0)
    errors = NumberAttribute(default=0)
    stats = JSONAttribute(default=dict)
    revision = NumberAttribute(default=0)  # compare-and-swap of `stats` (counters are atomic ADDs)
    updated_at = UTCDateTimeAttribute(null=True)


class UsageByProjectIndex(GlobalSecondaryIndex["ArtifactUsage"]):
    """What a project used: `tenant_id#project_id` → artifact versions."""

    class Meta:
        index_name = "project-index"
        projection = AllProjection()

    tenant_project = UnicodeAttribute(hash_key=True)
    artifact_version = UnicodeAttribute(range_key=True)


class ArtifactUsage(MaestroModel):
    """One (project, artifact, version) triple; its key makes recording a usage idempotent."""

    class Meta(MaestroModel.Meta):
        table_name = "artifact-usages"

    tenant_artifact = UnicodeAttribute(hash_key=True)
    project_version = UnicodeAttribute(range_key=True)
    tenant_project = UnicodeAttribute()
    artifact_version = UnicodeAttribute()
    context = UnicodeAttribute(null=True)
    recorded_by = UnicodeAttribute()
    recorded_at = UTCDateTimeAttribute()
    by_project = UsageByProjectIndex()


# ---------------------------------------------------------------- process metrics
class ProcessMetric(MaestroModel):
    """One normalised metric event; the range key embeds the event id, so a replay is a conditional no-op."""

    class Meta(MaestroModel.Meta):
        table_name = "process-metrics"

    tenant_project = UnicodeAttribute(hash_key=True)
    metric_key = UnicodeAttribute(range_key=True)  # metric_type#timestamp#event_id
    event_id = UnicodeAttribute()
    metric_type = UnicodeAttribute()
    value = NumberAttribute()
    unit = UnicodeAttribute(null=True)
    timestamp = UTCDateTimeAttribute()
    source = UnicodeAttribute(null=True)
    metadata = JSONAttribute(null=True)
    ingested_at = UTCDateTimeAttribute()


class MetricAggregate(MaestroModel):
    """Daily count and sum per metric type, updated in the same transaction as the events they count."""

    class Meta(MaestroModel.Meta):
        table_name = "metric-aggregates"

    tenant_project = UnicodeAttribute(hash_key=True)
    aggregate_key = UnicodeAttribute(range_key=True)  # metric_type#day#YYYY-MM-DD
    # The stored attribute is named `count`, which shadows pynamodb's Model.count (unused on this model).
    count = NumberAttribute(default=0)  # type: ignore[assignment]
    total = NumberAttribute(default=0)


class RollupsByTenantWeekIndex(GlobalSecondaryIndex["MetricRollup"]):
    """Sparse: only rollups of the velocity types carry these keys, so one query lists every project's velocity
    facts of a run of weeks (`week#project_id#type#shard`) for the comparison with the other projects."""

    class Meta:
        index_name = "tenant-week-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    week_project = UnicodeAttribute(range_key=True)


class MetricRollup(MaestroModel):
    """A project's events of one metric type in one week (and shard), as a set of compact facts
    (maestro.domain.analytics.rollups): ADDed in the transaction that stores the events, read by the analytics
    reports instead of the events."""

    class Meta(MaestroModel.Meta):
        table_name = "metric-rollups"

    tenant_project = UnicodeAttribute(hash_key=True)
    rollup_key = UnicodeAttribute(range_key=True)  # week (Monday, YYYY-MM-DD)#metric_type#shard
    facts = UnicodeSetAttribute(null=True)
    fact_bytes = NumberAttribute(null=True)  # what the ADDs brought (rollups.ROLLUP_ITEM_BUDGET caps it)
    tenant_id = UnicodeAttribute(null=True)  # velocity types only (the sparse index)
    week_project = UnicodeAttribute(null=True)
    by_tenant_week = RollupsByTenantWeekIndex()


class RepositoryIntegration(MaestroModel):
    """A GitHub repository connected to a project. Global by nature: a webhook names only the repository, so
    it is the key; each tenant that connects the same repository has its own row and its own secret, and a
    delivery counts only for the rows whose secret its signature matches."""

    class Meta(MaestroModel.Meta):
        table_name = "repository-integrations"

    repository = UnicodeAttribute(hash_key=True)  # owner/name, case-folded
    tenant_project = UnicodeAttribute(range_key=True)
    secret_name = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class CustomMetricType(MaestroModel):
    """A tenant's own metric type, registered before events of that type are accepted."""

    class Meta(MaestroModel.Meta):
        table_name = "metric-types"

    tenant_id = UnicodeAttribute(hash_key=True)
    metric_type = UnicodeAttribute(range_key=True)
    unit = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


# ---------------------------------------------------------------- meta-learning
class PredictionByProjectIndex(GlobalSecondaryIndex["Prediction"]):
    class Meta:
        index_name = "project-index"
        projection = AllProjection()

    tenant_project = UnicodeAttribute(hash_key=True)
    created_at_key = UnicodeAttribute(range_key=True)


class Prediction(MaestroModel):
    class Meta(MaestroModel.Meta):
        table_name = "predictions"

    tenant_id = UnicodeAttribute(hash_key=True)
    prediction_id = UnicodeAttribute(range_key=True)
    tenant_project = UnicodeAttribute(null=True)
    created_at_key = UnicodeAttribute()
    request = JSONAttribute()
    result = JSONAttribute()
    model_version = UnicodeAttribute(null=True)
    basis = UnicodeAttribute()
    scored = JSONAttribute(null=True)
    by_project = PredictionByProjectIndex()


class ModelRecord(MaestroModel):
    """A trained meta-model version and its evaluation, mirrored from the MLflow registry for serving."""

    class Meta(MaestroModel.Meta):
        table_name = "model-records"

    tenant_id = UnicodeAttribute(hash_key=True)
    # "<target>#<version, zero-padded>" for each trained version; "champion#<target>" is the serving pointer, a
    # copy of the champion's record that moves (conditionally) when the alias moves in the MLflow registry.
    model_key = UnicodeAttribute(range_key=True)
    target = UnicodeAttribute()
    model_version = UnicodeAttribute()
    mlflow_run_id = UnicodeAttribute(null=True)
    metrics = JSONAttribute(default=dict)
    is_champion = BooleanAttribute(default=False)
    trained_at = UTCDateTimeAttribute()
    training_rows = NumberAttribute(default=0)
    bundle_key = UnicodeAttribute(null=True)  # S3 key of the exported ONNX graph; its manifest beside it
    decision = JSONAttribute(null=True)  # why the champion alias moved or stayed
    # Live error on projects predicted before they finished: changed only by atomic ADD when one is scored.
    live_count = NumberAttribute(default=0)
    live_abs_error_sum = NumberAttribute(default=0)
    live_hits_80 = NumberAttribute(default=0)
    live_hits_90 = NumberAttribute(default=0)


class Job(MaestroModel):
    """Long-running work (retraining, backfills, imports) and its progress."""

    ttl_attribute = "expires_at_epoch"

    class Meta(MaestroModel.Meta):
        table_name = "jobs"

    tenant_id = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    state = UnicodeAttribute(default="queued")
    progress = NumberAttribute(default=0)
    detail = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at_epoch = NumberAttribute(null=True)


# ---------------------------------------------------------------- platform
class RateLimitWindow(MaestroModel):
    """A fixed-window counter (e.g. signups per source IP per hour). Global: the key is the limited subject."""

    ttl_attribute = "expires_at_epoch"

    class Meta(MaestroModel.Meta):
        table_name = "rate-limits"

    window_key = UnicodeAttribute(hash_key=True)  # <limit name>#<subject>#<window start>
    # The stored attribute is named `count`, which shadows pynamodb's Model.count (unused on this model).
    count = NumberAttribute(default=0)  # type: ignore[assignment]
    expires_at_epoch = NumberAttribute()
    # Login throttling (key `login#<sha256 of the email>`): kept per email, whether or not an account has it,
    # so a locked account and an unknown email answer alike.
    failures = ListAttribute[float](of=NumberAttribute, null=True)  # type: ignore[arg-type]  # epoch seconds
    locked_until = UTCDateTimeAttribute(null=True)


class IdempotencyRecord(MaestroModel):
    """Powertools idempotency persistence (DynamoDBPersistenceLayer defaults: key `id`, TTL `expiration`).

    The idempotency key hashes the caller's tenant together with the request, so records never collide
    across tenants although the partition key is the hash alone.
    """

    ttl_attribute = "expiration"

    class Meta(MaestroModel.Meta):
        table_name = "idempotency"

    id = UnicodeAttribute(hash_key=True)
    expiration = NumberAttribute(null=True)
    in_progress_expiration = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
    data = UnicodeAttribute(null=True)
    validation = UnicodeAttribute(null=True)


TABLE_MODELS: tuple[type[MaestroModel], ...] = (
    Tenant,
    UserEmail,
    User,
    Session,
    ApiKey,
    AuditEvent,
    AuditHead,
    Project,
    TeamMember,
    Artifact,
    NameClaim,
    ArtifactVersion,
    ArtifactAlias,
    ServingStats,
    LineageEdge,
    ArtifactVector,
    ArtifactUsage,
    ProcessMetric,
    MetricAggregate,
    MetricRollup,
    CustomMetricType,
    RepositoryIntegration,
    Prediction,
    ModelRecord,
    Job,
    RateLimitWindow,
    IdempotencyRecord,
)


def bind_tables(settings: Settings, host: str | None) -> None:
    """Point every model at this stage's table names, region and endpoint."""
    for model in TABLE_MODELS:
        model.Meta.table_name = settings.table_name(model.logical_name)
        model.Meta.region = settings.region
        model.Meta.host = host
        model.Meta.connect_timeout_seconds = 3
        model.Meta.max_retry_attempts = 2
        # pynamodb caches its connection per class; drop it so the new endpoint takes effect.
        model._connection = None


def table_definition(model: type[MaestroModel]) -> dict[str, Any]:
    """The table as DynamoDB CreateTable / CloudFormation describe it (PascalCase keys, sorted)."""
    schema = model._get_schema()
    attributes = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    definition: dict[str, Any] = {
        "KeySchema": _keys(schema["key_schema"]),
        "BillingMode": "PAY_PER_REQUEST",
    }
    for key, declared in (
        ("GlobalSecondaryIndexes", schema["global_secondary_indexes"]),
        ("LocalSecondaryIndexes", schema["local_secondary_indexes"]),
    ):
        indexes = []
        for index in declared:
            attributes.update({a["AttributeName"]: a["AttributeType"] for a in index["attribute_definitions"]})
            indexes.append(
                {
                    "IndexName": index["index_name"],
                    "KeySchema": _keys(index["key_schema"]),
                    "Projection": dict(index["projection"]),
                }
            )
        if indexes:
            definition[key] = sorted(indexes, key=lambda i: i["IndexName"])
    definition["AttributeDefinitions"] = [
        {"AttributeName": name, "AttributeType": attributes[name]} for name in sorted(attributes)
    ]
    if model.ttl_attribute:
        definition["TimeToLiveSpecification"] = {"AttributeName": model.ttl_attribute, "Enabled": True}
    return definition


def _keys(key_schema: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    # HASH first, then RANGE: the order DynamoDB requires and reports.
    return sorted(
        ({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in key_schema),
        key=lambda k: k["KeyType"] != "HASH",
    )
