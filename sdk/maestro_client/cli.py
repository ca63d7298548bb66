"""`maestro`: the Maestro ML command line, on top of `maestro_client.Client`.

Tables for people by default; `--json` (before or after the command) prints the API's JSON on stdout for
scripts, and errors as problem+json on stderr.

Exit codes (stable; scripts may rely on them):
  0  success
  1  usage error: bad option or argument, unreadable input file, malformed JSONL
  2  the API refused the request (4xx other than 401/403/404: 400, 409, 412, 413, 422, 429)
  3  authentication or permission: not logged in, bad credentials, expired session, 401, 403
  4  not found (404)
  5  server or network: 5xx, connection refused, timeout
  6  done, but the outcome is a failure: version rejected, job failed, audit chain broken, events rejected
  7  gave up waiting (--wait / version verification timed out)

Configuration: `--api-url` or MAESTRO_API_URL (default: the URL saved at login, else http://127.0.0.1:8000);
MAESTRO_API_KEY uses an API key instead of the saved login; MAESTRO_CONFIG_DIR moves the credentials file."""

from __future__ import annotations

import json
import mimetypes
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import click

from maestro_client.client import ArtifactType, Client, IntegrityError, SearchMode, WaitTimeout
from maestro_client.config import CredentialStore, StoredTokens, tokens_record
from maestro_client.errors import ApiError, MaestroError, NotLoggedIn, TransportError
from maestro_client.transport import ApiKey

EXIT_OK, EXIT_USAGE, EXIT_API, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_SERVER, EXIT_FAILED, EXIT_TIMEOUT = range(8)
DEFAULT_API_URL = "http://127.0.0.1:8000"
ARTIFACT_TYPES = ["feature_pipeline", "model_template", "schema", "notebook", "dataset", "model"]
# The API's enums, checked before a request is sent (tests/unit/test_sdk.py holds them equal to the server's).
PROBLEM_CLASSES = [
    "classification",
    "regression",
    "forecasting",
    "nlp",
    "computer_vision",
    "recommendation",
    "clustering",
    "anomaly_detection",
    "other",
]
PROJECT_STATUSES = ["active", "completed"]
MEMBER_ROLES = ["data_engineer", "ml_scientist", "ml_engineer", "analyst", "devops", "product"]
EXPERIENCE_LEVELS = ["junior", "mid", "senior", "principal"]
GIT_COMMIT_LINE = re.compile(r"^commit [0-9a-f]{7,64}\b")

_json_mode = False  # read by main() to print errors as problem+json


class State:
    def __init__(self, api_url: str | None, json_output: bool) -> None:
        self.api_url_option = api_url
        self.json = json_output
        self.store = CredentialStore()

    def api_url(self, record: dict[str, Any] | None = None) -> str:
        record = self.store.load() if record is None else record
        return (
            self.api_url_option or os.environ.get("MAESTRO_API_URL") or record.get("api_url") or DEFAULT_API_URL
        ).rstrip("/")

    def client(self, authenticated: bool = True) -> Client:
        record = self.store.load()
        client = Client(self.api_url(record))
        if not authenticated:
            return client
        api_key = os.environ.get("MAESTRO_API_KEY") or (
            record.get("api_key") if record.get("kind") == "api_key" else None
        )
        if api_key:
            client.transport.credentials = ApiKey(api_key)
        elif record.get("kind") == "tokens" and record.get("access_token"):
            client.transport.credentials = StoredTokens(self.store, record)
        else:
            raise NotLoggedIn("not logged in: run `maestro login` (or set MAESTRO_API_KEY)")
        return client

    def report(self, result: Any, sentence: str) -> None:
        """A command's outcome: the API's answer as JSON with --json, else one sentence for a person."""
        if self.json:
            emit_json(result)
        else:
            _stdout(sentence)


# ---------------------------------------------------------------- output
def _stdout(text: str = "") -> None:
    click.echo(text)


def emit_json(data: Any) -> None:
    _stdout(json.dumps(data, indent=2, default=str))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def emit_table(rows: Iterable[dict[str, Any]], columns: list[tuple[str, str]], title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for _, header in columns:
        table.add_column(header, overflow="fold")
    count = 0
    for row in rows:
        table.add_row(*[_cell(_dig(row, key)) for key, _ in columns])
        count += 1
    console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)
    if count:
        console.print(table)
    else:
        console.print("(none)")


def emit_fields(data: dict[str, Any], keys: list[tuple[str, str]] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, label in keys or [(k, k) for k in data]:
        table.add_row(label, _cell(_dig(data, key)))
    Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160).print(table)


def _dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _err(message: str) -> None:
    click.echo(message, err=True)


