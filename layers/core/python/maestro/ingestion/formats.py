"""Streaming parsers for the file formats of the S3 drop zone. Each one turns a dropped file into raw metric events.

Every parser yields `(line_no, item)` pairs. `item` is either a raw event dict, which is the shape
`maestro.domain.metrics.normalise` takes (metric_type, value, timestamp as an ISO string with a zone, and optionally
event_id, unit, source and metadata; the caller supplies the drop's project), or a `FormatError` for the caller to
quarantine. A bad line never raises: the parser yields a FormatError and carries on. A file that cannot be parsed
at all (invalid XML, a JSON document that is not a listing) yields one FormatError and stops. Nothing here touches
AWS.

Formats (`detect_format`):

* `jsonl` (`.jsonl`, `.ndjson`, `application/x-ndjson`): one metric event object per line, as accepted by the
  metrics API: {event_id?, project_id, metric_type, value, unit?, timestamp, source?, metadata?}. The objects are
  passed through unchanged, and `normalise` checks a `project_id` they carry against the drop's project.
* `gitlog` (`.gitlog`): the output of

      git log --numstat --date=iso-strict

  in git's default ("medium") pretty format. You can add `--no-renames`, `--all`, a revision range (`v1.0..HEAD`),
  paths or `--since`; `--decorate` and `--pretty=fuller` also parse. Note that `--all` also walks `refs/notes`, so
  note commits would count as commits: `--branches --tags` lists only code. `--graph`, `--oneline`, `-z` and custom
  `--format`s are not supported. In the default format a merge prints no numstat, so a merge counts as a commit with
  0 lines. With `-m` a merge is printed once per parent: only the first block (the diff against the first parent) is
  counted. Events: `commits`, `lines_added`, `lines_deleted`, `files_changed` per commit, stamped with the author
  date and identified by `git:<sha>:<metric_type>`, so replaying an overlapping log is exactly-once.
* `junit` (`.xml`, `application/xml`, `text/xml`): JUnit XML reports (pytest `--junitxml`, Maven surefire, Ant,
  Gradle): `tests`, `test_failures`, `test_errors`, `test_skipped` and `test_duration_seconds` per `<testsuite>`.
* `workflow_runs` (`.json`, `application/json`): one page of GitHub's "List workflow runs for a repository" API,
  `{"total_count": N, "workflow_runs": [...]}`: `pipeline_run`, `pipeline_attempt`, and, for a completed run,
  `pipeline_duration_seconds` and `pipeline_success`.

The line-based formats (jsonl, gitlog) read one line at a time, and a gitlog is read one commit at a time, so memory
stays flat whatever the file's size. `iter_lines` splits any binary stream (a file, or botocore's StreamingBody,
which has `read`) into lines of at most MAX_LINE_BYTES. A longer line is reported, not buffered.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse as defused_iterparse

from maestro.domain.metrics import BUILT_IN_TYPES

JSONL = "jsonl"
GITLOG = "gitlog"
JUNIT = "junit"
WORKFLOW_RUNS = "workflow_runs"
FORMATS = (JSONL, GITLOG, JUNIT, WORKFLOW_RUNS)

_EXTENSIONS = {".jsonl": JSONL, ".ndjson": JSONL, ".gitlog": GITLOG, ".xml": JUNIT, ".json": WORKFLOW_RUNS}
_CONTENT_TYPES = {
    "application/x-ndjson": JSONL,
    "application/jsonl": JSONL,
    "application/xml": JUNIT,
    "text/xml": JUNIT,
    "application/json": WORKFLOW_RUNS,
}

WHOLE_FILE = 0  # the line_no of a FormatError about the file as a whole, not one line of it
EXCERPT_CHARS = 200
MAX_LINE_BYTES = 1024 * 1024
MAX_FILES_IN_METADATA = 50
_MAX_FILE_CHARS_IN_METADATA = 8_000  # normalise refuses metadata over 16 KiB; long paths must not push a commit out
# GitHub serves this listing in pages of at most 100 runs (per_page <= 100), about 1 MB. A larger .json is not one.
MAX_WORKFLOW_PAGE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class FormatError:
    """A line (or, with line_no WHOLE_FILE, a whole file) that could not be read, and why. Yielded, never raised."""

    line_no: int
    reason: str
    raw_excerpt: str = ""

    @classmethod
    def at(cls, line_no: int, reason: str, raw: bytes | str | None = None) -> FormatError:
        return cls(line_no, reason, _excerpt(raw))


ParsedItem = dict[str, Any] | FormatError
ParsedLine = tuple[int, ParsedItem]


class OverlongLine(bytes):
    """The first EXCERPT_CHARS bytes of a line longer than MAX_LINE_BYTES; `iter_lines` drops the rest of it."""


def detect_format(key: str, content_type: str | None) -> str | None:
    """The drop format of an object from its key's extension, else its content type; None when neither is known."""
    name = key.rsplit("/", 1)[-1].lower()
    dot = name.rfind(".")
    if dot > 0 and name[dot:] in _EXTENSIONS:
        return _EXTENSIONS[name[dot:]]
    if content_type:
        return _CONTENT_TYPES.get(content_type.split(";", 1)[0].strip().lower())
    return None


