"""Team analytics: contribution, review and CI health, and the recommendations they trigger."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from maestro.domain.analytics.ci import ci_stats
from maestro.domain.analytics.git import People, _distinct_commits, _per_sha, _pr_key, _pull_requests, git_stats
from maestro.domain.analytics.shared import _identity, _iso, _meta, _period, _period_weeks, _ratio, _within
from maestro.domain.metrics import MetricEvent

# Recommendation rules: (threshold constants, each rule's evidence and firing condition in team_recommendations).
BUS_FACTOR_AT_RISK = 1
PR_MERGE_P50_HOURS_LIMIT = 48.0
REVIEW_PARTICIPATION_MIN = 0.5
CI_SUCCESS_RATE_MIN = 0.8
REVIEWER_CONCENTRATION_MAX = 0.6


def _fields(source: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """Evidence quoted under the names the analytics give it."""
    return {name: source[name] for name in names}


def team_recommendations(
    git: Mapping[str, Any], ci: Mapping[str, Any], review_patterns: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Documented rules; each fires only when its evidence crosses its threshold:
    - spread_knowledge: bus_factor == 1 (one author covers half of the commits).
    - set_review_sla: median PR merge time > 48 h.
    - require_reviews: review participation (share of merged PRs reviewed) < 50%.
    - stabilise_pipeline: CI success rate < 80%.
    - quarantine_flaky_tests: at least one workflow failed and then passed on retry.
    - widen_review_pool: one reviewer gave > 60% of the period's reviews.
    """
    found: list[dict[str, Any]] = []

    def recommend(rule_id: str, rule: str, text: str, **evidence: Any) -> None:
        found.append({"id": rule_id, "rule": rule, "text": text, "evidence": evidence})

    if git["bus_factor"] == BUS_FACTOR_AT_RISK:
        recommend(
            "spread_knowledge",
            "bus_factor == 1",
            f"One author wrote {git['top_author_share']:.0%} of the commits: pair on and review that "
            "author's areas so more than one person can change them.",
            **_fields(git, "bus_factor", "top_author_share", "active_contributors", "commits"),
        )
    merge_p50 = git["pr_merge_hours"]["p50"]
    if merge_p50 is not None and merge_p50 > PR_MERGE_P50_HOURS_LIMIT:
        recommend(
            "set_review_sla",
            "pr_merge_hours_p50 > 48",
            f"Half of the pull requests take more than {merge_p50:.0f} h to merge: agree a review "
            "turnaround (e.g. first review within one working day) and keep PRs small.",
            pr_merge_hours_p50=merge_p50,
            pr_merge_hours_p90=git["pr_merge_hours"]["p90"],
            prs_measured=git["pr_merge_hours"]["count"],
        )
    participation = git["review_participation"]
    if participation["share"] is not None and participation["share"] < REVIEW_PARTICIPATION_MIN:
        recommend(
            "require_reviews",
            "review_participation < 0.5",
            f"Only {participation['share']:.0%} of merged pull requests had a review: require at least "
            "one approving review before merge (branch protection).",
            review_participation=participation["share"],
            **_fields(participation, "merged_prs", "reviewed_merged_prs"),
        )
    if ci["success_rate"] is not None and ci["success_rate"] < CI_SUCCESS_RATE_MIN:
        recommend(
            "stabilise_pipeline",
            "pipeline_success_rate < 0.8",
            f"Only {ci['success_rate']:.0%} of pipeline runs pass: fix the most frequent failures before "
            "adding work to the pipeline.",
            pipeline_success_rate=ci["success_rate"],
            pipeline_runs=ci["pipeline_runs"],
        )
    if ci["flaky_workflows"]:
        recommend(
            "quarantine_flaky_tests",
            "flaky_workflows > 0",
            f"{len(ci['flaky_workflows'])} workflow(s) failed and then passed on retry: quarantine the "
            "flaky tests and fix them off the main pipeline.",
            flaky_workflows={f["workflow"]: f["flaky_runs"] for f in ci["flaky_workflows"]},
            flaky_runs=sum(f["flaky_runs"] for f in ci["flaky_workflows"]),
        )
    top = review_patterns["top_reviewer"]
    if top is not None and top["share"] > REVIEWER_CONCENTRATION_MAX:
        recommend(
            "widen_review_pool",
            "top_reviewer_share > 0.6",
            f"{top['reviewer']} gave {top['share']:.0%} of the reviews: rotate reviewers (e.g. CODEOWNERS "
            "groups) so reviews do not wait on one person.",
            reviewer=top["reviewer"],
            reviewer_share=top["share"],
            **_fields(review_patterns, "reviews", "distinct_reviewers"),
        )
    return found