def _iso_moment(value: str | None) -> datetime | None:
    """`2026-01-31`, `2026-01-31T09:00` or a zoned time (the client sends one without a zone as UTC). A bad one is
    a usage error here, before any request."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date or time (e.g. 2026-01-31 or 2026-01-31T09:00Z)"
        ) from None


# Options several commands share, declared once.
from_option = click.option(
    "--from",
    "from_",
    callback=lambda _ctx, _param, value: _iso_moment(value),
    help="Start: an ISO date or time (UTC unless zoned).",
)
to_option = click.option(
    "--to",
    callback=lambda _ctx, _param, value: _iso_moment(value),
    help="End: an ISO date or time (UTC unless zoned).",
)

artifact_type_option = click.option(
    "--type", "artifact_type", type=click.Choice(ARTIFACT_TYPES), help="When ARTIFACT is a name."
)
yes_option = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")


def json_option(function: Callable) -> Callable:
    """`--json` after the command too (`maestro projects list --json`)."""

    def enable(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        global _json_mode
        if value:
            _json_mode = True
            state = ctx.find_object(State)
            if state is not None:
                state.json = True
        return value

    return click.option(
        "--json",
        "json_flag",
        is_flag=True,
        expose_value=False,
        callback=enable,
        is_eager=True,
        help="Print JSON for scripts.",
    )(function)


pass_state = click.make_pass_decorator(State)


# ---------------------------------------------------------------- root
@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="\b\n" + __doc__.split("\n\n", 2)[2].replace("\n\n", "\n\n\b\n"),
)
@click.option("--api-url", envvar="MAESTRO_API_URL", help="API base URL (env MAESTRO_API_URL).")
@click.option("--json", "json_output", is_flag=True, help="Print JSON for scripts.")
@click.version_option("0.1.0", prog_name="maestro")
@click.pass_context
def cli(ctx: click.Context, api_url: str | None, json_output: bool) -> None:
    """Maestro ML from the command line."""
    global _json_mode
    _json_mode = _json_mode or json_output
    ctx.obj = State(api_url, _json_mode)


# ---------------------------------------------------------------- auth
@cli.command()
@click.option("--email", help="Your account's email (prompted when absent).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (first line).")
@click.option("--api-key-stdin", is_flag=True, help="Store an API key read from stdin instead of logging in.")
@json_option
@pass_state
def login(state: State, email: str | None, password_stdin: bool, api_key_stdin: bool) -> None:
    """Log in and keep the tokens in the config dir (0600); they are refreshed automatically."""
    api_url = state.api_url()
    if api_key_stdin:
        key = sys.stdin.readline().strip()
        if not key:
            raise click.UsageError("no API key on stdin")
        client = Client(api_url, api_key=key)
        me = client.me()
        state.store.save(
            {
                "api_url": api_url,
                "kind": "api_key",
                "api_key": key,
                "tenant_id": me["tenant"]["id"],
                "role": me.get("role"),
            }
        )
        return _report_login(state, me)
    if not email:
        email = click.prompt("Email")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True)
    _keep_user_login(state, api_url, Client(api_url).auth_login(email, password))


@cli.command()
@click.option("--tenant-name", required=True, help="Your organisation's name (a new tenant).")
@click.option("--email", required=True, help="The first admin's email.")
@click.option("--name", required=True, help="The first admin's display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (first line).")
@json_option
@pass_state
def signup(state: State, tenant_name: str, email: str, name: str, password_stdin: bool) -> None:
    """Create a tenant and its first admin (stages where signup is open) and log in as that admin."""
    password = (
        sys.stdin.readline().rstrip("\r\n")
        if password_stdin
        else click.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    api_url = state.api_url()
    _keep_user_login(state, api_url, Client(api_url).auth_signup(tenant_name, email, password, name), tenant_name)


def _keep_user_login(state: State, api_url: str, body: dict[str, Any], tenant_name: str | None = None) -> None:
    """Save a login's (or a signup's) tokens and report who is logged in."""
    state.store.save(tokens_record(body, api_url))
    tenant = {"id": body["user"].get("tenant_id")} | ({"name": tenant_name} if tenant_name else {})
    _report_login(
        state,
        {
            "principal_type": "user",
            "id": body["user"]["id"],
            "role": body["user"].get("role"),
            "tenant": tenant,
            "user": body["user"],
        },
    )


def _report_login(state: State, me: dict[str, Any]) -> None:
    if state.json:
        return emit_json({**me, "credentials_file": str(state.store.path)})
    who = (me.get("user") or {}).get("email") or me.get("id")
    _stdout(f"Logged in to {state.api_url()} as {who} ({me.get('role')}, tenant {me['tenant']['id']}).")
    _stdout(f"Credentials saved in {state.store.path} (mode 0600).")


@cli.command()
@json_option
@pass_state
def logout(state: State) -> None:
    """End the session on the server and forget the saved credentials."""
    record = state.store.load()
    if record.get("kind") == "tokens":
        try:
            state.client().auth_logout()
        except (ApiError, TransportError):
            pass  # already ended or unreachable: forgetting the tokens is what matters here
    removed = state.store.clear()
    state.report({"logged_out": removed}, "Logged out." if removed else "Not logged in.")


@cli.command()
@json_option
@pass_state
def whoami(state: State) -> None:
    """Who the saved credentials belong to."""
    me = state.client().me()
    if state.json:
        return emit_json(me)
    emit_fields(
        me,
        [
            ("principal_type", "type"),
            ("id", "id"),
            ("user.email", "email"),
            ("role", "role"),
            ("tenant.id", "tenant"),
            ("tenant.name", "tenant name"),
        ],
    )


# ---------------------------------------------------------------- projects
@cli.group()
def projects() -> None:
    """Projects: list, show, create, update, delete, import history, outcomes and members."""


PROJECT_COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("problem_class", "Problem class"),
    ("status", "Status"),
    ("complexity_score", "Complexity"),
    ("team_size", "Team"),
    ("success_score", "Success"),
]


@projects.command("list")
@click.option("--status", type=click.Choice(PROJECT_STATUSES), help="Only projects in this status.")
@click.option("--problem-class", type=click.Choice(PROBLEM_CLASSES), help="Only projects of this class.")
@click.option("--limit", type=click.IntRange(1), help="At most this many projects (default: all).")
@json_option
@pass_state
def projects_list(state: State, status: str | None, problem_class: str | None, limit: int | None) -> None:
    """List projects (every page)."""
    page = state.client().list_projects(
        status=status, problem_class=problem_class, limit=min(limit, 1000) if limit else None
    )
    items = page.all(max_items=limit)
    if state.json:
        return emit_json({"items": items})
    emit_table(items, PROJECT_COLUMNS)


def _resolve_project(client: Client, project: str) -> dict[str, Any]:
    """By id, else by exact name (a name two projects share is refused: use the id)."""
    return _by_id_or_name(
        "project",
        project,
        client.get_project,
        lambda name: [p for p in client.list_projects(limit=1000).all() if p.get("name") == name],
        lambda named: f"use the id ({named[0]['id']}, ...)",
    )


def _by_id_or_name(
    kind: str,
    reference: str,
    by_id: Callable[[str], dict[str, Any]],
    by_name: Callable[[str], list[dict[str, Any]]],
    ambiguity_hint: Callable[[list[dict[str, Any]]], str],
) -> dict[str, Any]:
    """The object with that id, else the one with that exact name. Ids have no fixed form (the demo's are
    `art-036` and `proj-0001`), so the id is always tried first."""
    from maestro_client.errors import NotFound

    try:
        return by_id(reference)
    except NotFound:
        pass
    named = by_name(reference)
    if len(named) > 1:
        raise click.UsageError(f"{len(named)} {kind}s are named {reference!r}: {ambiguity_hint(named)}")
    if not named:
        raise NotFound(
            404, {"title": "Not found", "status": 404, "detail": f"no {kind} has the id or name {reference!r}"}
        )
    return named[0]


PROJECT_FIELDS = [
    ("id", "id"),
    ("name", "name"),
    ("description", "description"),
    ("problem_class", "problem class"),
    ("status", "status"),
    ("complexity_score", "complexity"),
    ("team_size", "team size"),
    ("start_date", "start date"),
    ("repositories", "repositories"),
    ("outcome.model_performance", "model performance"),
    ("outcome.business_impact_usd", "business impact (USD)"),
    ("outcome.duration_days", "duration (days)"),
    ("outcome.compute_cost_usd", "compute cost (USD)"),
    ("outcome.completed_at", "completed at"),
    ("success_score", "success score"),
    ("version", "version"),
]


@projects.command("show")
@click.argument("project")
@json_option
@pass_state
def projects_show(state: State, project: str) -> None:
    """Show one project, by id or by name."""
    found = _resolve_project(state.client(), project)
    if state.json:
        return emit_json(found)
    emit_fields(found, PROJECT_FIELDS)


@projects.command("update")
@click.argument("project")
@click.option("--name", help="A new name.")
@click.option("--description", help="A new description.")
@click.option("--complexity-score", "--complexity", type=click.FloatRange(1, 10), help="1 to 10.")
@click.option("--team-size", type=click.IntRange(1, 500), help="1 to 500.")
@click.option("--start-date", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD.")
@click.option("--repository", "repositories", multiple=True, help="owner/repo (repeatable; replaces the list).")
@json_option
@pass_state
def projects_update(
    state: State,
    project: str,
    name: str | None,
    description: str | None,
    complexity_score: float | None,
    team_size: int | None,
    start_date: Any,
    repositories: tuple[str, ...],
) -> None:
    """Change a project's fields (by id or name); only the options given change, guarded by its version."""
    client = state.client()
    found = _resolve_project(client, project)
    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "name": name,
            "description": description,
            "complexity_score": complexity_score,
            "team_size": team_size,
            "start_date": start_date.date().isoformat() if start_date else None,
            "repositories": list(repositories) or None,
        }.items()
        if v is not None
    }
    if not changes:
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    updated = client.update_project(found["id"], if_match=found["version"], **changes)
    state.report(updated, f"Updated project {updated['id']} ({', '.join(changes)}).")


@projects.command("delete")
@click.argument("project")
@yes_option
@json_option
@pass_state
def projects_delete(state: State, project: str, yes: bool) -> None:
    """Delete a project (by id or name)."""
    client = state.client()
    found = _resolve_project(client, project)
    if not yes and not state.json:
        click.confirm(f"Delete project {found['id']} ({found['name']})?", abort=True, err=True)
    answer = client.delete_project(found["id"])
    state.report(answer, f"Deleted project {found['id']} ({found['name']}).")


@projects.command("outcome")
@click.argument("project")
@click.option("--model-performance", type=click.FloatRange(0, 1), required=True, help="0 to 1.")
@click.option("--business-impact-usd", type=float, required=True, help="USD the project brought.")
@click.option("--duration-days", type=click.FloatRange(0, 36_500, min_open=True), required=True, help="Days it ran.")
@click.option("--compute-cost-usd", type=click.FloatRange(0), required=True, help="USD of compute.")
@click.option(
    "--completed-at",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="When it finished (UTC; default now).",
)
@json_option
@pass_state
def projects_outcome(
    state: State,
    project: str,
    model_performance: float,
    business_impact_usd: float,
    duration_days: float,
    compute_cost_usd: float,
    completed_at: Any,
) -> None:
    """Record how a project turned out (closes it and scores it against your history)."""
    from datetime import UTC, datetime

    client = state.client()
    found = _resolve_project(client, project)
    moment = completed_at.replace(tzinfo=UTC) if completed_at else datetime.now(UTC)
    updated = client.record_outcome(
        found["id"],
        model_performance=model_performance,
        business_impact_usd=business_impact_usd,
        duration_days=duration_days,
        compute_cost_usd=compute_cost_usd,
        completed_at=moment,
    )
    state.report(
        updated, f"Recorded the outcome of {updated['id']}: success score {_cell(updated.get('success_score'))}."
    )