def parse(
    fmt: str, stream: BinaryIO | Iterable[bytes], *, fallback_timestamp: datetime | str | None = None
) -> Iterator[ParsedLine]:
    """Parse a drop of format `fmt` lazily. For jsonl and gitlog, `stream` may be a binary stream, which is split
    by `iter_lines`, or any iterable of byte lines. `fallback_timestamp` (the object's LastModified) dates JUnit
    suites that carry no timestamp of their own."""
    if fmt in (JSONL, GITLOG):
        lines = iter_lines(cast(BinaryIO, stream)) if hasattr(stream, "read") else stream
        return parse_jsonl(lines) if fmt == JSONL else parse_gitlog(lines)
    # JUnit XML and workflow-run JSON are parsed whole, from a binary stream only.
    if fmt == JUNIT:
        return parse_junit(cast(BinaryIO, stream), fallback_timestamp=fallback_timestamp)
    if fmt == WORKFLOW_RUNS:
        return parse_workflow_runs(cast(BinaryIO, stream))
    raise ValueError(f"unknown drop format {fmt!r}; expected one of {FORMATS}")


def iter_lines(
    stream: BinaryIO, *, chunk_size: int = 256 * 1024, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[bytes]:
    """The lines of a binary stream without their b"\\n", read in chunks. A line longer than `max_line_bytes` comes
    out as one OverlongLine (its start) and the rest of it is skipped, so one endless line cannot exhaust memory."""
    pending = bytearray()
    skipping = False  # inside an overlong line that has already been reported
    while chunk := stream.read(chunk_size):
        pieces = chunk.split(b"\n")
        for piece in pieces[:-1]:
            if skipping:
                skipping = False
                continue
            if pending:
                pending += piece
                piece = bytes(pending)
                pending.clear()
            yield OverlongLine(piece[:EXCERPT_CHARS]) if len(piece) > max_line_bytes else piece
        if not skipping:
            pending += pieces[-1]
            if len(pending) > max_line_bytes:
                yield OverlongLine(bytes(pending[:EXCERPT_CHARS]))
                pending.clear()
                skipping = True
    if pending:
        yield OverlongLine(bytes(pending[:EXCERPT_CHARS])) if len(pending) > max_line_bytes else bytes(pending)


# --- JSON lines -------------------------------------------------------------------------------------------------


def parse_jsonl(lines: Iterable[bytes]) -> Iterator[ParsedLine]:
    """One event object per line, passed through as sent. Blank lines are skipped; line numbers are 1-based."""
    for line_no, line in enumerate(lines, start=1):
        if isinstance(line, OverlongLine) or len(line) > MAX_LINE_BYTES:
            yield line_no, FormatError.at(line_no, f"line is longer than {MAX_LINE_BYTES} bytes", line)
            continue
        line = line.rstrip(b"\r\n" if isinstance(line, bytes) else "\r\n")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            yield line_no, FormatError.at(line_no, f"not valid JSON: {exc}", line)
            continue
        if not isinstance(obj, dict):
            yield line_no, FormatError.at(line_no, f"expected a JSON object, got {_json_type(obj)}", line)
            continue
        yield line_no, obj


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


# --- git log --numstat ------------------------------------------------------------------------------------------

_COMMIT_LINE = re.compile(r"commit ([0-9a-f]{4,64})(?:\s.*)?")
_HEADER_LINE = re.compile(r"([A-Z][A-Za-z]*):(?:\s(.*))?")
_AUTHOR = re.compile(r"(.*?)\s*<([^<>]*)>\s*")
_NUMSTAT_LINE = re.compile(r"(\d+|-)\t(\d+|-)\t(.+)")
_BRACE_RENAME = re.compile(r"\{([^{}]*) => ([^{}]*)\}")
_NOTES_LINE = re.compile(r"Notes(?: \(.*\))?:")
_GIT_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",  # --date=iso
    "%a %b %d %H:%M:%S %Y %z",
)  # git's default date format (always English)
_GIT_METRICS = ("commits", "lines_added", "lines_deleted", "files_changed")


