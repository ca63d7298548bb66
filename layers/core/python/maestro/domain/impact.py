"""Artifact impact: how much using an artifact moves a completed project's success score, all else equal.

A plain average of the success of projects that used an artifact mixes the artifact's contribution with who
tends to use it (easy problem classes, small projects). Instead, one batch computation per tenant:

* Regression (artifacts with >= `min_projects_for_regression` completed projects). Completed projects' success
  scores are regressed on one 0/1 column per artifact (several versions of one artifact in one project count
  once) plus the controls: one-hot problem class (the most common class is the reference level),
  standardised complexity_score and standardised log(team_size), and an intercept (equivalently: the target
  is centred). The artifact coefficients carry an L2 (ridge) penalty `alpha`; the controls are unpenalised,
  solved exactly by projecting them out (Frisch-Waugh-Lovell), with a 1e-8 jitter that only matters when a
  bootstrap draw leaves a class empty. `alpha` is in units of "projects": an artifact used by n projects has
  its effect shrunk by about n / (n + alpha). Unless given, alpha is the generalized cross-validation (GCV)
  minimiser over a log grid 10^-2..10^4, all grid points priced from one eigendecomposition of the projected
  Gram matrix. The reported effect is the ridge coefficient with one bias-correction step,
  r + alpha (G + alpha I)^-1 r: plain ridge pulls a strong, well-supported effect toward 0 by about
  alpha / n of itself, enough that its interval misses the truth (90% intervals covered the +12 and -8 point
  effects of the test history in 47% and 56% of 300 simulated tenants, 86% and 84% with the correction);
  after it the bias is of order (alpha / n)^2, while directions the data cannot identify stay shrunk. The
  interval is the percentile interval of `bootstrap_samples` refits (the same correction applied) on projects
  resampled with replacement, alpha held at its full-data value, widened if needed to contain the point
  estimate.
* Shrunken mean (1 .. min_projects-1 completed projects). The mean success of the projects that used it,
  pulled toward the tenant mean with the empirical-Bayes weight n / (n + k), k = sigma2_within / tau2_between
  (pooled within-artifact variance over the between-artifact variance of true means, method of moments).
  When the variance estimates degenerate (fewer than 3 artifacts, tau2 <= 0) k = min_projects_for_regression,
  i.e. an artifact gets half weight on its own mean once it has as many projects as the regression needs.
  The interval is the normal posterior one: shrunken mean +- z * sqrt(sigma2_within / (n + k)).
* Insufficient data (no completed project): score 50, interval 0..100.

Effects are in success points. The 0-100 score is 50 + 50 * tanh(effect / S), S = the standard deviation of
the tenant's completed success scores (floor 1): monotonic, so scores rank like effects and the interval ends
map to ordered score-interval ends; an effect of one tenant standard deviation scores about 88.

Cost: the full-data Gram matrix of the artifact columns is accumulated once from per-project artifact pairs
(a bincount, no dense design matrix) and eigendecomposed (GCV grid, point estimate, preconditioner). Bootstrap
refits are solved together, a chunk at a time, by preconditioned conjugate gradients with sparse products
(about 25 iterations), not by one dense factorisation each: 100k usages, 5k projects, 2k artifacts and 200
refits take about 8 s on 2 cores where a solve per refit took about 30 s (benchmarks/impact.py).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

RIDGE_REGRESSION = "ridge_regression"
SHRUNKEN_MEAN = "shrunken_mean"
INSUFFICIENT_DATA = "insufficient_data"

ALPHA_GRID = np.logspace(-2, 4, 49)
CONTROL_JITTER = 1e-8
# Above this many (artifact, artifact) pairs per project summed over projects, a dense design matrix is cheaper.
MAX_SPARSE_PAIRS = 30_000_000
# Bootstrap refits solved together: usages x refits gathered per product stays under this many floats (~64 MB).
BOOTSTRAP_GATHER_BUDGET = 8_000_000
CG_TOLERANCE = 1e-6  # relative residual: effects exact to ~1e-5 points, far below bootstrap noise
MAX_CG_ITERATIONS = 300


@dataclass(frozen=True)
class CompletedProject:
    project_id: str
    success_score: float
    problem_class: str
    complexity_score: float
    team_size: float


@dataclass(frozen=True)
class Usage:
    project_id: str
    artifact_id: str


@dataclass(frozen=True)
class ImpactScore:
    artifact_id: str
    score: float
    ci_low: float
    ci_high: float
    effect: float
    effect_ci_low: float | None  # None when nothing bounds the effect (insufficient_data)
    effect_ci_high: float | None
    method: str
    completed_projects: int
    confidence: float
    explanation: str

    def to_body(self) -> dict:
        return {
            "artifact_id": self.artifact_id,
            "score": round(self.score, 2),
            "interval": {"low": round(self.ci_low, 2), "high": round(self.ci_high, 2), "confidence": self.confidence},
            "effect": {
                "success_points": round(self.effect, 3),
                "low": _rounded(self.effect_ci_low),
                "high": _rounded(self.effect_ci_high),
            },
            "method": self.method,
            "completed_projects": self.completed_projects,
            "explanation": self.explanation,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def score_from_effect(effect: float, scale: float) -> float:
    """Map an effect in success points to 0..100 (50 = no effect); monotonic in the effect."""
    return 50.0 + 50.0 * math.tanh(effect / scale)


def insufficient_data(artifact_id: str, confidence: float = 0.9) -> ImpactScore:
    """The score of an artifact no completed project has used: neutral 50, interval 0-100, no effect bounds."""
    return ImpactScore(
        artifact_id,
        50.0,
        0.0,
        100.0,
        0.0,
        None,
        None,
        INSUFFICIENT_DATA,
        0,
        confidence,
        "no completed project has used this artifact yet: neutral score 50, interval 0-100",
    )


def plain_average_scores(projects: Iterable[CompletedProject], usages: Iterable[Usage]) -> dict[str, float]:
    """Mean success score of the completed projects that used each artifact (the naive baseline)."""
    success = {p.project_id: float(p.success_score) for p in projects}
    totals: dict[str, list[float]] = {}
    for project_id, artifact_id in sorted({(u.project_id, u.artifact_id) for u in usages}):
        if project_id in success:
            total = totals.setdefault(artifact_id, [0.0, 0.0])
            total[0] += success[project_id]
            total[1] += 1
    return {artifact_id: s / n for artifact_id, (s, n) in totals.items()}


def compute_impact_scores(
    projects: Iterable[CompletedProject],
    usages: Iterable[Usage],
    *,
    min_projects_for_regression: int = 5,
    ridge_alpha: float | None = None,
    bootstrap_samples: int = 200,
    confidence: float = 0.9,
    seed: int = 0,
    artifact_ids: Iterable[str] = (),
) -> dict[str, ImpactScore]:
    """Impact score of every artifact named in `usages` or `artifact_ids`, keyed by artifact id.

    Deterministic for a given input and seed. Usages of projects not in `projects` (not completed) only make
    the artifact known. See the module docstring for the methods, the alpha rule and the 0-100 scale.
    """
    if min_projects_for_regression < 1:
        raise ValueError("min_projects_for_regression must be at least 1")
    if bootstrap_samples < 10:
        raise ValueError("bootstrap_samples must be at least 10 for a percentile interval")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    if ridge_alpha is not None and ridge_alpha <= 0:
        raise ValueError("ridge_alpha must be positive")

    projects = list(projects)
    if len({p.project_id for p in projects}) != len(projects):
        raise ValueError("each completed project must appear once")
    row_of = {p.project_id: i for i, p in enumerate(projects)}
    pairs = sorted({(u.project_id, u.artifact_id) for u in usages})  # sorted: same sums in every process
    known = sorted({a for _, a in pairs} | set(artifact_ids))
    used = sorted({a for pid, a in pairs if pid in row_of})
    column_of = {a: j for j, a in enumerate(used)}
    rows = np.fromiter((row_of[pid] for pid, a in pairs if pid in row_of), dtype=np.int64)
    cols = np.fromiter((column_of[a] for pid, a in pairs if pid in row_of), dtype=np.int64)

    y = np.array([float(p.success_score) for p in projects])
    if not all(math.isfinite(v) for p in projects for v in (p.success_score, p.complexity_score, p.team_size)):
        raise ValueError("success_score, complexity_score and team_size must be finite numbers")
    n_used = np.bincount(cols, minlength=len(used))
    tenant_mean = float(y.mean()) if len(y) else 0.0
    scale = max(float(y.std()) if len(y) else 0.0, 1.0)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    pct = f"{confidence:.0%}"

    results: dict[str, ImpactScore] = {}
    for artifact_id in known:
        if artifact_id not in column_of:
            results[artifact_id] = insufficient_data(artifact_id, confidence)

    if not used:
        return results

    controls = _control_matrix(projects)
    regressed = n_used >= min_projects_for_regression
    can_regress = bool(regressed.any()) and len(projects) > controls.shape[1] + 1
    if can_regress:
        design = _ArtifactDesign(rows, cols, len(projects), len(used), controls, y - tenant_mean)
        alpha, alpha_rule = (ridge_alpha, "given") if ridge_alpha is not None else (design.gcv_alpha(), "GCV")
        effects = design.effects(alpha)
        draws = design.bootstrap(alpha, bootstrap_samples, np.random.default_rng(seed))
        low, high = np.quantile(draws, [0.5 - confidence / 2, 0.5 + confidence / 2], axis=0)
        for artifact_id, j in column_of.items():
            if not regressed[j]:
                continue
            effect = float(effects[j])
            lo, hi = min(float(low[j]), effect), max(float(high[j]), effect)
            results[artifact_id] = _impact(
                artifact_id,
                effect,
                lo,
                hi,
                scale,
                RIDGE_REGRESSION,
                int(n_used[j]),
                confidence,
                f"ridge regression of {len(projects)} completed projects' success on artifact use, controlling "
                f"for problem class, complexity and team size (alpha={alpha:.3g}, {alpha_rule}; one "
                f"bias-correction step); effect "
                f"{effect:+.2f} success points, {pct} interval from {bootstrap_samples} bootstrap refits; "
                f"score = 50 + 50*tanh(effect/{scale:.2f})",
            )

    shrunk = [a for a, j in column_of.items() if a not in results]
    if shrunk:
        k, sigma2, k_rule = _shrinkage_constant(rows, cols, y, len(used), min_projects_for_regression)
        sums = np.bincount(cols, weights=y[rows], minlength=len(used))
        for artifact_id in shrunk:
            j = column_of[artifact_id]
            n = int(n_used[j])
            reason = (
                f"< {min_projects_for_regression} needed for regression"
                if n < min_projects_for_regression
                else "the tenant has too few completed projects for a regression"
            )
            raw = float(sums[j] / n)
            weight = n / (n + k)
            effect = weight * (raw - tenant_mean)
            half = z * math.sqrt(sigma2 / (n + k))
            results[artifact_id] = _impact(
                artifact_id,
                effect,
                effect - half,
                effect + half,
                scale,
                SHRUNKEN_MEAN,
                n,
                confidence,
                f"used by {n} completed project(s) ({reason}): their mean success {raw:.2f} shrunk toward "
                f"the tenant mean {tenant_mean:.2f} with weight n/(n+k)={weight:.2f} (k={k:.2f}, {k_rule}); "
                f"effect {effect:+.2f} success points, {pct} normal interval; "
                f"score = 50 + 50*tanh(effect/{scale:.2f})",
            )
    return results


def _impact(
    artifact_id: str,
    effect: float,
    low: float,
    high: float,
    scale: float,
    method: str,
    n: int,
    confidence: float,
    explanation: str,
) -> ImpactScore:
    return ImpactScore(
        artifact_id,
        score_from_effect(effect, scale),
        score_from_effect(low, scale),
        score_from_effect(high, scale),
        effect,
        low,
        high,
        method,
        n,
        confidence,
        explanation,
    )


def _control_matrix(projects: list[CompletedProject]) -> np.ndarray:
    """Intercept, one-hot problem class without the most common class, standardised complexity and log team."""
    counts = Counter(p.problem_class for p in projects)
    reference = min(counts, key=lambda c: (-counts[c], c))
    levels = sorted(c for c in counts if c != reference)
    level_of = {c: i for i, c in enumerate(levels)}
    out = np.zeros((len(projects), 3 + len(levels)))
    out[:, 0] = 1.0
    for i, p in enumerate(projects):
        out[i, 1] = float(p.complexity_score)
        out[i, 2] = math.log(max(float(p.team_size), 1.0))
        if p.problem_class in level_of:
            out[i, 3 + level_of[p.problem_class]] = 1.0
    for c in (1, 2):
        sd = out[:, c].std()
        out[:, c] = (out[:, c] - out[:, c].mean()) / sd if sd > 0 else 0.0
    return out


def _shrinkage_constant(
    rows: np.ndarray, cols: np.ndarray, y: np.ndarray, n_artifacts: int, fallback_k: int
) -> tuple[float, float, str]:
    """(k, sigma2_within, rule): empirical-Bayes k = sigma2_within / tau2_between, by the method of moments."""
    n = np.bincount(cols, minlength=n_artifacts).astype(float)
    means = np.bincount(cols, weights=y[rows], minlength=n_artifacts) / np.maximum(n, 1)
    squares = np.bincount(cols, weights=(y[rows] - means[cols]) ** 2, minlength=n_artifacts)
    degrees = float(np.maximum(n - 1, 0).sum())
    sigma2 = float(squares.sum() / degrees) if degrees > 0 else 0.0
    if sigma2 <= 0:
        sigma2 = max(float(y.var()), 1.0)  # no artifact has two projects: the tenant spread stands in
    present = n > 0
    if present.sum() >= 3:
        tau2 = float(means[present].var(ddof=1) - np.mean(sigma2 / n[present]))
        if tau2 > 0:
            return sigma2 / tau2, sigma2, "empirical Bayes"
    return float(fallback_k), sigma2, "fallback: between-artifact variance not estimable"


class _ArtifactDesign:
    """Weighted ridge normal equations for the artifact block, with the controls projected out.

    For project weights w (1 for the fit, resampling counts for the bootstrap), U the project x artifact 0/1
    matrix and Z the controls: G_w = U'WU - U'WZ (Z'WZ)^-1 Z'WU and b_w = U'Wy - U'WZ (Z'WZ)^-1 Z'Wy. The ridge
    effects (G_w + alpha I)^-1 b_w are exactly those of the ridge fit with unpenalised controls.

    The full-data G is built once (from per-project artifact pairs) and eigendecomposed: that prices the GCV
    grid, gives the point estimate and the preconditioner (G + alpha I)^-1. Bootstrap refits never form their
    own G_w: all refits of a chunk are solved together by preconditioned conjugate gradients, whose products
    with G_w are sparse (one gather per usage) and whose preconditioner products are one matrix product for the
    whole chunk. A refit that has not converged after MAX_CG_ITERATIONS is solved exactly instead.
    """

    def __init__(
        self, rows: np.ndarray, cols: np.ndarray, n_projects: int, n_artifacts: int, controls: np.ndarray, y: np.ndarray
    ) -> None:
        self.rows, self.cols, self.n, self.p = rows, cols, n_projects, n_artifacts
        self.controls, self.y = controls, y
        by_row = np.lexsort((cols, rows))
        self.row_cols = cols[by_row]
        self.row_starts, self.row_ids = _segments(rows[by_row])
        by_col = np.lexsort((rows, cols))
        self.col_rows = rows[by_col]
        self.col_starts, self.col_ids = _segments(cols[by_col])
        gram, self.b, self.yy = self._normal_equations(np.ones(n_projects))
        eigenvalues, self.eigenvectors = np.linalg.eigh(gram)
        self.eigenvalues = np.clip(eigenvalues, 0.0, None)
        self._inverse: tuple[float, np.ndarray] | None = None

    def _normal_equations(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """(G_w, b_w, y'M_w y) for one set of project weights, G_w dense."""
        p, z = self.p, self.controls
        per_project = np.bincount(self.rows, minlength=self.n).astype(np.int64)
        gram: np.ndarray
        if int((per_project**2).sum()) <= MAX_SPARSE_PAIRS:
            key, row = self._pairs(per_project)
            gram = np.bincount(key, weights=w[row], minlength=p * p).reshape(p, p)
        else:
            dense = np.zeros((self.n, p))
            dense[self.rows, self.cols] = 1.0
            gram = dense.T @ (w[:, None] * dense)
        wz = w[:, None] * z
        cross = self._ut_times(wz)
        b = self._ut_times((w * self.y)[:, None])[:, 0]
        zz = z.T @ wz + CONTROL_JITTER * np.eye(z.shape[1])
        zy = wz.T @ self.y
        solved = np.linalg.solve(zz, np.column_stack([cross.T, zy]))
        gram -= cross @ solved[:, :p]
        b -= cross @ solved[:, p]
        return gram, b, float(self.y @ (w * self.y) - zy @ solved[:, p])

    def _pairs(self, per_project: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (artifact, artifact) pair within each project, as flat Gram indices and the project row."""
        rows = np.repeat(self.row_ids, np.diff(np.append(self.row_starts, len(self.row_cols))))
        repeats = per_project[rows]
        left = np.repeat(np.arange(len(rows)), repeats)
        block_starts = np.cumsum(repeats) - repeats
        within = np.arange(int(repeats.sum())) - np.repeat(block_starts, repeats)
        right = (np.cumsum(per_project) - per_project)[rows[left]] + within
        key_type = np.int32 if self.p * self.p < 2**31 else np.int64
        return (self.row_cols[left] * self.p + self.row_cols[right]).astype(key_type), rows[left]

    def _u_times(self, v: np.ndarray) -> np.ndarray:
        """U @ v for v of shape (artifacts, k)."""
        out = np.zeros((self.n, v.shape[1]))
        out[self.row_ids] = np.add.reduceat(v[self.row_cols], self.row_starts, axis=0)
        return out

    def _ut_times(self, v: np.ndarray) -> np.ndarray:
        """U' @ v for v of shape (projects, k)."""
        out = np.zeros((self.p, v.shape[1]))
        out[self.col_ids] = np.add.reduceat(v[self.col_rows], self.col_starts, axis=0)
        return out

    def gcv_alpha(self) -> float:
        """The grid alpha minimising the ridge fit's GCV = n * RSS / (n - df)^2.

        In G's eigenbasis (eigenvalues l, z = V'b) ridge keeps l / (l + alpha) of each direction:
        df = controls + sum l / (l + alpha), RSS = y'My - sum z^2 (l + 2 alpha) / (l + alpha)^2.
        """
        eigenvalues = self.eigenvalues
        projected = (self.eigenvectors.T @ self.b) ** 2
        best, best_alpha = math.inf, float(ALPHA_GRID[len(ALPHA_GRID) // 2])
        for alpha in ALPHA_GRID:
            kept = eigenvalues + alpha
            rss = max(self.yy - float(np.sum(projected * (eigenvalues + 2 * alpha) / kept**2)), 0.0)
            df = self.controls.shape[1] + float(np.sum(eigenvalues / kept))
            if df >= self.n:
                continue
            gcv = self.n * rss / (self.n - df) ** 2
            if gcv < best:
                best, best_alpha = gcv, float(alpha)
        return best_alpha

    def inverse(self, alpha: float) -> np.ndarray:
        """(G + alpha I)^-1 of the full data."""
        if self._inverse is None or self._inverse[0] != alpha:
            self._inverse = (alpha, (self.eigenvectors / (self.eigenvalues + alpha)) @ self.eigenvectors.T)
        return self._inverse[1]

    def effects(self, alpha: float) -> np.ndarray:
        """Full-data bias-corrected ridge effects (see `debias`)."""
        inverse = self.inverse(alpha)
        ridge = inverse @ self.b
        return debias(ridge, inverse @ ridge, alpha)

    def bootstrap(self, alpha: float, samples: int, rng: np.random.Generator) -> np.ndarray:
        """samples x artifacts effects, each refit on the projects drawn with replacement (as counts)."""
        weights = np.stack(
            [np.bincount(rng.integers(0, self.n, self.n), minlength=self.n) for _ in range(samples)], axis=1
        ).astype(float)
        preconditioner = self.inverse(alpha)
        chunk = max(8, BOOTSTRAP_GATHER_BUDGET // max(len(self.cols), 1))
        draws = np.empty((samples, self.p))
        for first in range(0, samples, chunk):
            system = _WeightedSystems(self, weights[:, first : first + chunk], alpha)
            ridge = system.solve(system.b, preconditioner)
            draws[first : first + chunk] = debias(ridge, system.solve(ridge, preconditioner), alpha).T
        return draws


def debias(ridge: np.ndarray, inverse_times_ridge: np.ndarray, alpha: float) -> np.ndarray:
    """Bias-corrected ridge: r + alpha (G + alpha I)^-1 r for the ridge solution r.

    Ridge's bias is -alpha (G + alpha I)^-1 beta; one correction step leaves alpha^2 (G + alpha I)^-2 beta, so
    intervals stay centred on well-supported effects (plain ridge intervals undercover them) while directions
    the data do not identify stay shrunk.
    """
    return ridge + alpha * inverse_times_ridge


class _WeightedSystems:
    """(G_w + alpha I) x = rhs for a chunk of bootstrap weight columns, solved together."""

    def __init__(self, design: _ArtifactDesign, weights: np.ndarray, alpha: float) -> None:
        self.design, self.weights, self.alpha = design, weights, alpha
        z, y = design.controls, design.y
        k = weights.shape[1]
        self.cross = np.stack([design._ut_times(weights[:, [s]] * z) for s in range(k)])  # k x p x q
        zz = np.einsum("nq,nk,nr->kqr", z, weights, z) + CONTROL_JITTER * np.eye(z.shape[1])
        self.zz_inverse = np.linalg.inv(zz)
        zy = np.einsum("nq,nk,n->kq", z, weights, y)
        self.b = design._ut_times(weights * y[:, None]) - np.einsum(
            "kpq,kq->pk", self.cross, np.einsum("kqr,kr->kq", self.zz_inverse, zy)
        )

    def apply(self, v: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """(G_w + alpha I) v for the weight columns `columns`, v of shape (artifacts, len(columns))."""
        design = self.design
        out = design._ut_times(self.weights[:, columns] * design._u_times(v))
        cross = self.cross[columns]
        controls_part = np.einsum("kqr,kr->kq", self.zz_inverse[columns], np.einsum("kpr,pk->kr", cross, v))
        return out - np.einsum("kpq,kq->pk", cross, controls_part) + self.alpha * v

    def solve(self, rhs: np.ndarray, preconditioner: np.ndarray) -> np.ndarray:
        """Preconditioned conjugate gradients, one column per system; exact solve for any that stall."""
        x = preconditioner @ rhs
        residual = rhs - self.apply(x, np.arange(rhs.shape[1]))
        scaled = preconditioner @ residual
        direction = scaled.copy()
        rho = np.einsum("pk,pk->k", residual, scaled)
        target = CG_TOLERANCE * np.maximum(np.linalg.norm(rhs, axis=0), 1e-300)
        active = np.flatnonzero(np.linalg.norm(residual, axis=0) > target)
        for _ in range(MAX_CG_ITERATIONS):
            if not len(active):
                return x
            d = direction[:, active]
            product = self.apply(d, active)
            step = rho[active] / np.einsum("pk,pk->k", d, product)
            x[:, active] += step * d
            residual[:, active] -= step * product
            scaled = preconditioner @ residual[:, active]
            rho_next = np.einsum("pk,pk->k", residual[:, active], scaled)
            direction[:, active] = scaled + (rho_next / rho[active]) * d
            rho[active] = rho_next
            active = active[np.linalg.norm(residual[:, active], axis=0) > target[active]]
        for column in active:  # a stalled system: form G_w and solve it directly
            gram, _, _ = self.design._normal_equations(self.weights[:, column])
            gram[np.diag_indices_from(gram)] += self.alpha
            x[:, column] = np.linalg.solve(gram, rhs[:, column])
        return x


def _segments(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets and key of each run of equal keys in a sorted array."""
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return starts, sorted_keys[starts]
