"""Git statistics: commits, authors, bus factor, pull requests and reviews."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from maestro.domain.analytics.shared import (
    _bucket_start,
    _bucket_starts,
    _by_meta,
    _dedupe,
    _identity,
    _iso,
    _meta,
    _per_week,
    _period,
    _period_weeks,
    _ratio,
    _within,
    percentile,
)
from maestro.domain.metrics import MetricEvent
from maestro.domain.periods import series_bucket


@dataclass
class _Commit:
    sha: str
    timestamp: datetime
    email: str | None = None
    login: str | None = None
    name: str | None = None
    is_merge: bool = False
    files: set[str] = field(default_factory=set)
    # How many commits this stands for: 1 for a sha; a `commits` event without one is a count (unit `count`,
    # e.g. "7 commits today" from a CI job), so it stands for its value and every report adds the same figure.
    weight: int = 1


# A GitHub noreply address names its account: 8479617+jbbqqf@users.noreply.github.com is the login jbbqqf.
_NOREPLY = re.compile(r"^(?:\d+\+)?(?P<login>[^@+]+)@users\.noreply\.github\.com$")
# Author names too generic to say that two emails are one person (git's defaults, shared machine accounts).
_PLACEHOLDER_NAMES = frozenset({"root", "admin", "user", "unknown", "none", "your name", "ubuntu", "ec2-user"})
_Identity = tuple[str, str]  # ("email" | "login" | "name", case-folded value)


def _identities(email: str | None, login: str | None = None, name: str | None = None) -> list[_Identity]:
    found: list[_Identity] = []
    if email:
        found.append(("email", email))
        if noreply := _NOREPLY.match(email):
            found.append(("login", noreply["login"]))
    if login:
        found.append(("login", login))
    if name and " ".join(name.split()) not in _PLACEHOLDER_NAMES:
        found.append(("name", " ".join(name.split())))
    return found


class People:
    """Who wrote the commits. People use several emails (work and personal, GitHub's noreply address), so a person is
    every identity the commits tie together: the email, login and name one commit carries, the login a noreply
    email names, and every email used under one author name (as `git shortlog` groups by name). A person is known by
    their GitHub login when one is tied to them, else by the email they committed with most, else by their name; an
    identity no commit carries (a reviewer's login) stands for itself."""

    def __init__(self, commits: Iterable[_Commit]) -> None:
        parent: dict[_Identity, _Identity] = {}

        def root(identity: _Identity) -> _Identity:
            parent.setdefault(identity, identity)
            while parent[identity] != identity:
                parent[identity] = parent[parent[identity]]
                identity = parent[identity]
            return identity

        used: Counter[_Identity] = Counter()
        for commit in commits:
            identities = _identities(commit.email, commit.login, commit.name)
            for identity in identities:
                used[identity] += commit.weight
                parent[root(identity)] = root(identities[0])
        groups: dict[_Identity, list[_Identity]] = {}
        for identity in parent:
            groups.setdefault(root(identity), []).append(identity)
        kind_order = {"login": 0, "email": 1, "name": 2}
        self._known: dict[_Identity, str] = {}
        for members in groups.values():
            shown = min(members, key=lambda i: (kind_order[i[0]], -used[i], i[1]))[1]
            self._known.update(dict.fromkeys(members, shown))

    def of(self, email: str | None = None, login: str | None = None, name: str | None = None) -> str | None:
        for identity in _identities(email, login, name):
            if identity in self._known:
                return self._known[identity]
        return login or email or name


def _distinct_commits(events: Iterable[MetricEvent]) -> list[_Commit]:
    """`commits` events merged by sha across sources (git-log drops and push webhooks): the earliest
    timestamp, the first author fields present, merge if any source says so, the union of file paths."""
    commits: dict[str, _Commit] = {}
    for event in sorted((e for e in events if e.metric_type == "commits"), key=lambda e: (e.timestamp, e.event_id)):
        known_sha = _meta(event, "sha")
        sha = str(known_sha or f"event:{event.event_id}").casefold()
        weight = 1 if known_sha else max(0, round(event.value))
        commit = commits.setdefault(sha, _Commit(sha, event.timestamp, weight=weight))
        commit.email = commit.email or _identity(_meta(event, "author_email"))
        commit.login = commit.login or _identity(_meta(event, "author_login"))
        commit.name = commit.name or _identity(_meta(event, "author_name"))
        commit.is_merge = commit.is_merge or bool(_meta(event, "is_merge"))
        commit.files.update(str(path) for path in (_meta(event, "files") or []))
    return sorted(commits.values(), key=lambda c: (c.timestamp, c.sha))


def _per_sha(events: Iterable[MetricEvent], metric_type: str) -> list[MetricEvent]:
    """Events of one type, one per commit sha (the same commit's figure from two sources counts once)."""
    return _dedupe((e for e in events if e.metric_type == metric_type), _by_meta("sha"))


FILES_PER_COMMIT_CAP = 50  # the git-log drop keeps at most this many paths per commit


def _bus_factor(counts: Counter) -> int | None:
    """Fewest authors whose commits together cover at least half of all commits."""
    total, covered = sum(counts.values()), 0
    for rank, (_, commits) in enumerate(counts.most_common(), start=1):
        covered += commits
        if 2 * covered >= total:
            return rank
    return None


@dataclass
class _PullRequests:
    merged: dict[str, MetricEvent]  # pr key -> its pr_merged event
    authors: dict[str, str]  # pr key -> author login (from any pr_* or review event)
    reviews: list[MetricEvent]  # reviews in the period, self-reviews excluded
    reviewed: set[str]  # pr keys with >= 1 review before the period's end
    merge_hours: list[float]
    any_pr_events: bool


def _pr_key(event: MetricEvent) -> str | None:
    number = _meta(event, "pr_number")
    return None if number is None else str(number)


def _pull_requests(events: Sequence[MetricEvent], start: datetime, end: datetime) -> _PullRequests:
    """Merged PRs, their authors and reviews. Reviews join to PRs by pr number; a review by the PR's own
    author is not a review. Reviews given before the period (of PRs merged in it) count towards `reviewed`
    when the caller passes them: a PR reviewed on Friday and merged on Monday was reviewed."""
    in_period = _within(events, start, end)
    authors: dict[str, str] = {}
    for event in events:
        key = _pr_key(event)
        login = _identity(_meta(event, "pr_author") if event.metric_type == "reviews" else _meta(event, "author_login"))
        if key is not None and login and (event.metric_type == "reviews" or event.metric_type.startswith("pr_")):
            authors.setdefault(key, login)
    merged = {
        (_pr_key(e) or f"event:{e.event_id}"): e
        for e in _dedupe((e for e in in_period if e.metric_type == "pr_merged"), _pr_key)
    }
    merge_hours = [e.value for e in _dedupe((e for e in in_period if e.metric_type == "pr_merge_hours"), _pr_key)]

    def by_author(review: MetricEvent) -> bool:
        reviewer, key = _identity(_meta(review, "reviewer")), _pr_key(review)
        return reviewer is not None and key is not None and authors.get(key) == reviewer

    reviews_before_end = [e for e in events if e.metric_type == "reviews" and e.timestamp < end and not by_author(e)]
    return _PullRequests(
        merged=merged,
        authors=authors,
        reviews=[e for e in reviews_before_end if e.timestamp >= start],
        reviewed={key for key in (_pr_key(e) for e in reviews_before_end) if key in merged},
        merge_hours=merge_hours,
        any_pr_events=any(e.metric_type.startswith("pr_") for e in in_period),
    )


def _pr_series(
    in_period: Sequence[MetricEvent], prs: _PullRequests, start: datetime, end: datetime, bucket: str
) -> dict[str, Any]:
    """Merged PRs per bucket and their mean hours to merge, from the same de-duplicated events as prs_merged and
    pr_merge_hours (and so the velocity card): a PR reported by two sources counts once in the chart too."""
    merged = Counter(_bucket_start(e.timestamp, bucket) for e in prs.merged.values())
    hours: dict[datetime, list[float]] = {}
    for event in _dedupe((e for e in in_period if e.metric_type == "pr_merge_hours"), _pr_key):
        hours.setdefault(_bucket_start(event.timestamp, bucket), []).append(event.value)
    return {
        "bucket": bucket,
        "points": [
            {
                "start": _iso(b),
                "merged": merged.get(b, 0),
                "merge_hours_mean": sum(hours[b]) / len(hours[b]) if b in hours else None,
            }
            for b in _bucket_starts(start, end, bucket)
        ],
    }


def git_stats(events: Sequence[MetricEvent], start: datetime, end: datetime) -> dict[str, Any]:
    """Git and pull-request figures over [start, end).

    - commits: distinct shas across sources (a commit from a git-log drop and a push webhook counts once); a
      `commits` event without a sha is a count and adds its value.
      `commits_per_week.weeks` lists every Monday-started week; `mean` is commits per 7 days of the period
      (null when no commit events arrived, i.e. nothing was measured); over more than MAX_SERIES_POINTS weeks the
      weekly list is empty and `commit_series` (bucket: day, week or month, maestro.domain.periods) carries it.
    - authorship (active_contributors, bus_factor, top_author_share) leaves out merge commits (is_merge):
      merging is not authoring the merged work. An author is a person (`People`): the emails, login and name
      their commits tie together, so someone who committed from two addresses counts once.
    - bus_factor: fewest authors whose commits cover >= 50% of the non-merge commits (null without commits).
    - lines_added / lines_deleted: sums, one figure per sha; churn_ratio = deleted / added (null if 0 added).
    - files_touched: distinct paths in the commits' `files`. `files_touched_lower_bound` is true when some
      commit lists fewer paths than its files_changed figure or hit the git-log drop's cap of 50 paths
      (push webhooks carry counts, not paths).
    - pr_merge_hours: p50/p90 of the PRs merged in the period; prs_merged: count and per week (per_week
      null when no pull-request event arrived).
    - pr_series: merged PRs and their mean hours to merge per bucket, from the same de-duplicated events.
    - review_participation: share of merged PRs with >= 1 review by someone other than the author, and the
      distinct reviewers of the period.
    """
    start, end = _period(start, end)
    in_period = _within(events, start, end)
    commits = _distinct_commits(in_period)
    commit_count = sum(c.weight for c in commits)
    authored: Counter[str] = Counter()
    weekly: Counter[datetime] = Counter()
    bucket = series_bucket(start, end)
    by_bucket: Counter[datetime] = Counter()
    people = People(commits)
    for c in commits:
        if not c.is_merge and (author := people.of(c.email, c.login, c.name)):
            authored[author] += c.weight
        weekly[_bucket_start(c.timestamp, "week")] += c.weight
        by_bucket[_bucket_start(c.timestamp, bucket)] += c.weight
    added = sum(e.value for e in _per_sha(in_period, "lines_added"))
    deleted = sum(e.value for e in _per_sha(in_period, "lines_deleted"))
    files = set().union(*(c.files for c in commits))
    files_changed = {
        str(_meta(e, "sha")).casefold(): e.value for e in _per_sha(in_period, "files_changed") if _meta(e, "sha")
    }
    prs = _pull_requests(events, start, end)
    return {
        "period": {"start": _iso(start), "end": _iso(end), "weeks": _period_weeks(start, end)},
        "commits": commit_count,
        "merge_commits": sum(c.weight for c in commits if c.is_merge),
        "bucket": bucket,
        "commits_per_week": {
            # every week while that stays a few hundred points; a longer life is in commit_series (coarser)
            "weeks": [{"week_start": _iso(w), "commits": weekly.get(w, 0)} for w in _bucket_starts(start, end, "week")]
            if series_bucket(start, end, "week") == "week"
            else [],
            "mean": _per_week(commit_count, start, end) if commits else None,
        },
        "commit_series": {
            "bucket": bucket,
            "points": [{"start": _iso(b), "commits": by_bucket.get(b, 0)} for b in _bucket_starts(start, end, bucket)],
        },
        "active_contributors": len(authored),
        "bus_factor": _bus_factor(authored),
        "top_author_share": _ratio(max(authored.values()), sum(authored.values())) if authored else None,
        "lines_added": added,
        "lines_deleted": deleted,
        "churn_ratio": _ratio(deleted, added),
        "files_touched": len(files),
        "files_touched_lower_bound": any(
            len(c.files) >= FILES_PER_COMMIT_CAP or files_changed.get(c.sha, 0) > len(c.files) for c in commits
        ),
        "prs_merged": {
            "count": len(prs.merged),
            "per_week": _per_week(len(prs.merged), start, end) if prs.any_pr_events else None,
        },
        "pr_merge_hours": {
            "count": len(prs.merge_hours),
            "p50": percentile(prs.merge_hours, 50),
            "p90": percentile(prs.merge_hours, 90),
        },
        "pr_series": _pr_series(in_period, prs, start, end, bucket),
        "review_participation": {
            "merged_prs": len(prs.merged),
            "reviewed_merged_prs": len(prs.reviewed),
            "share": _ratio(len(prs.reviewed), len(prs.merged)),
            "distinct_reviewers": len({r for r in (_identity(_meta(e, "reviewer")) for e in prs.reviews) if r}),
        },
    }