class _Commit:
    """What has been read of one commit so far. Only the current commit is held."""

    __slots__ = (
        "line_no",
        "sha",
        "is_merge",
        "author_name",
        "author_email",
        "timestamp",
        "problem",
        "state",
        "added",
        "deleted",
        "files_changed",
        "binary_files",
        "files",
        "file_chars",
    )

    def __init__(self, line_no: int, sha: str) -> None:
        self.line_no = line_no
        self.sha = sha
        self.is_merge = False
        self.author_name: str | None = None
        self.author_email: str | None = None
        self.timestamp: str | None = None
        self.problem: str | None = None
        self.state = "header"  # header -> message -> files
        self.added = self.deleted = self.files_changed = self.binary_files = self.file_chars = 0
        self.files: list[str] = []

    def add_file(self, added: str, deleted: str, path: str) -> None:
        self.files_changed += 1
        if added == "-" or deleted == "-":  # git prints "-\t-\tpath" for a binary file
            self.binary_files += 1
        else:
            self.added += int(added)
            self.deleted += int(deleted)
        if len(self.files) < MAX_FILES_IN_METADATA and self.file_chars < _MAX_FILE_CHARS_IN_METADATA:
            resolved = _destination_path(path)
            self.files.append(resolved)
            self.file_chars += len(resolved)

    def events(self) -> Iterator[ParsedLine]:
        problem = self.problem or (
            "no Author line" if self.author_name is None else "no Date line" if self.timestamp is None else None
        )
        if problem:
            yield self.line_no, FormatError.at(self.line_no, f"commit {self.sha}: {problem}", f"commit {self.sha}")
            return
        values = (1, self.added, self.deleted, self.files_changed)
        for metric_type, value in zip(_GIT_METRICS, values, strict=False):
            yield (
                self.line_no,
                {
                    "event_id": f"git:{self.sha}:{metric_type}",
                    "metric_type": metric_type,
                    "value": value,
                    "unit": BUILT_IN_TYPES[metric_type],
                    "timestamp": self.timestamp,
                    "source": "git",
                    "metadata": {
                        "sha": self.sha,
                        "author_name": self.author_name,
                        "author_email": self.author_email,
                        "is_merge": self.is_merge,
                        "binary_files": self.binary_files,
                        "files": list(self.files),
                    },
                },
            )


def parse_gitlog(lines: Iterable[bytes]) -> Iterator[ParsedLine]:
    """Four events per commit of a `git log --numstat --date=iso-strict` listing, emitted as each commit ends.
    Every event carries the line number of its `commit` line. A line that fits nowhere is reported with its own
    number, and the commit it is in still counts."""
    commit: _Commit | None = None
    last_sha = None
    for line_no, raw in enumerate(lines, start=1):
        overlong = isinstance(raw, OverlongLine) or len(raw) > MAX_LINE_BYTES
        line = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).rstrip("\r\n")
        if line.startswith("commit ") and (match := _COMMIT_LINE.fullmatch(line)):
            if commit is not None and commit.sha != last_sha:
                yield from commit.events()
                last_sha = commit.sha
            commit = _Commit(line_no, match.group(1))
            continue
        if not line.strip():
            if commit is not None and commit.state == "header":
                commit.state = "message"
            continue
        if commit is not None and commit.state != "header" and line.startswith("    "):
            if commit.state == "message":
                continue  # the commit message, which may be overlong; a message line is indented by four spaces
        elif overlong:
            pass
        elif commit is None:
            yield line_no, FormatError.at(line_no, "expected 'commit <sha>'", line)
            continue
        elif commit.state == "header":
            if _read_header(commit, line):
                continue
        elif match := _NUMSTAT_LINE.fullmatch(line):
            commit.state = "files"
            commit.add_file(*match.groups())
            continue
        elif commit.state == "message" and _NOTES_LINE.fullmatch(line):
            continue  # git notes, printed after the message
        reason = f"line is longer than {MAX_LINE_BYTES} bytes" if overlong else "unexpected line in git log output"
        yield line_no, FormatError.at(line_no, reason, raw)
    if commit is not None and commit.sha != last_sha:
        yield from commit.events()