@projects.group("members")
def projects_members() -> None:
    """A project's team: add, list, remove members."""


MEMBER_COLUMNS = [
    ("id", "ID"),
    ("display_name", "Name"),
    ("role", "Role"),
    ("experience_level", "Level"),
    ("contribution_hours", "Hours/week"),
    ("user_id", "User"),
]


@projects_members.command("add")
@click.argument("project")
@click.option("--name", "display_name", required=True, help="The member's display name.")
@click.option("--role", type=click.Choice(MEMBER_ROLES), required=True, help="Their role on the project.")
@click.option("--level", "experience_level", type=click.Choice(EXPERIENCE_LEVELS), required=True, help="Experience.")
@click.option("--hours", "contribution_hours", type=click.FloatRange(0, 100_000), help="Hours per week.")
@click.option("--user-id", help="The member's user id, when they have an account.")
@json_option
@pass_state
def projects_members_add(
    state: State,
    project: str,
    display_name: str,
    role: str,
    experience_level: str,
    contribution_hours: float | None,
    user_id: str | None,
) -> None:
    """Add a member to a project's team."""
    client = state.client()
    found = _resolve_project(client, project)
    member = client.add_member(
        found["id"],
        display_name=display_name,
        role=role,
        experience_level=experience_level,
        user_id=user_id,
        contribution_hours=contribution_hours,
    )
    state.report(member, f"Added {member['display_name']} ({member['role']}) as {member['id']}.")


@projects_members.command("list")
@click.argument("project")
@json_option
@pass_state
def projects_members_list(state: State, project: str) -> None:
    """List a project's members (every page)."""
    client = state.client()
    items = client.list_members(_resolve_project(client, project)["id"]).all()
    if state.json:
        return emit_json({"items": items})
    emit_table(items, MEMBER_COLUMNS)


@projects_members.command("remove")
@click.argument("project")
@click.argument("member_id")
@json_option
@pass_state
def projects_members_remove(state: State, project: str, member_id: str) -> None:
    """Remove a member (by member id, see `members list`)."""
    client = state.client()
    answer = client.remove_member(_resolve_project(client, project)["id"], member_id)
    state.report(answer, f"Removed member {member_id}.")


def _count_rows(data: bytes, file_format: str) -> int:
    import csv
    import io

    text = data.decode("utf-8-sig", errors="replace")
    if file_format == "csv":
        return sum(1 for _ in csv.DictReader(io.StringIO(text, newline="")))
    return sum(1 for line in text.splitlines() if line.strip())


IMPORT_POLL_SECONDS = 0.5


@projects.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and resolve every row; write nothing.")
@click.option("--timeout", type=float, default=900, show_default=True, help="Seconds to wait for the import.")
@json_option
@pass_state
def projects_import(state: State, path: Path, dry_run: bool, timeout: float) -> None:
    """Import past and running projects from a CSV or JSONL file (columns and fields: docs/project-import.md).

    \b
    Each row needs an external_id (your own id): importing the same file again changes nothing.
    maestro projects import history.csv --dry-run
    maestro projects import history.csv"""
    lowered = path.name.lower()
    file_format = "csv" if lowered.endswith(".csv") else "jsonl" if lowered.endswith((".jsonl", ".ndjson")) else None
    if file_format is None:
        raise click.UsageError("the file must be .csv or .jsonl")
    data = path.read_bytes()
    total = _count_rows(data, file_format)
    client = state.client()
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "-", path.name).lstrip("._-") or f"import.{file_format}"
    upload = client.upload_import(safe_name, data, dry_run=dry_run)
    deadline = time.monotonic() + timeout
    with _RowProgress(state, "validating" if dry_run else "importing", total) as bar:
        while True:
            status = client.get_import_upload(upload["id"])
            bar.update(status.get("rows") or 0)
            if status["state"] in ("succeeded", "failed"):
                break
            if time.monotonic() > deadline:
                if state.json:
                    emit_json(status)
                else:
                    _err(f"gave up waiting after {timeout:.0f} s; `maestro` can be asked again for {upload['id']}")
                click.get_current_context().exit(EXIT_TIMEOUT)
            time.sleep(IMPORT_POLL_SECONDS)
    counts = status.get("counts") or {}
    if state.json:
        emit_json(status)
    else:
        _stdout(f"{'Dry run of ' if dry_run else 'Imported '}{path.name}: {status.get('rows', 0)} rows")
        emit_table(
            [{"result": k, "rows": counts.get(k, 0)} for k in ("created", "updated", "unchanged", "rejected_count")],
            [("result", "Result"), ("rows", "Rows")],
        )
        if status.get("first_errors"):
            emit_table(
                status["first_errors"],
                [("index", "Row"), ("external_id", "external_id"), ("reason", "Reason")],
                title="Refused rows (first 20)",
            )
        if status.get("reason"):
            _err(status["reason"])
    if status["state"] == "failed" or counts.get("rejected_count"):
        click.get_current_context().exit(EXIT_FAILED)


class _StderrBar:
    """A rich progress bar on stderr, hidden with --json; subclasses name its columns and what moves it."""

    def __init__(self, state: State, description: str, total: float | None, **fields: Any) -> None:
        self.enabled, self.description, self.total, self.fields = not state.json, description, total, fields
        self.progress: Any = None
        self.task: Any = None

    def columns(self) -> list[Any]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(*self.columns(), console=Console(stderr=True))
            self.progress.__enter__()
            self.task = self.progress.add_task(self.description, total=self.total, **self.fields)
        return self

    def _move(self, **changes: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, **changes)

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)


class _RowProgress(_StderrBar):
    """Rows processed out of the file's rows."""

    def columns(self) -> list[Any]:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

        return [
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
        ]

    def update(self, done: int) -> None:
        self._move(completed=done)


@projects.command("create")
@click.option("--name", required=True, help="The project's name.")
@click.option("--problem-class", type=click.Choice(PROBLEM_CLASSES), required=True, help="What kind of ML problem.")
@click.option("--complexity-score", "--complexity", type=click.FloatRange(1, 10), required=True, help="1 to 10.")
@click.option("--team-size", type=click.IntRange(1, 500), required=True, help="People on the project.")
@click.option("--description", help="What the project is about (used to match artifacts and similar projects).")
@click.option("--repository", "repositories", multiple=True, help="owner/repo (repeatable)")
@json_option
@pass_state
def projects_create(
    state: State,
    name: str,
    problem_class: str,
    complexity_score: float,
    team_size: int,
    description: str | None,
    repositories: tuple[str, ...],
) -> None:
    """Create a project."""
    project = state.client().create_project(
        name,
        problem_class,
        complexity_score,
        team_size,
        description=description,
        repositories=list(repositories) or None,
    )
    state.report(project, f"Created project {project['id']} ({project['name']}).")


# ---------------------------------------------------------------- artifacts
@cli.group()
def artifacts() -> None:
    """The artifact library: search, show, push and pull versions."""


ARTIFACT_COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("type", "Type"),
    ("latest_version", "Latest"),
    ("impact_score", "Impact"),
    ("score", "Score"),
    ("tags", "Tags"),
]