def team_analytics(events: Sequence[MetricEvent], start: datetime, end: datetime) -> dict[str, Any]:
    """Contributors, collaboration, review patterns and recommendations over [start, end).

    - contributors: per person, commits (distinct shas, merges excluded), lines added/deleted (by sha to the
      commit's author), PRs merged (as author) and reviews given. A person is every email, login and name their
      commits tie together (maestro.domain.analytics.git.People): their GitHub login when one is tied to them,
      else the email they committed with most.
    - collaboration: reviewer -> PR author pairs with review counts (reviews whose PR author is known from
      the review's or the PR's metadata; self-reviews excluded).
    - review_patterns: reviews, reviews per merged PR, share of merged PRs reviewed, states, the top
      reviewer's share, and the share of self-merged PRs (merged_by == author) among merged PRs whose
      merger is known (null when none is).
    - recommendations: see team_recommendations; each carries the rule and the numbers that fired it.
    """
    start, end = _period(start, end)
    in_period = _within(events, start, end)
    git, ci = git_stats(events, start, end), ci_stats(events, start, end)
    prs = _pull_requests(events, start, end)
    commits = _distinct_commits(in_period)
    identities = People(commits)

    def login_of(login: str | None) -> str | None:
        return identities.of(login=login) if login else None

    # counts stay ints; lines are floats (an event's value)
    people: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(int))
    author_of_sha: dict[str, str | None] = {}
    for commit in commits:
        author_of_sha[commit.sha] = who = identities.of(commit.email, commit.login, commit.name)
        if who and not commit.is_merge:
            people[who]["commits"] += commit.weight
    for metric_type in ("lines_added", "lines_deleted"):
        for event in _per_sha(in_period, metric_type):
            sha = _meta(event, "sha")
            who = author_of_sha.get(str(sha).casefold()) if sha else None
            who = who or identities.of(_identity(_meta(event, "author_email")), _identity(_meta(event, "author_login")))
            if who:
                people[who][metric_type] += event.value
    for key, merged in prs.merged.items():
        author = login_of(prs.authors.get(key) or _identity(_meta(merged, "author_login")))
        if author:
            people[author]["prs_merged"] += 1
    reviewers = Counter(r for r in (login_of(_identity(_meta(e, "reviewer"))) for e in prs.reviews) if r)
    for reviewer, count in reviewers.items():
        people[reviewer]["reviews_given"] += count

    pairs = Counter(
        (login_of(_identity(_meta(e, "reviewer"))), login_of(prs.authors.get(_pr_key(e) or ""))) for e in prs.reviews
    )
    collaboration = [
        {"reviewer": r, "author": a, "reviews": n}
        for (r, a), n in sorted(pairs.items(), key=lambda pair: (-pair[1], pair[0][0] or "", pair[0][1] or ""))
        if r and a
    ]
    merged_by_known = [
        (
            login_of(prs.authors.get(k) or _identity(_meta(e, "author_login"))),
            login_of(_identity(_meta(e, "merged_by"))),
        )
        for k, e in prs.merged.items()
        if _meta(e, "merged_by")
    ]
    reviews_of_merged = sum(1 for e in prs.reviews if _pr_key(e) in prs.merged)
    top = reviewers.most_common(1)[0] if reviewers else None
    review_patterns = {
        "reviews": len(prs.reviews),
        "distinct_reviewers": len(reviewers),
        "merged_prs": len(prs.merged),
        "reviews_per_merged_pr": _ratio(reviews_of_merged, len(prs.merged)),
        "reviewed_merged_pr_share": git["review_participation"]["share"],
        "states": dict(Counter(str(_meta(e, "review_state") or "unknown").casefold() for e in prs.reviews)),
        "top_reviewer": ({"reviewer": top[0], "reviews": top[1], "share": top[1] / len(prs.reviews)} if top else None),
        "self_merged_share": _ratio(
            sum(1 for author, merger in merged_by_known if author == merger), len(merged_by_known)
        ),
        "merges_with_known_merger": len(merged_by_known),
    }
    contributors = [
        {
            "contributor": who,
            "commits": c["commits"],
            "lines_added": float(c["lines_added"]),
            "lines_deleted": float(c["lines_deleted"]),
            "prs_merged": c["prs_merged"],
            "reviews_given": c["reviews_given"],
        }
        for who, c in sorted(
            people.items(),
            key=lambda item: (-item[1]["commits"], -item[1]["prs_merged"], -item[1]["reviews_given"], item[0]),
        )
    ]
    return {
        "period": {"start": _iso(start), "end": _iso(end), "weeks": _period_weeks(start, end)},
        "contributors": contributors,
        "collaboration": collaboration,
        "review_patterns": review_patterns,
        "recommendations": team_recommendations(git, ci, review_patterns),
    }