def _read_header(commit: _Commit, line: str) -> bool:
    """Take one `Key: value` header line of a commit; False when the line is not one."""
    match = _HEADER_LINE.fullmatch(line)
    if match is None:
        return False
    key, value = match.group(1), (match.group(2) or "").strip()
    if key == "Merge":
        commit.is_merge = True
    elif key == "Author":
        author = _AUTHOR.fullmatch(value)
        if author is None:
            commit.problem = f"cannot read author {value[:80]!r}"
        else:
            commit.author_name, commit.author_email = author.groups()
    elif key in ("Date", "AuthorDate"):
        moment = _git_date(value)
        if moment is None:
            commit.problem = f"cannot read date {value[:80]!r}: use --date=iso-strict"
        else:
            commit.timestamp = moment.isoformat()
    # Other headers (Commit:, CommitDate: of --pretty=fuller) carry nothing we count.
    return True


def _git_date(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
        for fmt in _GIT_DATE_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    return moment if moment is not None and moment.tzinfo is not None else None


def _destination_path(path: str) -> str:
    """The path a numstat entry leaves behind: `a/{x => y}/z` is `a/y/z`, `old => new` is `new`, and git's
    C-quoting of unusual names ("donn\\303\\251es.txt") is undone."""
    if " => " in path:
        brace = _BRACE_RENAME.search(path)
        if brace:
            path = re.sub("/{2,}", "/", path[: brace.start()] + brace.group(2) + path[brace.end() :])
        else:
            path = path.split(" => ", 1)[1]
    return _unquote_c(path)


_C_ESCAPES = {
    "n": b"\n",
    "t": b"\t",
    '"': b'"',
    "\\": b"\\",
    "a": b"\a",
    "b": b"\b",
    "f": b"\f",
    "r": b"\r",
    "v": b"\v",
}


def _unquote_c(path: str) -> str:
    if len(path) < 2 or path[0] != '"' or path[-1] != '"':
        return path
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char != "\\" or i + 1 == len(body):
            out += char.encode()
            i += 1
        elif re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out += _C_ESCAPES.get(body[i + 1], body[i + 1].encode())
            i += 2
    return out.decode("utf-8", "replace")


# --- JUnit XML --------------------------------------------------------------------------------------------------

_JUNIT_METRICS = ("tests", "test_failures", "test_errors", "test_skipped", "test_duration_seconds")


class _SuiteTally:
    """The suite's own <testcase> children, counted as they stream past, for when the suite omits its totals."""

    __slots__ = ("tests", "failures", "errors", "skipped", "seconds", "has_child_suite")

    def __init__(self) -> None:
        self.tests = self.failures = self.errors = self.skipped = 0
        self.seconds = 0.0
        self.has_child_suite = False

    def add_case(self, case: Any) -> None:
        self.tests += 1
        kinds = {_local_name(child.tag) for child in case}
        self.failures += "failure" in kinds
        self.errors += "error" in kinds
        self.skipped += "skipped" in kinds
        try:
            self.seconds += max(0.0, _junit_seconds(case.get("time")) or 0.0)
        except ValueError:
            pass  # a case's unreadable time only matters when the suite has no time of its own


def parse_junit(stream: BinaryIO, *, fallback_timestamp: datetime | str | None = None) -> Iterator[ParsedLine]:
    """Five events per `<testsuite>`, whether it is the root or inside `<testsuites>`, read with defusedxml so
    entity expansion (billion laughs) and external entities are refused. The `line_no` of a suite's events is the
    suite's 1-based position in the file, because the streaming parser does not report element lines. An XML error
    stops the file with one FormatError that carries the line where the parser stopped. Only innermost suites are
    counted, so a suite that nests suites (Ant aggregates) is not counted twice."""
    open_elements: list[Any] = []
    tallies: list[_SuiteTally] = []
    suites = 0
    try:
        for event, element in defused_iterparse(stream, events=("start", "end")):
            tag = _local_name(element.tag)
            if event == "start":
                open_elements.append(element)
                if tag == "testsuite":
                    if tallies:
                        tallies[-1].has_child_suite = True
                    tallies.append(_SuiteTally())
                continue
            open_elements.pop()
            if tag == "testcase":
                if tallies:
                    tallies[-1].add_case(element)
            elif tag == "testsuite":
                suites += 1
                tally = tallies.pop()
                if not tally.has_child_suite:
                    yield from _suite_events(suites, element, tally, fallback_timestamp)
            elif tag in ("system-out", "system-err"):
                element.text = None  # captured output can be megabytes, and it is not counted
                continue
            else:
                continue
            # Done with this case or suite: empty it and drop it from its parent so memory stays flat.
            element.clear()
            if open_elements and len(open_elements[-1]) and open_elements[-1][-1] is element:
                del open_elements[-1][-1]
    except DefusedXmlException as exc:
        yield (
            WHOLE_FILE,
            FormatError.at(
                WHOLE_FILE,
                f"refused XML: {type(exc).__name__} (entity declarations and external references are not allowed)",
            ),
        )
        return
    except ParseError as exc:
        line_no = exc.position[0] if getattr(exc, "position", None) else WHOLE_FILE
        yield line_no, FormatError.at(line_no, f"not well-formed XML: {exc}")
        return
    if suites == 0:
        yield WHOLE_FILE, FormatError.at(WHOLE_FILE, "no <testsuite> element: not a JUnit XML report")


def _suite_events(
    ordinal: int, suite: Any, tally: _SuiteTally, fallback_timestamp: datetime | str | None
) -> Iterator[ParsedLine]:
    name = suite.get("name") or ""
    hostname = suite.get("hostname")
    excerpt = f"<testsuite name={name!r} timestamp={suite.get('timestamp')!r}>"
    try:
        timestamp = _suite_timestamp(suite.get("timestamp"), fallback_timestamp)
        seconds = _junit_seconds(suite.get("time"))
        values = (
            _junit_count(suite.get("tests"), tally.tests),
            _junit_count(suite.get("failures"), tally.failures),
            _junit_count(suite.get("errors"), tally.errors),
            _junit_count(suite.get("skipped"), tally.skipped),
            round(tally.seconds, 6) if seconds is None else seconds,
        )
    except ValueError as exc:
        yield ordinal, FormatError.at(ordinal, f"testsuite {name!r}: {exc}", excerpt)
        return
    if values[4] < 0:
        yield ordinal, FormatError.at(ordinal, f"testsuite {name!r}: negative time", excerpt)
        return
    digest = hashlib.sha256(json.dumps([name, timestamp, hostname]).encode()).hexdigest()[:24]
    for metric_type, value in zip(_JUNIT_METRICS, values, strict=False):
        yield (
            ordinal,
            {
                "event_id": f"junit:{digest}:{metric_type}",
                "metric_type": metric_type,
                "value": value,
                "unit": BUILT_IN_TYPES[metric_type],
                "timestamp": timestamp,
                "source": "junit",
                "metadata": {"suite": name, "hostname": hostname},
            },
        )


def _suite_timestamp(raw: str | None, fallback: datetime | str | None) -> str:
    if raw:
        try:
            moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"timestamp {raw[:40]!r} is not ISO 8601") from None
    elif isinstance(fallback, datetime):
        moment = fallback
    elif isinstance(fallback, str):
        moment = datetime.fromisoformat(fallback.replace("Z", "+00:00"))
    else:
        raise ValueError("no timestamp attribute and no fallback timestamp")
    if moment.tzinfo is None:
        # JUnit's schema has no zone in `timestamp`, and CI runners write it in UTC, so we read it as UTC.
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def _junit_count(raw: str | None, counted: int) -> int:
    if raw is None or not raw.strip():
        return counted
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"count {raw[:20]!r} is not a whole number") from None
    if value < 0:
        raise ValueError(f"count {value} is negative")
    return value