@artifacts.command("search")
@click.argument("query", required=False)
@click.option("--type", "artifact_type", type=click.Choice(ARTIFACT_TYPES), help="Only artifacts of this type.")
@click.option("--tag", "tags", multiple=True, help="Only artifacts with this tag (repeatable: all of them).")
@click.option("--mode", type=click.Choice(["keyword", "semantic", "hybrid"]), help="How the query is matched.")
@click.option("--include-deprecated", is_flag=True, help="Include deprecated artifacts.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="At most this many.")
@json_option
@pass_state
def artifacts_search(
    state: State,
    query: str | None,
    artifact_type: ArtifactType | None,
    tags: tuple[str, ...],
    mode: SearchMode | None,
    include_deprecated: bool,
    limit: int,
) -> None:
    """Search artifacts by keyword or meaning (hybrid by default with a query)."""
    page = state.client().search_artifacts(
        query,
        mode=mode,
        type=artifact_type,
        tags=list(tags) or None,
        include_deprecated=include_deprecated or None,
        limit=limit,
    )
    items = page.all(max_items=limit)
    if state.json:
        return emit_json({"items": items, **page.extra})
    if page.extra.get("degraded"):
        _err(f"note: {page.extra['degraded']}")
    emit_table(items, ARTIFACT_COLUMNS)


@artifacts.command("show")
@click.argument("artifact")
@artifact_type_option
@json_option
@pass_state
def artifacts_show(state: State, artifact: str, artifact_type: ArtifactType | None) -> None:
    """An artifact and its versions (ARTIFACT is an id, or a name)."""
    client = state.client()
    found = _resolve_artifact(client, artifact, artifact_type)
    versions = client.list_versions(found["id"]).all()
    if state.json:
        return emit_json({**found, "versions": versions})
    emit_fields(
        found,
        [
            ("id", "id"),
            ("name", "name"),
            ("type", "type"),
            ("description", "description"),
            ("tags", "tags"),
            ("latest_version", "latest"),
            ("impact_score", "impact"),
            ("deprecated.reason", "deprecated"),
            ("deprecated.replacement_id", "replaced by"),
        ],
    )
    emit_table(
        versions,
        [
            ("version", "Version"),
            ("status", "Status"),
            ("size_bytes", "Bytes"),
            ("sha256", "SHA-256"),
            ("created_at", "Created"),
        ],
    )


@artifacts.command("update")
@click.argument("artifact")
@artifact_type_option
@click.option("--description", help="A new description.")
@click.option("--tag", "tags", multiple=True, help="Tags (repeatable; replaces the list).")
@click.option("--clear-tags", is_flag=True, help="Remove every tag.")
@json_option
@pass_state
def artifacts_update(
    state: State,
    artifact: str,
    artifact_type: ArtifactType | None,
    description: str | None,
    tags: tuple[str, ...],
    clear_tags: bool,
) -> None:
    """Change an artifact's description or tags (by id or name), guarded by the revision just read."""
    if tags and clear_tags:
        raise click.UsageError("--tag and --clear-tags exclude each other")
    changes: dict[str, Any] = {}
    if description is not None:
        changes["description"] = description
    if tags or clear_tags:
        changes["tags"] = list(tags)
    if not changes:
        raise click.UsageError("nothing to change: give --description, --tag or --clear-tags")
    client = state.client()
    found = _resolve_artifact(client, artifact, artifact_type)
    updated = client.update_artifact(found["id"], if_match=found["revision"], **changes)
    state.report(updated, f"Updated artifact {updated['id']} ({', '.join(changes)}).")


@artifacts.command("deprecate")
@click.argument("artifact")
@artifact_type_option
@click.option("--reason", help="Why it should no longer be used (required unless --undo).")
@click.option("--replacement", help="The artifact to use instead (id, or a name of the same type).")
@click.option("--undo", is_flag=True, help="Take the deprecation back.")
@json_option
@pass_state
def artifacts_deprecate(
    state: State,
    artifact: str,
    artifact_type: ArtifactType | None,
    reason: str | None,
    replacement: str | None,
    undo: bool,
) -> None:
    """Deprecate an artifact: search leaves it out (unless --include-deprecated), pulls and usages still work."""
    if undo and (reason or replacement):
        raise click.UsageError("--undo takes neither --reason nor --replacement")
    if not undo and not reason:
        raise click.UsageError("give --reason (or --undo)")
    client = state.client()
    found = _resolve_artifact(client, artifact, artifact_type)
    deprecation = None
    if not undo:
        replacement_id = _resolve_artifact(client, replacement, artifact_type)["id"] if replacement else None
        deprecation = {"reason": reason, "replacement_id": replacement_id}
    updated = client.update_artifact(found["id"], if_match=found["revision"], deprecated=deprecation)
    if deprecation is None:
        sentence = f"Artifact {updated['id']} ({updated['name']}) is no longer deprecated."
    else:
        instead = f"; use {deprecation['replacement_id']} instead" if deprecation["replacement_id"] else ""
        sentence = f"Deprecated artifact {updated['id']} ({updated['name']}){instead}."
    state.report(updated, sentence)


@artifacts.command("delete")
@click.argument("artifact")
@artifact_type_option
@yes_option
@json_option
@pass_state
def artifacts_delete(state: State, artifact: str, artifact_type: ArtifactType | None, yes: bool) -> None:
    """Delete an artifact (by id or name): it leaves search at once and its name is free again."""
    client = state.client()
    found = _resolve_artifact(client, artifact, artifact_type)
    if not yes and not state.json:
        click.confirm(f"Delete artifact {found['id']} ({found['name']}, {found['type']})?", abort=True, err=True)
    answer = client.delete_artifact(found["id"])
    state.report(answer, f"Deleted artifact {found['id']} ({found['name']}).")


def _resolve_artifact(client: Client, artifact: str, artifact_type: ArtifactType | None) -> dict[str, Any]:
    """By id, else by exact name (and type; a name artifacts of two types share needs --type or the id)."""
    return _by_id_or_name(
        f"artifact of type {artifact_type}" if artifact_type else "artifact",
        artifact,
        client.get_artifact,
        lambda name: _named_artifacts(client, name, artifact_type),
        lambda named: f"{', '.join(sorted(a['type'] for a in named))}; give --type or the id",
    )


def _find_by_name(client: Client, name: str, artifact_type: ArtifactType | None) -> dict[str, Any] | None:
    named = _named_artifacts(client, name, artifact_type)
    return named[0] if named else None


def _named_artifacts(client: Client, name: str, artifact_type: ArtifactType | None) -> list[dict[str, Any]]:
    page = client.search_artifacts(name, mode="keyword", type=artifact_type, include_deprecated=True, limit=100)
    return [
        item
        for item in page.all(max_items=500)
        if item.get("name") == name and (artifact_type is None or item.get("type") == artifact_type)
    ]


class _Progress(_StderrBar):
    """Bytes sent or received out of the total (when known)."""

    def columns(self) -> list[Any]:
        from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn, TransferSpeedColumn

        return [
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        ]

    def set_total(self, total: int | None) -> None:
        self._move(total=total)

    def advance(self, amount: int) -> None:
        self._move(advance=amount)


class _JobProgress(_StderrBar):
    """A long job's progress (its `progress` 0..1 and latest message)."""

    def __init__(self, state: State, description: str) -> None:
        super().__init__(state, description, 1.0, message="")

    def columns(self) -> list[Any]:
        from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

        return [
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[message]}"),
        ]

    def update(self, job: dict[str, Any]) -> None:
        progress = job.get("progress")
        detail = job["detail"] if isinstance(job.get("detail"), dict) else {}
        message = f"{job.get('state', '')}: {detail.get('message', '')}".rstrip(": ")
        self._move(completed=float(progress) if isinstance(progress, (int, float)) else 0.0, message=message)


@artifacts.command("push")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--type", "artifact_type", type=click.Choice(ARTIFACT_TYPES), required=True, help="The artifact's type.")
@click.option("--version", "version", required=True, help="SemVer, e.g. 1.2.0")
@click.option("--name", help="Artifact name (default: the file name). Created when absent.")
@click.option("--artifact", "artifact_id", help="Push to this artifact id instead of finding it by name.")
@click.option("--description", help="Version description.")
@click.option("--tag", "tags", multiple=True, help="Tags for a newly created artifact (repeatable).")
@click.option("--content-type", help="Default: guessed from the file name, else application/octet-stream.")
@click.option(
    "--derived-from",
    "derived_from",
    multiple=True,
    metavar="ARTIFACT_ID@VERSION",
    help="A parent version (repeatable).",
)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the platform verified it.")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for `ready`.")
@click.option(
    "--to-onnx",
    is_flag=True,
    help="PATH is a pickled scikit-learn model: convert it to ONNX here (skl2onnx; the `onnx` extra), check its "
    "predictions on --sample, and push the graph as a servable model version.",
)
@click.option(
    "--sample",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="With --to-onnx: a CSV of input rows with a header of feature names (signature and parity check).",
)
@json_option
@pass_state
def artifacts_push(
    state: State,
    path: Path,
    artifact_type: ArtifactType,
    version: str,
    name: str | None,
    artifact_id: str | None,
    description: str | None,
    tags: tuple[str, ...],
    content_type: str | None,
    derived_from: tuple[str, ...],
    wait: bool,
    timeout: float,
    to_onnx: bool,
    sample: Path | None,
) -> None:
    """Upload PATH as a new version: SHA-256, presigned upload with a progress bar, then wait for `ready`."""
    if to_onnx:
        path, content_type = _convert_to_onnx(state, path, sample, artifact_type)
        name = name or path.name
    elif sample is not None:
        raise click.UsageError("--sample goes with --to-onnx")
    parents = []
    for parent in derived_from:
        if "@" not in parent:
            raise click.BadParameter("expected ARTIFACT_ID@VERSION", param_hint="--derived-from")
        parent_id, parent_version = parent.rsplit("@", 1)
        parents.append({"artifact_id": parent_id, "version": parent_version})
    client = state.client()
    name = name or path.name
    if artifact_id is None:
        found = _find_by_name(client, name, artifact_type)
        if found is None:
            found = client.create_artifact(
                name, artifact_type, tags=list(tags) or None, metadata={"file_name": path.name}
            )
            if not state.json:
                _err(f"Created artifact {found['id']} ({name}, {artifact_type}).")
        artifact_id = found["id"]
    # `.onnx` is an ONNX graph: a `model` version of that type is servable (POST .../predict).
    guessed = "application/onnx" if path.suffix.lower() == ".onnx" else mimetypes.guess_type(path.name)[0]
    content_type = content_type or guessed or "application/octet-stream"
    with _Progress(state, f"{path.name} {version}", path.stat().st_size) as bar:
        view = client.upload_version(
            artifact_id,
            path,
            version,
            content_type=content_type,
            description=description,
            derived_from=parents or None,
            wait=wait,
            timeout=timeout,
            progress=bar.advance,
        )
    if state.json:
        emit_json(view)
    else:
        reason = f" ({view['status_reason']})" if view.get("status_reason") else ""
        _stdout(f"{artifact_id} {version}: {view.get('status')}{reason} sha256={view.get('sha256')}")
    if view.get("status") == "rejected":
        click.get_current_context().exit(EXIT_FAILED)


