"""Drop formats: JSON lines, git log --numstat, JUnit XML and GitHub workflow-run listings become raw metric events
that `normalise` accepts. Bad lines become FormatErrors carrying their line numbers, and memory stays flat."""

import io
import json
import os
import re
import subprocess
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from maestro.domain.metrics import normalise
from maestro.ingestion.formats import (
    GITLOG,
    JSONL,
    JUNIT,
    WHOLE_FILE,
    WORKFLOW_RUNS,
    FormatError,
    OverlongLine,
    detect_format,
    iter_lines,
    parse,
    parse_gitlog,
    parse_jsonl,
    parse_junit,
    parse_workflow_runs,
)

EVENTS = Path(__file__).resolve().parents[1] / "events" / "ingest"
PROJECT_DIR = Path(__file__).resolve().parents[2]
LAST_MODIFIED = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 22, tzinfo=UTC)


def events_of(parsed):
    return [item for _, item in parsed if not isinstance(item, FormatError)]


def errors_of(parsed):
    return [item for _, item in parsed if isinstance(item, FormatError)]


def by_type(events, metric_type):
    return [event for event in events if event["metric_type"] == metric_type]


def assert_all_normalise(events):
    for event in events:
        normalise(event, project_id="p1", custom_types={}, source="s3", now=NOW)


# --- format detection -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, content_type, expected",
    [
        ("ingest/t1/p1/metrics.jsonl", None, JSONL),
        ("ingest/t1/p1/METRICS.NDJSON", "application/octet-stream", JSONL),
        ("ingest/t1/p1/history.gitlog", None, GITLOG),
        ("ingest/t1/p1/reports/TEST-com.example.xml", None, JUNIT),
        ("ingest/t1/p1/runs-page-1.json", None, WORKFLOW_RUNS),
        ("ingest/t1/p1/upload", "application/x-ndjson", JSONL),
        ("ingest/t1/p1/upload", "text/xml; charset=utf-8", JUNIT),
        ("ingest/t1/p1/upload", "application/xml", JUNIT),
        ("ingest/t1/p1/upload", "application/json", WORKFLOW_RUNS),
        ("ingest/t1/p1/notes.txt", "text/plain", None),
        ("ingest/t1/p1/upload", None, None),
        ("ingest/t1/p1/.jsonl", None, None),
    ],
)
def test_format_is_detected_by_extension_then_content_type(key, content_type, expected):
    assert detect_format(key, content_type) == expected


def test_unknown_format_is_a_programming_error():
    with pytest.raises(ValueError):
        parse("csv", io.BytesIO(b""))


# --- JSON lines -------------------------------------------------------------------------------------------------


def test_jsonl_yields_objects_and_reports_bad_lines_with_their_numbers():
    with open(EVENTS / "metrics.jsonl", "rb") as stream:
        parsed = list(parse(JSONL, stream))
    assert [(line_no, type(item).__name__) for line_no, item in parsed] == [
        (1, "dict"),
        (3, "dict"),
        (4, "FormatError"),
        (5, "FormatError"),
        (7, "dict"),
    ]
    bad_json, array = errors_of(parsed)
    assert (bad_json.line_no, array.line_no) == (4, 5)
    assert bad_json.reason.startswith("not valid JSON")
    assert bad_json.raw_excerpt.startswith('{"metric_type": "gpu_hours"')
    assert array.reason == "expected a JSON object, got an array"
    events = events_of(parsed)
    assert events[0]["project_id"] == "p1" and events[1]["event_id"] == "deploy-2026-11-20-1"
    assert_all_normalise(events)


def test_jsonl_accepts_the_lines_of_a_botocore_body_with_their_line_endings():
    raw = (EVENTS / "metrics.jsonl").read_bytes()
    from_lines = list(parse(JSONL, raw.replace(b"\n", b"\r\n").splitlines(keepends=True)))
    with open(EVENTS / "metrics.jsonl", "rb") as stream:
        assert from_lines == list(parse(JSONL, stream))