def _junit_seconds(raw: str | None) -> float | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    # Ant formats time with the JVM's locale: "1,234.5" (grouping) or "0,5" (decimal comma).
    text = text.replace(",", "") if "." in text else text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"time {raw[:20]!r} is not a number of seconds") from None


def _local_name(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


# --- GitHub Actions workflow runs -------------------------------------------------------------------------------

# Conclusions that judge the code. A cancelled, skipped, neutral, stale or action_required run has no verdict, so
# it gets no pipeline_success event and does not drag the success ratio down. It still counts as a run, and a
# completed one still reports its duration, because that time was spent.
SUCCESS_BY_CONCLUSION = {"success": 1, "failure": 0, "timed_out": 0, "startup_failure": 0}
_RUN_METADATA = ("workflow_id", "name", "run_number", "event", "head_branch", "head_sha", "conclusion", "html_url")


class _MalformedRun(ValueError):
    pass


def parse_workflow_runs(stream: BinaryIO) -> Iterator[ParsedLine]:
    """Events for each run in one page of the "List workflow runs" API. The page is read whole, since GitHub pages
    hold at most 100 runs (about a megabyte). A run's `line_no` is its 1-based position in `workflow_runs`.
    Event ids are `gha:<run id>:<attempt>:<metric_type>`, so re-ingesting overlapping pages is exactly-once."""
    raw = stream.read(MAX_WORKFLOW_PAGE_BYTES + 1)
    if len(raw) > MAX_WORKFLOW_PAGE_BYTES:
        yield (
            WHOLE_FILE,
            FormatError.at(
                WHOLE_FILE, f"larger than {MAX_WORKFLOW_PAGE_BYTES} bytes: drop one API page (<= 100 runs) per file"
            ),
        )
        return
    try:
        listing = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        line_no = getattr(exc, "lineno", WHOLE_FILE)
        yield line_no, FormatError.at(line_no, f"not valid JSON: {exc}", raw[:EXCERPT_CHARS])
        return
    runs = listing.get("workflow_runs") if isinstance(listing, dict) else None
    if not isinstance(runs, list):
        yield (
            WHOLE_FILE,
            FormatError.at(WHOLE_FILE, 'expected {"total_count": N, "workflow_runs": [...]}', raw[:EXCERPT_CHARS]),
        )
        return
    for index, run in enumerate(runs, start=1):
        try:
            events = run_events(run)
        except _MalformedRun as exc:
            yield index, FormatError.at(index, f"workflow run {index}: {exc}", json.dumps(run, default=str))
            continue
        for event in events:
            yield index, event


def run_events(run: Any) -> list[dict[str, Any]]:
    if not isinstance(run, dict):
        raise _MalformedRun(f"expected an object, got {_json_type(run)}")
    run_id = run.get("id")
    if isinstance(run_id, bool) or not isinstance(run_id, int):
        raise _MalformedRun("id must be an integer")
    attempt = run.get("run_attempt", 1)  # absent from listings older than re-runs
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise _MalformedRun("run_attempt must be a positive integer")
    started = _github_time(run, "run_started_at") or _github_time(run, "created_at")
    if started is None:
        raise _MalformedRun("run_started_at or created_at is required")
    status = run.get("status")
    if not isinstance(status, str):
        raise _MalformedRun("status is required")
    conclusion = run.get("conclusion")
    values: list[tuple[str, float]] = [("pipeline_run", 1), ("pipeline_attempt", attempt)]
    if status == "completed":
        finished = _github_time(run, "updated_at")
        if finished is None:
            raise _MalformedRun("a completed run needs updated_at")
        values.append(("pipeline_duration_seconds", max(0.0, (finished - started).total_seconds())))
        if conclusion in SUCCESS_BY_CONCLUSION:
            values.append(("pipeline_success", SUCCESS_BY_CONCLUSION[conclusion]))
    # run_id and run_attempt let analytics tell re-runs of one run apart (flaky workflows).
    metadata = {key: run.get(key) for key in _RUN_METADATA} | {"run_id": run_id, "run_attempt": attempt}
    return [
        {
            "event_id": f"gha:{run_id}:{attempt}:{metric_type}",
            "metric_type": metric_type,
            "value": value,
            "unit": BUILT_IN_TYPES[metric_type],
            "timestamp": started.isoformat(),
            "source": "github_actions",
            "metadata": dict(metadata),
        }
        for metric_type, value in values
    ]


def _github_time(run: dict[str, Any], key: str) -> datetime | None:
    raw = run.get(key)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00")) if isinstance(raw, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _MalformedRun(f"{key} {str(raw)[:40]!r} is not an ISO 8601 time with a zone")
    return moment


def _excerpt(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    if isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw[: EXCERPT_CHARS * 4]).decode("utf-8", "replace")
    return raw[:EXCERPT_CHARS]