def _convert_to_onnx(state: State, path: Path, sample: Path | None, artifact_type: ArtifactType) -> tuple[Path, str]:
    """Convert a pickled scikit-learn model to a checked ONNX file beside it; (its path, application/onnx)."""
    from maestro_client import onnx_convert

    if sample is None:
        raise click.UsageError("--to-onnx needs --sample CSV (input rows with a header of feature names)")
    if artifact_type != "model":
        raise click.UsageError("--to-onnx pushes a servable model: use --type model")
    try:
        feature_names, rows = onnx_convert.read_sample(sample)
        converted = onnx_convert.convert(onnx_convert.load_model(path), feature_names, rows)
    except onnx_convert.ConversionError as error:
        _err(f"error: {error}")
        click.get_current_context().exit(EXIT_FAILED)
    target = path.with_suffix(".onnx")
    target.write_bytes(converted.onnx_bytes)
    if not state.json:
        _err(
            f"Converted {path.name} to {target.name}: {len(feature_names)} features, parity on "
            f"{converted.rows_checked} rows (max difference {converted.max_abs_difference:.2g}, allowed "
            f"rtol {onnx_convert.PARITY_RTOL} atol {onnx_convert.PARITY_ATOL})."
        )
    return target, "application/onnx"


@artifacts.command("use")
@click.argument("artifact")
@click.option("--type", "artifact_type", type=click.Choice(ARTIFACT_TYPES), help="Disambiguates a name.")
@click.option("--project", "project", required=True, help="The project (id or name) that used it.")
@click.option("--version", "version", required=True, help="The version it used (or @alias).")
@click.option("--context", help="A note on how it was used.")
@json_option
@pass_state
def artifacts_use(
    state: State, artifact: str, artifact_type: ArtifactType | None, project: str, version: str, context: str | None
) -> None:
    """Record that a project used a version of an artifact (ARTIFACT: id or name); recording it again is a no-op."""
    client = state.client()
    found = _resolve_artifact(client, artifact, artifact_type)
    answer = client.record_usage(found["id"], _resolve_project(client, project)["id"], version, context)
    if state.json:
        return emit_json(answer)
    usage = answer.get("usage") or answer
    said = "Recorded" if answer.get("created", True) else "Already recorded"
    _stdout(f"{said}: {usage.get('project_id')} used {found['name']} {usage.get('version', version)}.")


@artifacts.command("pull")
@click.argument("artifact")
@click.option("--version", "version", help="Default: the latest version.")
@artifact_type_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=True, path_type=Path),
    help="File or directory to write (default: the artifact's file name in the current directory).",
)
@json_option
@pass_state
def artifacts_pull(
    state: State, artifact: str, version: str | None, artifact_type: ArtifactType | None, output: Path | None
) -> None:
    """Download a verified version (ARTIFACT is an id, or a name; NAME@ALIAS pulls what the alias names, e.g.
    churn@champion) and check its SHA-256."""
    client = state.client()
    artifact, alias = _split_alias(artifact)
    if alias and version:
        raise click.UsageError("give either NAME@ALIAS or --version, not both")
    found = _resolve_artifact(client, artifact, artifact_type)
    if alias:
        version = client.get_alias(found["id"], alias)["version"]
    version = version or found.get("latest_version")
    if not version:
        raise click.UsageError(f"artifact {found['id']} has no ready version; give --version")
    file_name = (found.get("metadata") or {}).get("file_name") or _safe_name(found.get("name") or found["id"])
    target = output or Path(file_name)
    if target.is_dir():
        target = target / file_name
    with _Progress(state, f"{file_name} {version}", None) as bar:
        link = client.download_version(found["id"], version, target, progress=bar.advance, on_size=bar.set_total)
    result = {
        "artifact_id": found["id"],
        "version": version,
        "path": str(target),
        "sha256": link.get("sha256"),
        "size_bytes": target.stat().st_size,
    }
    state.report(result, f"Wrote {target} ({result['size_bytes']} bytes, sha256 {result['sha256']} verified).")


def _split_alias(reference: str) -> tuple[str, str | None]:
    """`churn@champion` -> ("churn", "champion"); a reference without `@` has no alias."""
    if "@" not in reference:
        return reference, None
    artifact, alias = reference.rsplit("@", 1)
    if not artifact or not alias:
        raise click.BadParameter("expected NAME@ALIAS, e.g. churn@champion", param_hint="ARTIFACT")
    return artifact, alias


# ---------------------------------------------------------------- aliases
@artifacts.group("alias")
def artifacts_alias() -> None:
    """Aliases: names like `champion` for a ready version (`NAME@champion` wherever a version goes)."""


ALIAS_COLUMNS = [
    ("alias", "Alias"),
    ("version", "Version"),
    ("previous_version", "Previous"),
    ("protected", "Protected"),
    ("updated_by", "Updated by"),
    ("updated_at", "Updated"),
]


@artifacts_alias.command("set")
@click.argument("artifact")
@click.argument("alias")
@click.argument("version")
@artifact_type_option
@click.option("--if-revision", type=int, help="Move only if the alias is still at this revision.")
@json_option
@pass_state
def artifacts_alias_set(
    state: State, artifact: str, alias: str, version: str, artifact_type: ArtifactType | None, if_revision: int | None
) -> None:
    """Point ALIAS of ARTIFACT at VERSION (a ready version, or @other-alias)."""
    client = state.client()
    found = _resolve_artifact(client, artifact, artifact_type)
    view = client.set_alias(found["id"], alias, version, if_match=if_revision)
    if state.json:
        return emit_json(view)
    moved = f" (was {view['previous_version']})" if view.get("previous_version") else ""
    _stdout(f"{found['id']} {alias} -> {view['version']}{moved}, revision {view['revision']}.")


@artifacts_alias.command("rm")
@click.argument("artifact")
@click.argument("alias")
@artifact_type_option
@json_option
@pass_state
def artifacts_alias_rm(state: State, artifact: str, alias: str, artifact_type: ArtifactType | None) -> None:
    """Remove ALIAS from ARTIFACT (the version stays)."""
    client = state.client()
    found = _resolve_artifact(client, artifact, artifact_type)
    result = client.remove_alias(found["id"], alias)
    state.report(result, f"Removed {alias} from {found['id']}.")


@artifacts_alias.command("list")
@click.argument("artifact")
@artifact_type_option
@json_option
@pass_state
def artifacts_alias_list(state: State, artifact: str, artifact_type: ArtifactType | None) -> None:
    """ARTIFACT's aliases and the versions they name."""
    client = state.client()
    found = _resolve_artifact(client, artifact, artifact_type)
    items = client.list_aliases(found["id"]).all()
    if state.json:
        return emit_json({"items": items, "next_cursor": None})
    emit_table(items, ALIAS_COLUMNS)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "artifact"


