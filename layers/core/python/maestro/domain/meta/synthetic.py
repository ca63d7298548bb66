"""A seeded generator of realistic synthetic tenant history with a known causal structure. Only the demo seeder
(infra/local/demo_history.py), the benchmarks and the tests import it; no production module does
(tests/unit/test_import_layers.py).

`generate_history(n_projects=600, n_artifacts=120, seed=0)` builds one tenant over ~3 years (start dates
uniform over 2022-01-03 .. +3 years, project ids in start order): a staff pool (role fixed per person; a level
up every 2-4 years; ~20% leave each year and juniors and mids are hired over the span), an
artifact library (types, SemVer versions with release dates, some deprecated), and projects, each with a
problem class, complexity (1-10), a planned team size, a templated description, members (role, experience
level at the start, hours/week, joined_at), artifact usages (the version current when recorded; "planned"
ones are recorded in the first 10 days, later additions after the cut-off), git/CI/MLflow metric records over
the whole project (weekly commits per member, one pr_merge_hours per merged PR, one pipeline_success 0/1 per
CI run, weekly experiment_run counts) and an outcome at its end. Every project is completed by the history's `now`.
`more_projects(history, n, ...)` draws further projects of the same tenant (a larger held-out set).

Known causal structure (coefficients are `EFFECTS`, noise is `NOISE`; c = complexity, s = senior + principal
share of the realised team, j = junior share, n = realised team size incl. late joiners, h = mean hours/week,
G = used artifacts that are "good" for the project's class (max 3), A = used "accelerator" artifacts (max 3),
H = used harmful artifacts, r = the project's true CI success rate, q and f = unobserved engineering quality and
friction, each N(0, 1), t = years since the tenant's origin):

| outcome | rises with | falls with | noise |
| --- | --- | --- | --- |
| CI success rate r | quality q, senior share, tenant age (tooling) | | 0/1 per CI run |
| duration_days | complexity; team size above 6 (coordination); friction f | senior share (more when complex); team size up to 6; hours/week; accelerators | log sd 0.15 |
| compute_cost_usd | duration x team size; GPU-heavy classes; experiment runs | | log sd 0.25 |
| model_performance | senior share; CI health (steeply below 70%); good artifacts | complexity (more for junior teams); harmful artifacts; no ML engineer where deployed | logit sd 0.35 |
| business_impact_usd | performance; complexity; good artifacts | | log sd 0.5 |
| success_score | all of the above through its four components | | through its inputs |

    r          = sigmoid(1.5 + 0.9 q + 1.2 (s - 0.35) + 0.25 t)
    log D      = log 45 + 0.12 (c - 1) - 0.5 s (0.4 + c / 10) - 0.07 min(n, 6) + 0.09 max(n - 6, 0)
                 - 0.25 log(h / 30) - 0.09 A + 0.12 f + class_D + N(0, 0.15^2);  D >= 21 days
    cost       = 8 USD x D x n x gpu x (1 + 0.05 e) x exp N(0, 0.25^2);  gpu = 3.0 for nlp, computer_vision,
                 recommendation, 1.6 for forecasting, else 1;  e = weekly experiment runs
                 = (2 + 1.5 per ML scientist or engineer) x 1.4 on the GPU classes
    logit perf = 1.0 + class_P - 0.25 (c - 5.5) + 1.2 (s - 0.35) - 1.5 j max(c - 5, 0) / 5 + 2.0 (r - 0.8)
                 - 6.0 max(0.7 - r, 0) + 0.35 G - 0.3 H - 0.5 [nlp, computer_vision, recommendation or
                 anomaly_detection without an ML engineer] + N(0, 0.35^2)
    log impact = log 80,000 + class_I + 3.0 (perf - 0.7) + 0.07 (c - 5) + 0.08 G + N(0, 0.5^2)
    success    = maestro.domain.projects.success_score(perf, impact, D, cost) against the tenant's projects
                 completed earlier (reference scales for the first five)

Early signals (what the features can see): commits/week per member = Poisson(5 x level rate (junior 0.8, mid 1,
senior 1.2, principal 0.9) x hours/30 x exp(-0.12 f)); one PR merge time per merged PR, log-normal around
log 18 + 0.07 (c - 5) - 1.0 (s - 0.35) + 0.35 f (sd 0.5); one 0/1 pipeline_success per CI run with rate r;
weekly experiment_run counts Poisson(e). Week one runs at half pace.

Class terms (duration log / performance logit / impact log) are `CLASS_EFFECTS`. Artifact ground truth
(`GroundTruth`): per problem class a few "good" artifacts (+0.35 performance logit each, only in that class);
a few "accelerators" (-0.09 log duration each, any class); a few harmful ones (-0.3 logit; deprecated mid-way);
everything else (generic utilities used everywhere, class-typical artifacts, fillers) has no effect.
Confounding as in real tenants: senior teams pick good artifacts more often (p = 0.15 + 0.3 s) and seniority
also helps directly; class-typical neutral artifacts are as common in their class as the good ones; generic
utilities are the most used of all. `GroundTruth.relevance(problem_class)` grades what truly helps a class:
2 for its good artifacts, 1 for accelerators (none of them is ever deprecated).
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from maestro.domain.meta.history import records as record_types
from maestro.domain.meta.targets import CUTOFF_DAYS
from maestro.domain.projects import ExperienceLevel, MemberRole, Outcome, ProblemClass, success_score

ORIGIN = datetime(2022, 1, 3, tzinfo=UTC)
SPAN_DAYS = 3 * 365
MIN_DURATION_DAYS = 21  # every project outlives the cut-off window by at least a week
TENURE_DAYS = 5 * 365

GPU_FACTOR = {
    ProblemClass.NLP: 3.0,
    ProblemClass.COMPUTER_VISION: 3.0,
    ProblemClass.RECOMMENDATION: 3.0,
    ProblemClass.FORECASTING: 1.6,
}
NEEDS_ML_ENGINEER = frozenset(
    {ProblemClass.RECOMMENDATION, ProblemClass.COMPUTER_VISION, ProblemClass.NLP, ProblemClass.ANOMALY_DETECTION}
)
CLASS_MIX = {
    ProblemClass.CLASSIFICATION: 0.20,
    ProblemClass.REGRESSION: 0.12,
    ProblemClass.FORECASTING: 0.12,
    ProblemClass.NLP: 0.12,
    ProblemClass.COMPUTER_VISION: 0.10,
    ProblemClass.RECOMMENDATION: 0.10,
    ProblemClass.CLUSTERING: 0.07,
    ProblemClass.ANOMALY_DETECTION: 0.10,
    ProblemClass.OTHER: 0.07,
}
# (duration log, performance logit, business impact log)
CLASS_EFFECTS = {
    ProblemClass.CLASSIFICATION: (0.0, 0.3, 0.2),
    ProblemClass.REGRESSION: (-0.05, 0.2, 0.0),
    ProblemClass.FORECASTING: (0.05, -0.2, 0.3),
    ProblemClass.NLP: (0.12, -0.1, 0.1),
    ProblemClass.COMPUTER_VISION: (0.15, 0.1, 0.1),
    ProblemClass.RECOMMENDATION: (0.10, -0.1, 0.5),
    ProblemClass.CLUSTERING: (-0.10, -0.3, -0.4),
    ProblemClass.ANOMALY_DETECTION: (-0.05, -0.2, 0.2),
    ProblemClass.OTHER: (0.0, 0.0, -0.3),
}
EFFECTS: dict[str, dict[str, float]] = {
    "ci_rate_logit": {"intercept": 1.5, "quality_q": 0.9, "senior_share": 1.2, "per_year": 0.25},
    "duration_log": {
        "intercept": math.log(45.0),
        "complexity": 0.12,
        "senior_share_x_(0.4+c/10)": -0.5,
        "per_member_up_to_6": -0.07,
        "per_member_above_6": 0.09,
        "log_hours_over_30": -0.25,
        "per_accelerator": -0.09,
        "friction_f": 0.12,
    },
    "cost": {"usd_per_member_day": 8.0, "per_weekly_experiment_run": 0.05},
    "performance_logit": {
        "intercept": 1.0,
        "complexity": -0.25,
        "senior_share": 1.2,
        "junior_share_x_complexity_above_5": -1.5,
        "ci_rate": 2.0,
        "ci_rate_below_0.7": -6.0,
        "per_good_artifact": 0.35,
        "per_harmful_artifact": -0.3,
        "deployment_class_without_ml_engineer": -0.5,
    },
    "impact_log": {"intercept": math.log(80_000.0), "performance": 3.0, "complexity": 0.07, "per_good_artifact": 0.08},
}
NOISE = {"duration_log_sd": 0.15, "cost_log_sd": 0.25, "performance_logit_sd": 0.35, "impact_log_sd": 0.5}

CLASS_TOPICS: dict[str, tuple[str, ...]] = {
    ProblemClass.CLASSIFICATION: ("churn", "fraud", "lead scoring", "intent", "defect", "credit risk"),
    ProblemClass.REGRESSION: ("price", "demand elasticity", "lifetime value", "yield", "delivery time", "valuation"),
    ProblemClass.FORECASTING: ("sales", "inventory", "energy load", "traffic", "staffing", "cash flow"),
    ProblemClass.NLP: (
        "ticket triage",
        "sentiment",
        "entity extraction",
        "summarisation",
        "search relevance",
        "chatbot",
    ),
    ProblemClass.COMPUTER_VISION: (
        "visual inspection",
        "document ocr",
        "shelf monitoring",
        "medical imaging",
        "damage assessment",
        "object counting",
    ),
    ProblemClass.RECOMMENDATION: ("product", "content", "next best action", "cross-sell", "playlist", "job matching"),
    ProblemClass.CLUSTERING: (
        "customer segmentation",
        "store grouping",
        "topic discovery",
        "cohort",
        "persona",
        "route grouping",
    ),
    ProblemClass.ANOMALY_DETECTION: (
        "transaction monitoring",
        "sensor drift",
        "log anomaly",
        "network intrusion",
        "billing error",
        "quality control",
    ),
    ProblemClass.OTHER: (
        "optimisation",
        "simulation",
        "causal analysis",
        "experiment design",
        "data quality",
        "reporting",
    ),
}
CLASS_WORDS = {
    ProblemClass.CLASSIFICATION: "classification",
    ProblemClass.REGRESSION: "regression",
    ProblemClass.FORECASTING: "time series forecasting",
    ProblemClass.NLP: "nlp text",
    ProblemClass.COMPUTER_VISION: "computer vision image",
    ProblemClass.RECOMMENDATION: "recommender",
    ProblemClass.CLUSTERING: "clustering",
    ProblemClass.ANOMALY_DETECTION: "anomaly detection",
    ProblemClass.OTHER: "analytics",
}
GENERIC_TOPICS: tuple[str, ...] = (
    "logging",
    "data validation",
    "experiment tracking",
    "feature store client",
    "model registry",
    "config loader",
    "test fixtures",
    "ci template",
    "docker base image",
    "metrics dashboard",
    "sql extract",
    "data contracts",
)
ACCELERATOR_TOPICS = (
    "training pipeline",
    "deployment blueprint",
    "hyperparameter search",
    "labelling workflow",
    "evaluation suite",
    "batch data loader",
    "backfill job",
    "serving template",
)
ARTIFACT_TYPES = ("feature_pipeline", "model_template", "schema", "notebook", "dataset", "model")
DOMAINS = ("retail", "banking", "insurance", "logistics", "media", "healthcare", "telecom", "energy")
# The staff's role mix: (data_engineer, ml_scientist, ml_engineer, analyst, devops, product)
ROLE_MIX = (0.20, 0.30, 0.20, 0.12, 0.08, 0.10)
ROLES = tuple(MemberRole)
LEVELS = tuple(ExperienceLevel)
COMMIT_RATE = {
    ExperienceLevel.JUNIOR: 0.8,
    ExperienceLevel.MID: 1.0,
    ExperienceLevel.SENIOR: 1.2,
    ExperienceLevel.PRINCIPAL: 0.9,
}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _versions(rng: np.random.Generator, created: datetime, end: datetime) -> tuple[tuple[str, datetime], ...]:
    major, minor, patch = 1, 0, 0
    out = [("1.0.0", created)]
    span = max((end - created).days, 30)
    for offset in sorted(rng.uniform(20, span, int(min(rng.poisson(1.2), 4)))):
        bump = rng.random()
        if bump < 0.15:
            major, minor, patch = major + 1, 0, 0
        elif bump < 0.7:
            minor, patch = minor + 1, 0
        else:
            patch += 1
        out.append((f"{major}.{minor}.{patch}", created + timedelta(days=float(offset))))
    return tuple(out)


@dataclass
class _Library:
    specs: list[record_types.ArtifactSpec]
    kind: dict[str, str]  # good | typical | accelerator | generic | filler | harmful
    popularity: dict[str, float]  # the planning probability of generic artifacts


def _library(rng: np.random.Generator, n_artifacts: int, now: datetime) -> _Library:
    classes = list(ProblemClass)
    per_class = max(1, n_artifacts // 30)
    n_accelerators, n_generic = max(1, n_artifacts // 15), max(1, n_artifacts // 10)
    n_harmful = max(1, n_artifacts // 30)
    n_fillers = n_artifacts - 2 * per_class * len(classes) - n_accelerators - n_generic - n_harmful
    if n_fillers < 0:
        raise ValueError(f"n_artifacts must be at least {n_artifacts - n_fillers}")
    plan: list[tuple[str, str | None, str]] = []  # (kind, home class, topic)
    for c in classes:
        topics = CLASS_TOPICS[c]
        plan += [("good", c, topics[int(rng.integers(len(topics)))]) for _ in range(per_class)]
        plan += [("typical", c, topics[int(rng.integers(len(topics)))]) for _ in range(per_class)]
    plan += [("accelerator", None, ACCELERATOR_TOPICS[i % len(ACCELERATOR_TOPICS)]) for i in range(n_accelerators)]
    plan += [("generic", None, GENERIC_TOPICS[i % len(GENERIC_TOPICS)]) for i in range(n_generic)]
    for i in range(n_harmful + n_fillers):
        home = classes[int(rng.integers(len(classes)))] if rng.random() < 0.7 else None
        topics = CLASS_TOPICS[home] if home else GENERIC_TOPICS
        plan.append(("harmful" if i < n_harmful else "filler", home, topics[int(rng.integers(len(topics)))]))
    order = rng.permutation(len(plan))  # ids say nothing about the kind
    specs, kind, popularity, names = [], {}, {}, set()
    for number, index in enumerate(order):
        what, home, topic = plan[index]
        artifact_id = f"art-{number:03d}"
        artifact_type = ARTIFACT_TYPES[int(rng.integers(len(ARTIFACT_TYPES)))]
        name = f"{_slug(topic)}-{artifact_type.replace('_', '-')}"
        while name in names:
            name += f"-{int(rng.integers(2, 99))}"
        names.add(name)
        scope = f"{topic} {CLASS_WORDS[home]} projects" if home else f"{topic} in any project"
        blurb = ("tested, documented, ready to adapt", "reusable building block", "internal standard")[number % 3]
        description = f"{artifact_type.replace('_', ' ').capitalize()} for {scope}: {blurb}."
        if what in ("filler",):
            created = ORIGIN + timedelta(days=float(rng.uniform(-200, SPAN_DAYS * 0.8)))
        else:
            created = ORIGIN - timedelta(days=float(rng.uniform(30, 300)))
        deprecated_at = None
        if what == "harmful":
            deprecated_at = ORIGIN + timedelta(days=float(rng.uniform(0.4, 0.7) * SPAN_DAYS))
        elif what == "filler" and rng.random() < 0.15:
            deprecated_at = created + timedelta(days=float(rng.uniform(120, 500)))
        specs.append(
            record_types.ArtifactSpec(
                artifact_id,
                name,
                artifact_type,
                description,
                home and home.value,
                _versions(rng, created, deprecated_at or now),
                deprecated_at,
            )
        )
        kind[artifact_id] = what
        popularity[artifact_id] = float(rng.uniform(0.12, 0.4)) if what == "generic" else 0.0
    return _Library(specs, kind, popularity)


@dataclass
class _Person:
    member_id: str
    role: MemberRole
    level: int  # index into LEVELS at hire
    hired_at: datetime
    promotion_days: float
    left_at: datetime

    def level_at(self, moment: datetime) -> ExperienceLevel:
        days = max((moment - self.hired_at).days, 0)
        return LEVELS[min(len(LEVELS) - 1, self.level + int(days // self.promotion_days))]

    def employed(self, moment: datetime) -> bool:
        return self.hired_at <= moment < self.left_at


def _staff(rng: np.random.Generator, n: int) -> list[_Person]:
    """n people employed at the origin, and half as many again hired over the span as juniors or mids; everyone
    leaves after an exponential tenure (mean TENURE_DAYS, ~20% a year), so the mix of levels stays realistic."""
    people = []
    for i in range(n + n // 2):
        if i < n:
            hired = ORIGIN - timedelta(days=float(rng.uniform(0, 700)))
            level = int(rng.choice(4, p=[0.35, 0.35, 0.22, 0.08]))
            left = ORIGIN + timedelta(days=float(rng.exponential(TENURE_DAYS)))
        else:
            hired = ORIGIN + timedelta(days=float(rng.uniform(0, SPAN_DAYS)))
            level = int(rng.choice(2, p=[0.6, 0.4]))
            left = hired + timedelta(days=float(rng.exponential(TENURE_DAYS)))
        people.append(
            _Person(
                f"user-{i:03d}",
                ROLES[int(rng.choice(len(ROLES), p=ROLE_MIX))],
                level,
                hired,
                float(rng.uniform(730, 1460)),
                left,
            )
        )
    return people


@dataclass(frozen=True)
class _Tenant:
    """What every project of a tenant draws on: the artifact library (with each artifact's hidden kind) and the
    staff pool."""

    library: _Library
    staff: list[_Person]


def _role_weights(problem_class: ProblemClass) -> dict[MemberRole, float]:
    """Relative preference for each role over the staff's own mix (which already follows ROLE_MIX)."""
    weights = dict.fromkeys(ROLES, 1.0)
    if problem_class in NEEDS_ML_ENGINEER:
        weights[MemberRole.ML_ENGINEER] *= 1.6
    if problem_class in (ProblemClass.CLUSTERING, ProblemClass.OTHER):
        weights[MemberRole.ANALYST] *= 2.0
    return weights


def _pick_members(
    rng: np.random.Generator,
    staff: list[_Person],
    exclude: set[str],
    k: int,
    moment: datetime,
    problem_class: ProblemClass,
    seniority: float,
) -> list[_Person]:
    """k people employed at `moment`, drawn without replacement: role preferences of the class, tilted toward
    senior people by the project's seniority propensity."""
    role_weights = _role_weights(problem_class)
    pool = [p for p in staff if p.employed(moment) and p.member_id not in exclude]
    log_w = np.array(
        [math.log(role_weights[p.role]) + 0.8 * seniority * (LEVELS.index(p.level_at(moment)) - 1.5) for p in pool]
    )
    keys = log_w + rng.gumbel(size=len(pool))
    return [pool[i] for i in np.argsort(-keys)[:k]]


def _description(rng: np.random.Generator, problem_class: ProblemClass, complexity: float) -> str:
    topics = CLASS_TOPICS[problem_class]
    first, second = rng.choice(len(topics), 2, replace=False)
    verb = ("Build", "Improve", "Prototype", "Replace")[int(rng.integers(4))]
    size = "a quick pilot" if complexity < 4 else "a multi-team effort" if complexity > 7 else "a standard project"
    domain = DOMAINS[int(rng.integers(len(DOMAINS)))]
    return (
        f"{verb} {topics[first]} {CLASS_WORDS[problem_class]} for {domain}, with {topics[second]} as a "
        f"follow-up; {size}."
    )


def _planning_probability(
    kind: str, spec: record_types.ArtifactSpec, problem_class: str, senior_share: float, popularity: float
) -> float:
    home = spec.home_class == problem_class
    if kind == "good":
        return 0.15 + 0.3 * senior_share if home else 0.015  # senior teams know the good ones: confounded
    if kind == "typical":
        return 0.3 if home else 0.015
    if kind == "accelerator":
        return 0.12
    if kind == "generic":
        return popularity
    if kind == "harmful":
        return 0.1
    return 0.09 if home else 0.03  # filler


def generate_history(n_projects: int = 600, n_artifacts: int = 120, seed: int = 0) -> record_types.History:
    """One tenant's history with the causal structure of the module docstring. Deterministic for a seed."""
    if n_projects < 20:
        raise ValueError("n_projects must be at least 20")
    rng = np.random.default_rng(seed)
    now = ORIGIN + timedelta(days=SPAN_DAYS + 200)
    tenant = _Tenant(_library(rng, n_artifacts, now), _staff(rng, max(40, n_projects // 6)))
    starts = sorted(ORIGIN + timedelta(days=float(d)) for d in rng.uniform(0, SPAN_DAYS, n_projects))
    raw = [_draw_project(rng, tenant, f"proj-{number:04d}", start) for number, start in enumerate(starts)]

    # success against the tenant's projects completed earlier, in end order
    by_end = sorted(range(len(raw)), key=lambda i: (raw[i]["end"], i))
    scores = [0.0] * len(raw)
    earlier: list[Outcome] = []
    for i in by_end:
        scores[i] = success_score(raw[i]["outcome"], earlier).score
        earlier.append(raw[i]["outcome"])
    projects = tuple(_record(r, scores[i]) for i, r in enumerate(raw))

    library, kind = tenant.library, tenant.library.kind
    good = {
        c.value: frozenset(
            a.artifact_id for a in library.specs if kind[a.artifact_id] == "good" and a.home_class == c.value
        )
        for c in ProblemClass
    }
    artifact_effects = {
        a: (
            {
                "performance_logit": EFFECTS["performance_logit"]["per_good_artifact"],
                "impact_log": EFFECTS["impact_log"]["per_good_artifact"],
                "only_in_class": 1.0,
            }
            if k == "good"
            else {"duration_log": EFFECTS["duration_log"]["per_accelerator"]}
            if k == "accelerator"
            else {"performance_logit": EFFECTS["performance_logit"]["per_harmful_artifact"]}
            if k == "harmful"
            else {}
        )
        for a, k in kind.items()
    }
    truth = record_types.GroundTruth(
        good,
        frozenset(a for a, k in kind.items() if k == "accelerator"),
        frozenset(a for a, k in kind.items() if k == "harmful"),
        artifact_effects,
        EFFECTS,
        NOISE,
    )
    return record_types.History(projects, tuple(library.specs), truth, seed, ORIGIN, now, tenant)


def more_projects(
    history: record_types.History, n: int, *, start_from: datetime, start_to: datetime, seed: int = 1
) -> list[record_types.ProjectRecord]:
    """n further projects of the same tenant (same staff, library and causal structure), started uniformly in
    [start_from, start_to]: fresh draws for a larger held-out set. Each one's success score is computed against
    the history's projects completed before it ends, as if it were the only extra project (the draws do not
    score against each other). Deterministic for (history seed, seed); ids are "extra-<seed>-<number>"."""
    if history.tenant is None:
        raise ValueError("this history carries no tenant to draw from")
    rng = np.random.default_rng([history.seed, seed, 1])
    span = (start_to - start_from).total_seconds()
    starts = sorted(start_from + timedelta(seconds=float(x)) for x in rng.uniform(0, span, n))
    by_end = sorted(history.projects, key=_end_date)
    ends = [_end_date(p) for p in by_end]
    out = []
    for number, start in enumerate(starts):
        r = _draw_project(rng, history.tenant, f"extra-{seed}-{number:04d}", start)
        earlier = [p.outcome for p in by_end[: bisect.bisect_left(ends, r["end"])] if p.outcome is not None]
        out.append(_record(r, success_score(r["outcome"], earlier).score))
    return out


def _end_date(project: record_types.ProjectRecord) -> datetime:
    if project.end_date is None:  # a generated history holds completed projects only
        raise ValueError(f"project {project.project_id} has not ended")
    return project.end_date


def _record(raw: dict, score: float) -> record_types.ProjectRecord:
    return record_types.ProjectRecord(
        raw["project_id"],
        raw["problem_class"].value,
        raw["complexity"],
        raw["team_size"],
        raw["description"],
        raw["start"],
        raw["end"],
        tuple(raw["members"]),
        tuple(raw["usages"]),
        tuple(raw["metrics"]),
        raw["outcome"],
        score,
    )


def _draw_project(rng: np.random.Generator, tenant: _Tenant, project_id: str, start: datetime) -> dict:
    """The plan of one project (class, complexity, team, planned artifacts), then its simulated course."""
    classes = list(CLASS_MIX)
    problem_class = classes[int(rng.choice(len(classes), p=list(CLASS_MIX.values())))]
    complexity = float(np.clip(np.round(rng.normal(5.5, 2.0), 1), 1.0, 10.0))
    team_size = int(np.clip(round(2 + 0.5 * complexity + rng.normal(0, 1.5)), 2, 12))
    seniority = float(rng.normal(0, 1))
    people = _pick_members(rng, tenant.staff, set(), team_size, start, problem_class, seniority)
    members = [
        record_types.Member(
            p.member_id,
            p.role.value,
            p.level_at(start).value,
            float(np.round(rng.uniform(12, 40))),
            start - timedelta(days=float(rng.uniform(0, 5))),
        )
        for p in people
    ]
    planned_seniors = sum(m.experience in ("senior", "principal") for m in members) / len(members)
    library = tenant.library
    usages: list[record_types.ArtifactUsage] = []
    for spec in library.specs:
        at = start + timedelta(days=float(rng.uniform(0, 10)))
        chance = _planning_probability(
            library.kind[spec.artifact_id],
            spec,
            problem_class.value,
            planned_seniors,
            library.popularity[spec.artifact_id],
        )
        if rng.random() < chance and spec.available(at):
            usages.append(record_types.ArtifactUsage(project_id, spec.artifact_id, spec.version_at(at), at, True))
    raw = _simulate(
        rng, library, tenant.staff, project_id, problem_class, complexity, team_size, seniority, members, usages, start
    )
    raw["description"] = _description(rng, problem_class, complexity)
    return raw


def _simulate(
    rng: np.random.Generator,
    library: _Library,
    staff: list[_Person],
    project_id: str,
    problem_class: ProblemClass,
    complexity: float,
    team_size: int,
    seniority: float,
    members: list[record_types.Member],
    usages: list[record_types.ArtifactUsage],
    start: datetime,
) -> dict:
    """Late joiners, later artifact additions, the true process, metric records and the outcome of one project."""
    quality, friction = float(rng.normal()), float(rng.normal())
    years = (start - ORIGIN).days / 365.0
    c = complexity
    # late joiners: complex projects get reinforcements (after the cut-off, so no feature sees them)
    late = []
    if rng.random() < 0.1 + 0.03 * c:
        moment = start + timedelta(days=float(rng.uniform(CUTOFF_DAYS + 6, 40)))
        for p in _pick_members(
            rng, staff, {m.member_id for m in members}, int(rng.integers(1, 3)), moment, problem_class, seniority
        ):
            late.append(
                record_types.Member(
                    p.member_id, p.role.value, p.level_at(moment).value, float(np.round(rng.uniform(12, 40))), moment
                )
            )
    team = members + late
    n = len(team)
    s = sum(m.experience in ("senior", "principal") for m in team) / n
    j = sum(m.experience == "junior" for m in team) / n
    h = float(np.mean([m.hours_per_week for m in team]))
    has_ml_engineer = any(m.role == MemberRole.ML_ENGINEER for m in team)
    ml_people = sum(m.role in (MemberRole.ML_ENGINEER, MemberRole.ML_SCIENTIST) for m in team)

    e_ci = EFFECTS["ci_rate_logit"]
    ci_rate = _sigmoid(
        e_ci["intercept"] + e_ci["quality_q"] * quality + e_ci["senior_share"] * (s - 0.35) + e_ci["per_year"] * years
    )
    d_class, p_class, v_class = CLASS_EFFECTS[problem_class]

    # later additions (after the cut-off) draw on what the class typically uses
    used = {u.artifact_id for u in usages}
    candidates = [
        a
        for a in library.specs
        if a.artifact_id not in used
        and library.kind[a.artifact_id] in ("typical", "generic", "filler", "accelerator")
        and (a.home_class in (None, problem_class.value))
    ]
    additions = []
    for _ in range(int(rng.poisson(0.8))):
        if not candidates:
            break
        spec = candidates.pop(int(rng.integers(len(candidates))))
        additions.append(spec)
    kinds = [library.kind[a] for a in used] + [library.kind[a.artifact_id] for a in additions]
    home_of = {a.artifact_id: a.home_class for a in library.specs}
    good = min(3, sum(library.kind[a] == "good" and home_of[a] == problem_class.value for a in used))
    accelerators = min(3, kinds.count("accelerator"))
    harmful = kinds.count("harmful")

    e_d = EFFECTS["duration_log"]
    log_d = (
        e_d["intercept"]
        + e_d["complexity"] * (c - 1)
        + e_d["senior_share_x_(0.4+c/10)"] * s * (0.4 + c / 10)
        + e_d["per_member_up_to_6"] * min(n, 6)
        + e_d["per_member_above_6"] * max(n - 6, 0)
        + e_d["log_hours_over_30"] * math.log(h / 30)
        + e_d["per_accelerator"] * accelerators
        + e_d["friction_f"] * friction
        + d_class
        + rng.normal(0, NOISE["duration_log_sd"])
    )
    duration = max(float(math.exp(log_d)), MIN_DURATION_DAYS)
    end = start + timedelta(days=duration)
    for spec in additions:
        at = start + timedelta(days=float(rng.uniform(CUTOFF_DAYS + 1, duration)))
        if spec.available(at):
            usages = usages + [record_types.ArtifactUsage(project_id, spec.artifact_id, spec.version_at(at), at, False)]

    gpu = GPU_FACTOR.get(problem_class, 1.0)
    experiment_rate = (2.0 + 1.5 * ml_people) * (1.4 if gpu >= 3.0 else 1.0)
    e_c = EFFECTS["cost"]
    cost = (
        e_c["usd_per_member_day"]
        * duration
        * n
        * gpu
        * (1 + e_c["per_weekly_experiment_run"] * experiment_rate)
        * math.exp(rng.normal(0, NOISE["cost_log_sd"]))
    )

    e_p = EFFECTS["performance_logit"]
    deployment_gap = problem_class in NEEDS_ML_ENGINEER and not has_ml_engineer
    eta = (
        e_p["intercept"]
        + p_class
        + e_p["complexity"] * (c - 5.5)
        + e_p["senior_share"] * (s - 0.35)
        + e_p["junior_share_x_complexity_above_5"] * j * max(c - 5, 0) / 5
        + e_p["ci_rate"] * (ci_rate - 0.8)
        + e_p["ci_rate_below_0.7"] * max(0.7 - ci_rate, 0)
        + e_p["per_good_artifact"] * good
        + e_p["per_harmful_artifact"] * harmful
        + e_p["deployment_class_without_ml_engineer"] * deployment_gap
        + rng.normal(0, NOISE["performance_logit_sd"])
    )
    performance = _sigmoid(eta)
    e_v = EFFECTS["impact_log"]
    impact = math.exp(
        e_v["intercept"]
        + v_class
        + e_v["performance"] * (performance - 0.7)
        + e_v["complexity"] * (c - 5)
        + e_v["per_good_artifact"] * good
        + rng.normal(0, NOISE["impact_log_sd"])
    )

    metrics = _metric_records(rng, team, start, duration, c, s, friction, ci_rate, experiment_rate)
    return {
        "project_id": project_id,
        "problem_class": problem_class,
        "complexity": complexity,
        "team_size": team_size,
        "start": start,
        "end": end,
        "members": team,
        "usages": usages,
        "metrics": metrics,
        "outcome": Outcome(round(performance, 4), round(impact, 2), round(duration, 2), round(cost, 2)),
    }


def _metric_records(
    rng: np.random.Generator,
    team: list[record_types.Member],
    start: datetime,
    duration: float,
    c: float,
    s: float,
    friction: float,
    ci_rate: float,
    experiment_rate: float,
) -> list[record_types.MetricRecord]:
    """Weekly git commits per member, one pr_merge_hours per merged PR, one 0/1 pipeline_success per CI run,
    weekly MLflow experiment_run counts, each recorded when it happened (never after the project's end: the
    last, partial week runs for its share of a week)."""
    records: list[record_types.MetricRecord] = []
    pr_log_mean = math.log(18.0) + 0.07 * (c - 5) - 1.0 * (s - 0.35) + 0.35 * friction
    week_seconds = 7 * 86400
    for week in range(math.ceil(duration / 7)):
        week_start = start + timedelta(days=7 * week)
        length = min(week_seconds, (duration - 7 * week) * 86400)
        week_end = week_start + timedelta(seconds=max(length - 3600, 0))  # weekly totals land just before
        active = [m for m in team if m.joined_at <= week_end]
        pace = (0.5 if week == 0 else 1.0) * length / week_seconds
        for m in active:
            rate = (
                5.0
                * COMMIT_RATE[ExperienceLevel(m.experience)]
                * (m.hours_per_week / 30)
                * math.exp(-0.12 * friction)
                * pace
            )
            commits = int(rng.poisson(rate))
            if commits:
                records.append(record_types.MetricRecord("commits", float(commits), week_end, m.member_id))
        for offset in rng.uniform(0, length, int(rng.poisson(0.7 * len(active) * pace))):
            hours = float(np.round(rng.lognormal(pr_log_mean, 0.5), 2))
            records.append(
                record_types.MetricRecord("pr_merge_hours", hours, week_start + timedelta(seconds=float(offset)))
            )
        for offset in rng.uniform(0, length, int(rng.poisson(2.0 * len(active) * pace))):
            records.append(
                record_types.MetricRecord(
                    "pipeline_success", float(rng.random() < ci_rate), week_start + timedelta(seconds=float(offset))
                )
            )
        records.append(
            record_types.MetricRecord("experiment_run", float(rng.poisson(experiment_rate * pace)), week_end)
        )
    records.sort(key=lambda r: r.recorded_at)
    return records