def test_jsonl_reads_an_s3_streaming_body_directly():
    from botocore.response import StreamingBody

    raw = (EVENTS / "metrics.jsonl").read_bytes()
    with open(EVENTS / "metrics.jsonl", "rb") as stream:
        assert list(parse(JSONL, StreamingBody(io.BytesIO(raw), len(raw)))) == list(parse(JSONL, stream))


def test_a_line_too_long_to_buffer_is_reported_and_the_next_line_still_parses():
    good = b'{"metric_type": "commits", "value": 1, "timestamp": "2026-11-20T10:00:00Z"}'
    data = good + b"\n" + b"x" * 500 + b"\n" + good + b"\n"
    lines = list(iter_lines(io.BytesIO(data), chunk_size=7, max_line_bytes=100))
    assert len(lines) == 3 and isinstance(lines[1], OverlongLine) and len(lines[1]) <= 200
    parsed = list(parse_jsonl(lines))
    assert [line_no for line_no, _ in parsed] == [1, 2, 3]
    assert "longer than" in parsed[1][1].reason and parsed[1][1].raw_excerpt.startswith("xxx")


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 64, 4096])
def test_line_splitting_is_independent_of_chunk_boundaries(chunk_size):
    data = b"a\n\nbc\r\ndef\n\n\nlast line without newline"
    assert list(iter_lines(io.BytesIO(data), chunk_size=chunk_size)) == data.split(b"\n")
    assert list(iter_lines(io.BytesIO(data + b"\n"), chunk_size=chunk_size)) == data.split(b"\n")


def test_nothing_in_a_line_makes_the_jsonl_parser_raise():
    lines = [b"\xff\xfe not utf-8", b"[" * 100_000, b"1" * 5000, b'"a string"', b"null", b"NaN", b"{}"]
    parsed = list(parse_jsonl(lines))
    assert [line_no for line_no, item in parsed if isinstance(item, FormatError)] == [1, 2, 3, 4, 5, 6]
    assert parsed[-1] == (7, {})


def _synthetic_jsonl_lines(count):
    for i in range(count):
        yield (
            b'{"metric_type": "experiment_run", "value": 1, "timestamp": "2026-11-20T10:00:00Z", '
            b'"metadata": {"run": "run-%08d", "note": "padding padding padding"}}\n' % i
        )


def test_200k_jsonl_lines_parse_with_flat_memory():
    count = 200_000
    started = time.perf_counter()
    tracemalloc.start()
    try:
        parsed_events = sum(1 for _, item in parse_jsonl(_synthetic_jsonl_lines(count)) if isinstance(item, dict))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed_events == count
    assert peak < 1 * 1024 * 1024, f"peak {peak} bytes: the parser is holding lines"
    assert time.perf_counter() - started < 30


class SyntheticDrop(io.RawIOBase):
    """A readable stream that makes up JSONL as it is read, like a large S3 body; it holds no more than one read."""

    def __init__(self, lines):
        self._lines = _synthetic_jsonl_lines(lines)
        self._buffer = b""

    def readable(self):
        return True

    def read(self, size=-1):
        while len(self._buffer) < size and (line := next(self._lines, None)) is not None:
            self._buffer += line
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk


def test_a_large_jsonl_stream_is_read_in_chunks_not_whole():
    lines = 100_000  # about 14 MB
    tracemalloc.start()
    try:
        count = sum(1 for _, item in parse(JSONL, SyntheticDrop(lines)) if isinstance(item, dict))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == lines
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes"


# --- git log --numstat: a real repository -----------------------------------------------------------------------

AUTHORS = {
    "ada": ("Ada Lovelace", "ada@example.com"),
    "grace": ("Grace Hopper", "grace@navy.example.org"),
    "linus": ("Linus Torvalds", "linus@kernel.example.net"),
}