# ---------------------------------------------------------------- metrics
@cli.group()
def metrics() -> None:
    """Process metrics."""


@metrics.command("push")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--project", "project", required=True, help="Project (id or name) the events belong to.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "jsonl", "gitlog"]),
    default="auto",
    show_default=True,
    help="jsonl: one event per line; gitlog: `git log --numstat --date=iso-strict` output.",
)
@click.option("--no-wait", is_flag=True, help="Do not wait for a git log drop to be ingested.")
@click.option("--timeout", type=float, default=300, show_default=True, help="Seconds to wait for a drop.")
@json_option
@pass_state
def metrics_push(state: State, source: Any, project: str, fmt: str, no_wait: bool, timeout: float) -> None:
    """Send events from SOURCE (a file, or stdin): JSONL events go to POST /v1/metrics in batches of 1,000;
    a git log is handed to the platform's git log parser as a drop (ingested asynchronously).

    \b
    git log --numstat --date=iso-strict | maestro metrics push --project P
    maestro metrics push events.jsonl --project P"""
    data = source.read()
    if fmt == "auto":
        first = next((line for line in data.splitlines() if line.strip()), b"")
        fmt = "gitlog" if GIT_COMMIT_LINE.match(first.decode("utf-8", "replace")) else "jsonl"
    client = state.client()
    project_id = _resolve_project(client, project)["id"]
    if fmt == "gitlog":
        upload = client.upload_drop(project_id, f"cli-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.gitlog", data)
        result = {
            "format": "gitlog",
            "project_id": project_id,
            "id": upload["id"],
            "status": "queued",
            "key": upload["key"],
            "result_key": upload.get("result_key"),
            "bytes": len(data),
        }
        if no_wait:
            if state.json:
                return emit_json(result)
            _stdout(f"Uploaded {len(data)} bytes of git log as {upload['id']}; the platform ingests it shortly.")
            return
        drop = _wait_for_drop(state, client, project_id, upload["id"], timeout)
        manifest = drop.get("manifest") or {}
        result.update(status=drop["state"], manifest=manifest)
        if state.json:
            emit_json(result)
        else:
            _report_manifest(len(data), drop["state"], manifest)
        if drop["state"] in ("awaiting_upload", "processing"):
            click.get_current_context().exit(EXIT_TIMEOUT)
        if drop["state"] == "rejected" or manifest.get("rejected"):
            click.get_current_context().exit(EXIT_FAILED)
        return
    events = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except ValueError as exc:
            raise click.UsageError(f"line {number} is not JSON: {exc}") from None
        if not isinstance(event, dict):
            raise click.UsageError(f"line {number} is not a JSON object")
        event.setdefault("project_id", project_id)
        events.append(event)
    if not events:
        raise click.UsageError("no events in the input")
    answers = client.push_metrics(events)
    rejected = [item for answer in answers for item in answer["rejected"]]
    result = {
        "format": "jsonl",
        "project_id": project_id,
        "sent": len(events),
        "accepted": sum(a.get("accepted", 0) for a in answers),
        "duplicates": sum(a.get("duplicates", 0) for a in answers),
        "rejected_count": sum(a.get("rejected_count", len(a.get("rejected") or [])) for a in answers),
        "rejected": rejected,
    }
    if state.json:
        emit_json(result)
    else:
        _stdout(
            f"Sent {result['sent']}: {result['accepted']} accepted, {result['duplicates']} already known, "
            f"{result['rejected_count']} rejected."
        )
        for item in rejected[:20]:
            _err(f"  event {item.get('index')}: {item.get('reason') or item.get('errors') or item}")
    if result["rejected_count"]:
        click.get_current_context().exit(EXIT_FAILED)


DROP_POLL_SECONDS = 0.5


def _wait_for_drop(state: State, client: Client, project_id: str, upload_id: str, timeout: float) -> dict[str, Any]:
    """Poll a drop until the platform has ingested (or rejected) it, with a status line on stderr."""
    from contextlib import nullcontext

    from rich.console import Console

    deadline = time.monotonic() + timeout
    status = Console(stderr=True).status("waiting for the upload to land") if not state.json else nullcontext()
    with status as line:
        while True:
            drop = client.get_ingest_upload(project_id, upload_id)
            if line is not None:
                line.update(f"drop {upload_id}: {drop['state'].replace('_', ' ')}")
            if drop["state"] in ("ingested", "rejected") or time.monotonic() > deadline:
                return drop
            time.sleep(DROP_POLL_SECONDS)


@metrics.command("report")
@click.option("--project", "project", required=True, help="Project (id or name).")
@from_option
@to_option
@json_option
@pass_state
def metrics_report(state: State, project: str, from_: datetime | None, to: datetime | None) -> None:
    """What a project's process metrics say (the console's dashboard, in the terminal): git and pull requests, CI,
    the four DORA metrics, velocity against the tenant's projects of the same weeks, and the team's
    recommendations, over the project's period (its start, or first event, to its end or now) unless --from/--to
    narrow it. --json gives the five API answers as they are.

    \b
    git log --numstat --date=iso-strict | maestro metrics push --project P
    maestro metrics report --project P --from 2026-01-01"""
    client = state.client()
    found = _resolve_project(client, project)
    project_id = found["id"]
    period = {"from_": from_, "to": to}
    report = {
        "id": f"{project_id}:report",
        "project_id": project_id,
        "name": found.get("name"),
        "git": client.git_analytics(project_id, **period),
        "ci": client.ci_analytics(project_id, **period),
        "dora": client.dora(project_id, **period),
        "velocity": client.velocity(project_id, **period),
        "team": client.team_analytics(project_id, **period),
    }
    if state.json:
        return emit_json(report)
    for line in _report_lines(report):
        _stdout(line)


DORA_METRICS = [
    ("deployment_frequency", "deployments a week"),
    ("lead_time_for_changes", "lead time (h)"),
    ("change_failure_rate", "change failure rate"),
    ("time_to_restore", "time to restore (h)"),
]


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _report_lines(report: dict[str, Any]) -> list[str]:
    """The metrics report in sentences, each figure as the API answered it; a source with nothing in the period
    says so instead of a row of dashes."""
    git, velocity = report["git"], report["velocity"]
    period = git["period"]
    score = velocity.get("score")
    compared = f"{counted(velocity['history_size'], 'project')} of the same weeks"
    lines = [
        f"{report.get('name') or 'Project'} ({report['project_id']}): {period['start'][:10]} to {period['end'][:10]} "
        f"({period['weeks']:.1f} weeks)",
        f"Git: {counted(git['commits'], 'commit')} ({_cell((git.get('commits_per_week') or {}).get('mean'))} a week) "
        f"by {counted(git['active_contributors'], 'contributor')}; bus factor {_cell(git.get('bus_factor'))}, top "
        f"author {_share(git.get('top_author_share'))} of commits; lines +{_cell(git['lines_added'])} "
        f"-{_cell(git['lines_deleted'])}"
        if git["commits"]
        else "Git: no commits in this period",
        _pull_requests_line(git),
        _ci_line(report["ci"]),
        _dora_line(report["dora"]),
        f"Velocity: {score:.0f} of 100 against {compared}"
        if score is not None
        else f"Velocity: no score ({str(velocity.get('basis')).replace('_', ' ')}; {compared} to compare with)",
    ]
    advice = (report.get("team") or {}).get("recommendations") or []
    if advice:
        lines.append("Team recommendations:")
        lines.extend(f"  - {item['text']}" for item in advice)
    return lines


def _pull_requests_line(git: dict[str, Any]) -> str:
    merged, hours = git.get("prs_merged") or {}, git.get("pr_merge_hours") or {}
    if not merged.get("count"):
        return "Pull requests: none merged in this period"
    return (
        f"Pull requests: {merged['count']} merged ({_cell(merged.get('per_week'))} a week); merge time p50 "
        f"{_cell(hours.get('p50'))} h, p90 {_cell(hours.get('p90'))} h"
    )