class GitRepo:
    """A throwaway repository whose commits are made by named authors at given times."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir()
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(path.parent),
            "GIT_CONFIG_NOSYSTEM": "1",
            "LC_ALL": "C",
            "TZ": "UTC",
        }
        self.git("-c", "init.defaultBranch=main", "init", "-q")

    def git(self, *args: str, author: str = "ada", when: str = "2026-03-01T09:00:00+01:00") -> str:
        name, email = AUTHORS[author]
        env = {
            **self.env,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": when,
        }
        result = subprocess.run(["git", *args], cwd=self.path, env=env, capture_output=True, check=True)
        return result.stdout.decode()

    def write(self, relative: str, content: str | bytes) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())

    def commit(self, message: str, *, author: str, when: str) -> None:
        self.git("add", "-A", author=author, when=when)
        self.git("commit", "-q", "-m", message, author=author, when=when)


def _lines(count: int, prefix: str) -> str:
    return "".join(f"{prefix} {i}\n" for i in range(count))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = GitRepo(tmp_path_factory.mktemp("gitlog") / "repo")
    repo.write("README.md", _lines(3, "readme"))
    repo.write("src/app.py", _lines(10, "app"))
    repo.commit("Initial layout", author="ada", when="2026-03-01T09:00:00+01:00")
    repo.write("src/app.py", _lines(9, "app") + "app changed\napp added\n")
    repo.write("docs/guide.md", _lines(5, "guide"))
    repo.commit("Guide and a fix", author="grace", when="2026-03-02T14:30:00-05:00")
    repo.git("mv", "src/app.py", "src/service.py")
    repo.write("src/service.py", (repo.path / "src/service.py").read_text() + "service line\n")
    repo.commit("Rename app to service", author="ada", when="2026-03-03T08:00:00+00:00")
    repo.write("assets/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    repo.write("données.txt", "é\nà\n")
    repo.commit("Add logo and data", author="linus", when="2026-03-04T22:15:00+09:00")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("docs/guide.md", _lines(3, "guide") + "guide rewritten\n")
    repo.write("tests/test_service.py", _lines(7, "test"))
    repo.commit("Tests for the service", author="grace", when="2026-03-05T10:00:00+00:00")
    repo.write("assets/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(255, -1, -1)))
    repo.commit("New logo", author="linus", when="2026-03-05T11:00:00+00:00")
    repo.git("checkout", "-q", "main")
    repo.write("README.md", _lines(3, "readme") + "more readme\n")
    repo.commit("Readme", author="ada", when="2026-03-05T12:00:00+00:00")
    repo.git(
        "merge",
        "-q",
        "--no-ff",
        "feature",
        "-m",
        "Merge branch 'feature'",
        author="grace",
        when="2026-03-06T09:00:00+01:00",
    )
    (repo.path / "docs/guide.md").unlink()
    repo.commit(
        "Drop the guide\n\nIt moved to the wiki.\ncommit 0123456789abcdef0123456789abcdef01234567\n"
        "1\t2\tnot/a/numstat/line\n\nDate: not a header either",
        author="ada",
        when="2026-03-07T09:00:00Z",
    )
    return repo


def _git_numstat_by_sha(repo: GitRepo) -> dict[str, dict]:
    """Per commit, what git's own numstat says (text files' lines, and the files touched)."""
    totals: dict[str, dict] = {}
    sha = None
    for line in repo.git("log", "--numstat", "--format=@%H").splitlines():
        if line.startswith("@"):
            sha = line[1:]
            totals[sha] = {"added": 0, "deleted": 0, "files": 0, "binary": 0}
        elif line:
            added, deleted, _ = line.split("\t", 2)
            totals[sha]["files"] += 1
            if added == "-":
                totals[sha]["binary"] += 1
            else:
                totals[sha]["added"] += int(added)
                totals[sha]["deleted"] += int(deleted)
    return totals


def _commit_events(repo: GitRepo, *extra: str):
    parsed = list(parse(GITLOG, io.BytesIO(repo.git("log", "--numstat", "--date=iso-strict", *extra).encode())))
    return parsed, {event["metadata"]["sha"]: event for event in by_type(events_of(parsed), "commits")}


def test_gitlog_commits_and_authors_match_git_itself(repo):
    parsed, commits = _commit_events(repo)
    assert errors_of(parsed) == []
    assert len(commits) == int(repo.git("rev-list", "--count", "HEAD")) == 9
    shortlog = Counter()
    for line in repo.git("shortlog", "-sne", "HEAD").splitlines():
        count, author = line.strip().split("\t")
        shortlog[author] += int(count)
    ours = Counter(f"{c['metadata']['author_name']} <{c['metadata']['author_email']}>" for c in commits.values())
    assert (
        ours
        == shortlog
        == Counter(
            {
                "Ada Lovelace <ada@example.com>": 4,
                "Grace Hopper <grace@navy.example.org>": 3,
                "Linus Torvalds <linus@kernel.example.net>": 2,
            }
        )
    )
    author_dates = dict(line.split(" ") for line in repo.git("log", "--format=%H %aI").splitlines())
    for sha, commit in commits.items():
        assert datetime.fromisoformat(commit["timestamp"]) == datetime.fromisoformat(author_dates[sha])
    assert commits[repo.git("rev-list", "--max-parents=0", "HEAD").strip()]["timestamp"] == "2026-03-01T09:00:00+01:00"


def test_gitlog_line_counts_match_git_numstat(repo):
    parsed, _ = _commit_events(repo)
    events = events_of(parsed)
    expected = _git_numstat_by_sha(repo)
    for metric_type, key in (("lines_added", "added"), ("lines_deleted", "deleted"), ("files_changed", "files")):
        ours = {event["metadata"]["sha"]: event["value"] for event in by_type(events, metric_type)}
        assert ours == {sha: counts[key] for sha, counts in expected.items()}, metric_type
    assert sum(e["value"] for e in by_type(events, "lines_added")) == sum(c["added"] for c in expected.values())
    assert sum(e["value"] for e in by_type(events, "lines_deleted")) == sum(c["deleted"] for c in expected.values())
    binary = {e["metadata"]["sha"]: e["metadata"]["binary_files"] for e in by_type(events, "commits")}
    assert binary == {sha: counts["binary"] for sha, counts in expected.items()}
    assert sum(binary.values()) == 2


def test_gitlog_flags_the_merge_and_names_renamed_binary_and_quoted_files(repo):
    _, commits = _commit_events(repo)
    merges = {sha for sha, commit in commits.items() if commit["metadata"]["is_merge"]}
    assert merges == {repo.git("rev-list", "--merges", "HEAD").strip()}
    subjects = dict(line.split(" ", 1) for line in repo.git("log", "--format=%H %s").splitlines())
    files = {subjects[sha]: commit["metadata"]["files"] for sha, commit in commits.items()}
    assert files["Rename app to service"] == ["src/service.py"]
    assert sorted(files["Add logo and data"]) == ["assets/logo.png", "données.txt"]
    assert files["Merge branch 'feature'"] == []
    assert files["Drop the guide"] == ["docs/guide.md"]  # the numstat-like message line is message, not a file


def test_gitlog_events_are_stable_and_normalise(repo):
    first, _ = _commit_events(repo)
    again, _ = _commit_events(repo)
    assert first == again
    events = events_of(first)
    assert len(events) == 4 * 9 and len({e["event_id"] for e in events}) == len(events)
    merge = next(e for e in events if e["metadata"]["is_merge"] and e["metric_type"] == "lines_added")
    assert merge["event_id"] == f"git:{merge['metadata']['sha']}:lines_added" and merge["value"] == 0
    assert {e["source"] for e in events} == {"git"}
    assert_all_normalise(events)


def test_gitlog_with_decorations_notes_fuller_and_per_parent_merges(repo):
    repo.git("notes", "add", "-m", "reviewed by grace\nsecond note line", "HEAD~2")
    try:
        for extra in (
            ("--decorate",),
            ("--pretty=fuller",),
            ("-m",),
            ("--no-renames", "--all"),
            ("--branches", "--tags"),
        ):
            parsed, commits = _commit_events(repo, *extra)
            assert errors_of(parsed) == [], extra
            revisions = [arg for arg in extra if arg in ("--all", "--branches", "--tags")] or ["HEAD"]
            assert len(commits) == int(repo.git("rev-list", "--count", *revisions)), extra
        _, per_parent = _commit_events(repo, "-m")
        merge = next(c for c in per_parent.values() if c["metadata"]["is_merge"])
        first_parent_diff = repo.git(
            "diff", "--numstat", f"{merge['metadata']['sha']}^1", merge["metadata"]["sha"]
        ).splitlines()
        assert merge["metadata"]["files"] == [line.split("\t")[2] for line in first_parent_diff]
    finally:
        repo.git("notes", "remove", "HEAD~2")


def test_gitlog_streams_commit_by_commit(repo):
    log_lines = repo.git("log", "--numstat", "--date=iso-strict").encode().splitlines(keepends=True)
    consumed = 0

    def lines():
        nonlocal consumed
        for line in log_lines:
            consumed += 1
            yield line

    parsed = parse_gitlog(lines())
    next(parsed)
    assert consumed < len(log_lines) / 4  # the first commit came out long before the end of the log
    assert len(list(parsed)) == 4 * 9 - 1


def test_gitlog_reports_lines_it_cannot_place_and_keeps_going():
    log = (
        b"warning: refname is ambiguous\n"
        b"commit 1111111111111111111111111111111111111111\r\n"
        b"Author: Ada Lovelace <ada@example.com>\r\n"
        b"Date:   2026-03-01T09:00:00+01:00\r\n\r\n    Crlf commit\r\n\r\n"
        b"3\t1\tsrc/{old => new}/mod.py\r\n"
        b"stray text in the numstat\n"
        b"commit 2222222222222222222222222222222222222222\n"
        b"Author: Grace Hopper <grace@navy.example.org>\n\n    No date\n\n1\t0\ta.txt\n"
        b"commit 3333333333333333333333333333333333333333\n"
        b"Author: Linus Torvalds <linus@kernel.example.net>\n"
        b"Date:   Wed Mar 4 22:15:00 2026 +0900\n\n    Default date format, no trailing newline\n\n"
        b'-\t-\tlogo.png\n2\t2\t"donn\\303\\251es.txt"'
    )
    parsed = list(parse(GITLOG, io.BytesIO(log)))
    errors = errors_of(parsed)
    assert [(e.line_no, e.reason) for e in errors] == [
        (1, "expected 'commit <sha>'"),
        (9, "unexpected line in git log output"),
        (10, "commit 2222222222222222222222222222222222222222: no Date line"),
    ]
    assert errors[1].raw_excerpt == "stray text in the numstat"
    commits = {e["metadata"]["sha"][0]: e for e in by_type(events_of(parsed), "commits")}
    assert set(commits) == {"1", "3"}
    assert commits["1"]["metadata"]["files"] == ["src/new/mod.py"]
    assert commits["3"]["timestamp"] == "2026-03-04T22:15:00+09:00"
    assert commits["3"]["metadata"]["files"] == ["logo.png", "données.txt"]
    assert commits["3"]["metadata"]["binary_files"] == 1
    assert [e["value"] for e in events_of(parsed) if e["metadata"]["sha"][0] == "3"] == [1, 2, 2, 2]


def test_gitlog_of_this_project_matches_its_commit_count():
    def git(*args):
        return subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True, check=True).stdout

    try:
        count = int(git("rev-list", "--count", "HEAD"))
    except (subprocess.CalledProcessError, FileNotFoundError, ValueError):
        pytest.skip("the project is not a git checkout with commits")
    if count < 1:
        pytest.skip("the project has no commits yet")
    parsed = list(parse(GITLOG, io.BytesIO(git("log", "--numstat", "--date=iso-strict"))))
    assert errors_of(parsed) == []
    commits = by_type(events_of(parsed), "commits")
    assert len(commits) == count
    expected_added = sum(
        int(line.split(b"\t")[0])
        for line in git("log", "--numstat", "--format=").splitlines()
        if line and not line.startswith(b"-")
    )
    assert sum(e["value"] for e in by_type(events_of(parsed), "lines_added")) == expected_added


# --- JUnit XML --------------------------------------------------------------------------------------------------


def _suite_values(events):
    return {event["metric_type"]: event["value"] for event in events}


def test_pytest_junitxml_report_counts_match():
    with open(EVENTS / "junit_pytest.xml", "rb") as stream:
        parsed = list(parse(JUNIT, stream, fallback_timestamp=LAST_MODIFIED))
    assert errors_of(parsed) == []
    events = events_of(parsed)
    assert _suite_values(events) == {
        "tests": 4,
        "test_failures": 1,
        "test_errors": 0,
        "test_skipped": 1,
        "test_duration_seconds": 0.12,
    }
    assert {e["timestamp"] for e in events} == {"2026-11-20T10:00:00.123456+00:00"}  # no zone: read as UTC
    assert {json.dumps(e["metadata"]) for e in events} == {json.dumps({"suite": "pytest", "hostname": "ci"})}
    assert all(re.fullmatch(r"junit:[0-9a-f]{24}:" + e["metric_type"], e["event_id"]) for e in events)
    with open(EVENTS / "junit_pytest.xml", "rb") as stream:
        assert list(parse_junit(stream, fallback_timestamp=NOW)) == parsed  # the suite's own time wins, stably
    assert_all_normalise(events)


def test_surefire_report_without_timestamp_is_dated_by_the_object():
    with open(EVENTS / "junit_surefire.xml", "rb") as stream:
        parsed = list(parse(JUNIT, stream, fallback_timestamp=LAST_MODIFIED))
    events = events_of(parsed)
    assert errors_of(parsed) == [] and {line_no for line_no, _ in parsed} == {1}
    assert _suite_values(events) == {
        "tests": 5,
        "test_failures": 1,
        "test_errors": 1,
        "test_skipped": 1,
        "test_duration_seconds": 0.187,
    }
    assert {e["timestamp"] for e in events} == {LAST_MODIFIED.isoformat()}
    assert events[0]["metadata"] == {"suite": "com.example.billing.InvoiceCalculatorTest", "hostname": None}
    assert_all_normalise(events)


def test_suites_without_totals_are_counted_from_their_cases_and_nested_suites_count_once():
    xml = b"""<testsuites>
      <testsuite name="counted" timestamp="2026-11-20T10:00:00+02:00">
        <testcase name="a" time="0.5"/><testcase name="b" time="0.25"><failure message="no"/></testcase>
        <testcase name="c"><error/></testcase><testcase name="d"><skipped/></testcase>
      </testsuite>
      <testsuite name="aggregate" tests="3" failures="0" errors="0" time="3" timestamp="2026-11-20T11:00:00Z">
        <testsuite name="inner-1" tests="1" failures="0" errors="0" time="1" timestamp="2026-11-20T11:00:00Z">
          <testcase name="x"/></testsuite>
        <testsuite name="inner-2" tests="2" failures="0" errors="0" time="2" timestamp="2026-11-20T11:00:01Z">
          <testcase name="y"/><testcase name="z"/></testsuite>
      </testsuite>
      <testsuite name="undated" tests="1"><testcase name="u"/></testsuite>
      <testsuite name="bad-count" tests="many" timestamp="2026-11-20T12:00:00Z"/>
    </testsuites>"""
    parsed = list(parse_junit(io.BytesIO(xml)))
    suites = {}
    for _, event in parsed:
        if isinstance(event, dict):
            suites.setdefault(event["metadata"]["suite"], {})[event["metric_type"]] = event["value"]
    assert suites == {
        "counted": {"tests": 4, "test_failures": 1, "test_errors": 1, "test_skipped": 1, "test_duration_seconds": 0.75},
        "inner-1": {"tests": 1, "test_failures": 0, "test_errors": 0, "test_skipped": 0, "test_duration_seconds": 1},
        "inner-2": {"tests": 2, "test_failures": 0, "test_errors": 0, "test_skipped": 0, "test_duration_seconds": 2},
    }
    counted = next(e for _, e in parsed if isinstance(e, dict) and e["metadata"]["suite"] == "counted")
    assert counted["timestamp"] == "2026-11-20T10:00:00+02:00"
    errors = errors_of(parsed)
    assert [e.reason for e in errors] == [
        "testsuite 'undated': no timestamp attribute and no fallback timestamp",
        "testsuite 'bad-count': count 'many' is not a whole number",
    ]
    assert [e.line_no for e in errors] == [5, 6]  # the suites' positions in the file


def test_an_xml_bomb_is_refused_not_expanded():
    started = time.perf_counter()
    with open(EVENTS / "junit_billion_laughs.xml", "rb") as stream:
        parsed = list(parse(JUNIT, stream, fallback_timestamp=LAST_MODIFIED))
    assert time.perf_counter() - started < 1
    assert len(parsed) == 1
    line_no, error = parsed[0]
    assert isinstance(error, FormatError) and line_no == error.line_no == WHOLE_FILE
    assert "EntitiesForbidden" in error.reason


def test_external_entities_are_refused():
    xml = b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]><testsuite name="&x;"/>'
    [(_, error)] = list(parse_junit(io.BytesIO(xml), fallback_timestamp=LAST_MODIFIED))
    assert isinstance(error, FormatError) and "refused XML" in error.reason


@pytest.mark.parametrize(
    "document, line_no",
    [
        (b'<testsuite name="x" tests="1">\n<testcase name="a">\n</testsuite>', 3),
        (b"this is not xml", 1),
        (b"", 1),
    ],
)
def test_invalid_xml_yields_one_format_error(document, line_no):
    parsed = list(parse_junit(io.BytesIO(document), fallback_timestamp=LAST_MODIFIED))
    assert len(parsed) == 1 and isinstance(parsed[0][1], FormatError)
    assert parsed[0][0] == line_no and parsed[0][1].reason.startswith("not well-formed XML")


def test_xml_that_is_not_a_junit_report_says_so():
    [(line_no, error)] = list(parse_junit(io.BytesIO(b"<html><body/></html>"), fallback_timestamp=LAST_MODIFIED))
    assert line_no == WHOLE_FILE and "no <testsuite>" in error.reason


class SyntheticJUnit(io.RawIOBase):
    """A JUnit report with many suites and chatty cases, made up as it is read."""

    def __init__(self, suites, cases):
        def parts():
            yield b"<testsuites>"
            for s in range(suites):
                yield b'<testsuite name="suite-%d" timestamp="2026-11-20T10:00:00Z" hostname="ci">' % s
                for c in range(cases):
                    yield (
                        b'<testcase name="case-%d" time="0.01"><system-out>%s</system-out></testcase>'
                        % (c, b"log line " * 50)
                    )
                yield b"</testsuite>"
            yield b"</testsuites>"

        self._parts = parts()

    def readable(self):
        return True

    def read(self, size=-1):
        return next(self._parts, b"")


def test_a_large_junit_report_streams_with_flat_memory():
    tracemalloc.start()
    try:
        events = sum(1 for _, item in parse_junit(SyntheticJUnit(200, 100)) if isinstance(item, dict))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert events == 200 * 5
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes: elements are not being released"


# --- GitHub Actions workflow runs -------------------------------------------------------------------------------


def _runs(parsed):
    runs = {}
    for _, event in parsed:
        runs.setdefault(event["event_id"].split(":")[1], {})[event["metric_type"]] = event
    return runs


def test_workflow_runs_listing_becomes_pipeline_events():
    with open(EVENTS / "workflow_runs.json", "rb") as stream:
        parsed = list(parse(WORKFLOW_RUNS, stream, fallback_timestamp=LAST_MODIFIED))
    assert errors_of(parsed) == []
    runs = _runs(parsed)
    values = {run_id: {m: e["value"] for m, e in run.items()} for run_id, run in runs.items()}
    assert values == {
        "30433642": {
            "pipeline_run": 1,
            "pipeline_attempt": 1,
            "pipeline_duration_seconds": 492.0,
            "pipeline_success": 1,
        },
        "30433655": {
            "pipeline_run": 1,
            "pipeline_attempt": 2,
            "pipeline_duration_seconds": 255.0,
            "pipeline_success": 0,
        },
        "30433701": {"pipeline_run": 1, "pipeline_attempt": 1},  # in progress: no duration, no verdict yet
        "30433720": {"pipeline_run": 1, "pipeline_attempt": 1, "pipeline_duration_seconds": 600.0},
    }  # cancelled
    failed = runs["30433655"]["pipeline_success"]
    assert failed["event_id"] == "gha:30433655:2:pipeline_success"
    assert failed["timestamp"] == "2026-11-20T20:30:00+00:00"  # run_started_at of this attempt
    assert failed["metadata"] == {
        "workflow_id": 159038,
        "name": "Build",
        "run_number": 563,
        "event": "pull_request",
        "head_branch": "feature/ingest",
        "head_sha": "7638417db6d59f3c431d3e1f261cc637155684cd",
        "conclusion": "failure",
        "html_url": "https://github.com/octo-org/octo-repo/actions/runs/30433655",
        "run_id": 30433655,
        "run_attempt": 2,
    }
    assert [line_no for line_no, _ in parsed] == [1] * 4 + [2] * 4 + [3] * 2 + [4] * 3
    assert_all_normalise(events_of(parsed))


def test_workflow_runs_replay_gives_the_same_event_ids():
    raw = (EVENTS / "workflow_runs.json").read_bytes()
    first = [event["event_id"] for _, event in parse_workflow_runs(io.BytesIO(raw))]
    assert first == [event["event_id"] for _, event in parse_workflow_runs(io.BytesIO(raw))]
    assert len(set(first)) == len(first)


def test_a_malformed_run_is_reported_by_its_index_and_the_rest_still_count():
    listing = json.loads((EVENTS / "workflow_runs.json").read_bytes())
    runs = listing["workflow_runs"]
    runs.insert(1, "not a run")
    runs.insert(2, {**runs[0], "id": "30433642"})
    runs.insert(3, {**runs[0], "id": 99, "updated_at": "yesterday"})
    parsed = list(parse_workflow_runs(io.BytesIO(json.dumps(listing).encode())))
    assert [(e.line_no, e.reason) for e in errors_of(parsed)] == [
        (2, "workflow run 2: expected an object, got a string"),
        (3, "workflow run 3: id must be an integer"),
        (4, "workflow run 4: updated_at 'yesterday' is not an ISO 8601 time with a zone"),
    ]
    assert all(len(e.raw_excerpt) <= 200 for e in errors_of(parsed))
    assert len(_runs([p for p in parsed if not isinstance(p[1], FormatError)])) == 4


@pytest.mark.parametrize("document", [b'{"total_count": 0, "workflow_runs": ', b"[]", b'{"jobs": []}', b"\xff"])
def test_a_document_that_is_not_a_listing_yields_one_format_error(document):
    parsed = list(parse_workflow_runs(io.BytesIO(document)))
    assert len(parsed) == 1 and isinstance(parsed[0][1], FormatError)