def _ci_line(ci: dict[str, Any]) -> str:
    if not ci.get("pipeline_runs"):
        return "CI: no pipeline runs in this period"
    durations = ci.get("duration_seconds") or {}
    flaky = ", ".join(f"{f['workflow']} ({f['flaky_runs']})" for f in ci.get("flaky_workflows") or []) or "none"
    timing = (
        f"duration p50 {_cell(durations.get('p50'))} s, p90 {_cell(durations.get('p90'))} s"
        if durations.get("count")
        else "no durations recorded"
    )
    return (
        f"CI: {counted(ci['pipeline_runs'], 'pipeline run')}, {_share(ci.get('success_rate'))} passed; {timing}; "
        f"flaky workflows: {flaky}"
    )


def _dora_line(dora: dict[str, Any]) -> str:
    figures = {key: dora.get(key) or {} for key, _label in DORA_METRICS}
    if all(figure.get("value") is None for figure in figures.values()):
        return "DORA: no deployments or incidents in this period to measure"
    measured = "; ".join(
        f"{label} {_cell(figures[key].get('value'))} ({str(figures[key].get('band', '-')).replace('_', ' ')})"
        for key, label in DORA_METRICS
    )
    return f"DORA ({str(dora.get('scope', '-')).replace('_', ' ')}): {measured}"


def counted(number: int, noun: str) -> str:
    """ "1 project", "2 projects": a count that agrees with its noun."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _report_manifest(size: int, state_name: str, manifest: dict[str, Any]) -> None:
    if state_name == "rejected":
        _err(f"The drop was rejected: {manifest.get('reason')}")
        return
    if state_name not in ("ingested",):
        _err(f"Gave up waiting: the drop is still {state_name.replace('_', ' ')}.")
        return
    emit_table(
        [
            {"what": "accepted", "n": manifest.get("accepted")},
            {"what": "duplicates", "n": manifest.get("duplicates")},
            {"what": "rejected", "n": manifest.get("rejected")},
        ],
        [("what", "Events"), ("n", "Count")],
        title=f"Ingested {size} bytes ({manifest.get('format')})",
    )
    for item in (manifest.get("first_errors") or [])[:20]:
        _err(f"  line {item.get('index')}: {item.get('reason')}")


# ---------------------------------------------------------------- meta-learning
def _subject(client: Client, project: str | None, profile: Path | None) -> dict[str, Any]:
    if project is not None and profile is None:
        return {"project_id": _resolve_project(client, project)["id"]}
    if project is not None or profile is None:
        raise click.UsageError("give --project or --profile (one of them)")
    try:
        return {"profile": json.loads(profile.read_text())}
    except ValueError as exc:
        raise click.UsageError(f"{profile} is not JSON: {exc}") from None


@cli.command()
@click.option("--project", "project", help="An existing project (id or name).")
@click.option(
    "--profile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON profile: problem_class, complexity_score, team_size, description, members?, "
    "planned_artifacts?, features?",
)
@click.option("--limit", type=click.IntRange(1, 100), help="At most this many artifacts.")
@json_option
@pass_state
def recommend(state: State, project: str | None, profile: Path | None, limit: int | None) -> None:
    """Artifacts and team shape recommended for a project or a planned one."""
    client = state.client()
    subject = _subject(client, project, profile)
    answer = client.recommend(subject.get("project_id"), profile=subject.get("profile"), limit=limit)
    if state.json:
        return emit_json(answer)
    _stdout(f"Basis: {answer.get('basis')}")
    if (answer.get("artifact_ranking") or {}).get("note"):
        _stdout(f"Artifacts: {answer['artifact_ranking']['note']}")
    emit_table(
        answer.get("artifacts") or [],
        [("artifact_id", "Artifact"), ("name", "Name"), ("type", "Type"), ("score", "Score"), ("reasons", "Reasons")],
        title="Artifacts",
    )
    team = answer.get("team") or {}
    rows = [_team_row(which, team[which]) for which in ("current", "recommended") if team.get(which)]
    if rows:
        emit_table(
            rows,
            [
                ("team", "Team"),
                ("size", "Size"),
                ("roles", "Roles"),
                ("experience", "Experience"),
                ("success", "Success (80%)"),
                ("duration", "Duration, days (80%)"),
            ],
            title="Team shape",
        )
    gain = team.get("improvement") or {}
    if gain:
        _stdout(
            f"The recommended team: {gain.get('success_points', 0):+.1f} success points, "
            f"{_cell(gain.get('days_saved'))} days saved (together {_cell(gain.get('in_holdout_mae_units'))} × the "
            f"models' hold-out MAE), best of {_cell(team.get('considered'))} team shapes considered."
        )


def _team_row(which: str, team: dict[str, Any]) -> dict[str, Any]:
    """A team shape and its predicted outcome as a table row: counts by role and level (zeros left out), each
    prediction with its 80% interval."""
    shape, predicted = team.get("shape") or {}, team.get("predicted") or {}

    def counts(by_kind: dict[str, int] | None) -> str:
        present = sorted(((n, k) for k, n in (by_kind or {}).items() if n), key=lambda item: (-item[0], item[1]))
        return ", ".join(f"{kind.replace('_', ' ')} {number}" for number, kind in present) or "-"

    def with_interval(point: Any, interval: Any) -> str:
        return f"{_cell(point)} ({_cell(interval[0])}–{_cell(interval[1])})" if interval else _cell(point)

    return {
        "team": which,
        "size": shape.get("team_size"),
        "roles": counts(shape.get("roles")),
        "experience": counts(shape.get("experience")),
        "success": with_interval(predicted.get("success_score"), predicted.get("success_80")),
        "duration": with_interval(predicted.get("duration_days"), predicted.get("duration_80")),
    }


@cli.command()
@click.option("--project", "project", help="An existing project (id or name).")
@click.option(
    "--profile", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A JSON profile (see `recommend`)."
)
@json_option
@pass_state
def predict(state: State, project: str | None, profile: Path | None) -> None:
    """Predicted success score, duration and compute cost, with 80% and 90% intervals."""
    client = state.client()
    subject = _subject(client, project, profile)
    answer = client.predict(subject.get("project_id"), profile=subject.get("profile"))
    if state.json:
        return emit_json(answer)
    _stdout(f"Basis: {answer.get('basis')}")
    rows = []
    for target, value in (answer.get("targets") or {}).items():
        intervals = value.get("intervals") or {}
        top = ", ".join(
            f"{c.get('feature')} {c.get('contribution'):+.3g}"
            for c in (value.get("top_contributions") or [])[:3]
            if isinstance(c.get("contribution"), (int, float))
        )
        rows.append(
            {
                "target": target,
                "point": value.get("point"),
                "80": intervals.get("80"),
                "90": intervals.get("90"),
                "model": value.get("model_version"),
                "top": top,
            }
        )
    emit_table(
        rows,
        [
            ("target", "Target"),
            ("point", "Point"),
            ("80", "80%"),
            ("90", "90%"),
            ("model", "Model"),
            ("top", "Top contributions"),
        ],
    )


@cli.group()
def models() -> None:
    """The meta-learning models."""


@models.command("show")
@json_option
@pass_state
def models_show(state: State) -> None:
    """The champion models."""
    answer = state.client().get_meta_model()
    if state.json:
        return emit_json(answer)
    # the API's min_completed_projects is the threshold for training, not how many projects the models learned from
    _stdout(
        f"Basis: {answer.get('basis')} (models are trained once {answer.get('min_completed_projects')} projects have completed)"
    )
    counted = answer.get("training_data")
    if counted:
        left_out = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in (counted.get("left_out") or {}).items())
        _stdout(f"Training data: {counted['used']} of {counted['projects']} projects used; left out: {left_out}")
    rows = []
    for target, models_of_target in (answer.get("targets") or {}).items():
        champion = models_of_target.get("champion") or {}
        baselines = champion.get("baselines") or {}
        coverage = champion.get("coverage") or {}
        error = champion.get("coverage_standard_error") or {}
        live = champion.get("live") or {}
        rows.append(
            {
                "target": target,
                "version": champion.get("version", "-"),
                "trained": _minute(champion.get("trained_at")),
                "projects": champion.get("data_size", "-"),
                "mae": (champion.get("holdout") or {}).get("mae", "-"),
                "mean_mae": (baselines.get("tenant_mean") or {}).get("holdout_mae", "-"),
                "ridge_mae": (baselines.get("ridge") or {}).get("holdout_mae", "-"),
                "coverage": " / ".join(_with_error(coverage.get(level), error.get(level)) for level in ("80", "90"))
                if coverage
                else "-",
                "live": (
                    f"{live.get('mae')} ({live.get('scored_predictions')})" if live.get("scored_predictions") else "-"
                ),
                "versions": len(models_of_target.get("history") or []),
                "serves": models_of_target.get("serves") or "-",
            }
        )
    emit_table(
        rows,
        [
            ("target", "Target"),
            ("version", "Champion"),
            ("trained", "Trained"),
            ("projects", "Projects"),
            ("mae", "Hold-out MAE"),
            ("mean_mae", "Tenant mean"),
            ("ridge_mae", "Ridge"),
            ("coverage", "Coverage 80/90"),
            ("live", "Live MAE (n)"),
            ("versions", "Versions"),
            ("serves", "Serves"),
        ],
        title="Outcome models",
    )


def _minute(timestamp: str | None) -> str:
    """An ISO timestamp to the minute, for a table: "2026-11-26 16:55"."""
    return timestamp[:16].replace("T", " ") if timestamp else "-"


def _with_error(value: Any, error: Any) -> str:
    """A measured share with its standard error: "0.858±0.037"."""
    if value is None:
        return "-"
    return f"{value:.3f}±{error:.3f}" if error is not None else f"{value:.3f}"


@models.command("job")
@click.argument("job_id")
@json_option
@pass_state
def models_job(state: State, job_id: str) -> None:
    """Show a retrain job: its state, progress and summary."""
    job = state.client().get_meta_job(job_id)
    if state.json:
        return emit_json(job)
    emit_fields(job, [(key, key) for key in ("id", "kind", "state", "progress", "created_at", "updated_at")])
    for line in _retrain_summary(job):
        _stdout(line)


def _retrain_summary(job: dict[str, Any]) -> list[str]:
    """A retrain job's detail in sentences: what it learned from and, per model, its hold-out error beside the
    tenant-mean baseline and whether it became the champion (the whole detail stays in --json)."""
    detail = job.get("detail") or {}
    if job.get("state") == "failed":
        return [f"Failed: {detail.get('error', 'error')}: {detail.get('message', '')}".rstrip(": ")]
    if job.get("state") != "succeeded":
        return [str(detail["message"])] if detail.get("message") else []
    counted = detail.get("training_data") or {}
    lines = {
        "insufficient_history": f"Not trained: {detail.get('completed_projects', 0)} completed projects, the models "
        f"need {detail.get('min_completed_projects')}; predictions use the tenant's priors until then.",
        "unchanged": "Not trained: no outcome changed since the champions were trained.",
        "trained": f"Trained on {counted.get('used')} of {counted.get('projects')} projects in "
        f"{_cell(detail.get('seconds'))} s.",
    }
    summary = [lines[detail["outcome"]]] if detail.get("outcome") in lines else []
    for target, model in (detail.get("targets") or {}).items():
        decision = model.get("champion") or {}
        mean = ((model.get("baselines") or {}).get("tenant_mean") or {}).get("holdout_mae")
        verdict = (
            "promoted to champion"
            if decision.get("moved")
            else f"version {decision.get('champion_version')} stays the champion"
        )
        summary.append(
            f"{target}: version {model.get('version')}, hold-out MAE {_cell((model.get('holdout') or {}).get('mae'))} "
            f"(tenant mean {_cell(mean)}): {verdict} ({decision.get('reason', '-')})."
        )
    recommender = detail.get("recommender")
    if recommender:
        summary.append(
            f"recommender: version {recommender.get('version')} nDCG@10 {_cell(recommender.get('ndcg_at_10'))} "
            f"(most popular {_cell(recommender.get('most_popular_ndcg_at_10'))}) on "
            f"{recommender.get('validation_projects')} validation projects."
        )
    return summary


@models.command("retrain")
@click.option("--wait", is_flag=True, help="Wait until the job succeeded or failed.")
@click.option("--timeout", type=float, default=1800.0, show_default=True, help="Seconds to wait with --wait.")
@json_option
@pass_state
def models_retrain(state: State, wait: bool, timeout: float) -> None:
    """Queue a retrain (admins); with --wait, follow it (exit 6 when it failed)."""
    client = state.client()
    job = client.retrain_meta_model()
    if not wait:
        if state.json:
            return emit_json(job)
        _stdout(f"Queued job {job['id']} ({job.get('state')}).")
        return
    if not state.json:
        _err(f"Queued job {job['id']}; waiting...")
    with _JobProgress(state, f"retrain {job['id']}") as bar:
        job = client.wait_for_meta_job(job["id"], timeout=timeout, on_update=bar.update)
    if state.json:
        emit_json(job)
    else:
        _stdout(f"Job {job['id']}: {job.get('state')}")
        for line in _retrain_summary(job):
            _stdout(line)
    if job.get("state") != "succeeded":
        click.get_current_context().exit(EXIT_FAILED)


# ---------------------------------------------------------------- audit
@cli.group()
def audit() -> None:
    """The tenant's audit log (admins)."""


@audit.command("verify")
@json_option
@pass_state
def audit_verify(state: State) -> None:
    """Recompute the hash chain; exit 6 when an event was edited, deleted or reordered."""
    result = state.client().verify_audit()
    if state.json:
        emit_json(result)
    elif result.get("intact"):
        _stdout(f"Audit chain intact ({result.get('checked')} events checked).")
    else:
        _stdout(f"Audit chain BROKEN after {result.get('checked')} events: first broken {result.get('first_broken')}")
    if not result.get("intact"):
        click.get_current_context().exit(EXIT_FAILED)


@audit.command("list")
@click.option("--actor", help="Only events by this actor (e.g. user:usr_...).")
@click.option("--action", help="Only this action (e.g. project.update).")
@click.option("--resource", help="Only events about this resource id.")
@from_option
@to_option
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="At most this many events.")
@json_option
@pass_state
def audit_list(
    state: State,
    actor: str | None,
    action: str | None,
    resource: str | None,
    from_: datetime | None,
    to: datetime | None,
    limit: int,
) -> None:
    """The tenant's audit events, newest first (filters combine)."""
    page = state.client().list_audit_events(
        actor=actor, action=action, resource=resource, from_=from_, to=to, limit=min(limit, 1000)
    )
    items = page.all(max_items=limit)
    if state.json:
        return emit_json({"items": items})
    emit_table(
        items,
        [
            ("occurred_at", "When"),
            ("actor", "Actor"),
            ("action", "Action"),
            ("resource_type", "Resource"),
            ("resource_id", "Id"),
            ("outcome", "Outcome"),
        ],
    )


# ---------------------------------------------------------------- entry point
def exit_code_for(error: BaseException) -> int:
    if isinstance(error, ApiError):
        if error.status in (401, 403):
            return EXIT_AUTH
        if error.status == 404:
            return EXIT_NOT_FOUND
        if error.status >= 500:
            return EXIT_SERVER
        return EXIT_API
    if isinstance(error, NotLoggedIn):
        return EXIT_AUTH
    if isinstance(error, TransportError):
        return EXIT_SERVER
    if isinstance(error, WaitTimeout):
        return EXIT_TIMEOUT
    if isinstance(error, IntegrityError):
        return EXIT_FAILED
    return EXIT_SERVER


def _report_error(error: MaestroError) -> None:
    if _json_mode:
        problem = (
            error.to_problem() if isinstance(error, ApiError) else {"title": type(error).__name__, "detail": str(error)}
        )
        _err(json.dumps(problem, default=str))
        return
    message = str(error)
    if isinstance(error, ApiError) and error.status == 401:
        message += "\n(run `maestro login` to sign in again)"
    _err(f"Error: {message}")


def main(argv: list[str] | None = None) -> None:
    global _json_mode
    _json_mode = False
    try:
        code = cli.main(args=argv, prog_name="maestro", standalone_mode=False)
    except click.UsageError as error:  # includes BadParameter, NoSuchOption: exit 1, not click's 2
        error.show()
        code = EXIT_USAGE
    except click.ClickException as error:  # e.g. a file that cannot be opened
        error.show()
        code = EXIT_USAGE
    except click.Abort:
        _err("Aborted.")
        code = EXIT_USAGE
    except MaestroError as error:
        _report_error(error)
        code = exit_code_for(error)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":
    main()
