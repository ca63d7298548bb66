"""The local workspace of `make run`, in .local-stack/: what persists across runs, which processes a running
`make run` owns, and starting empty.

    .local-stack/aws-state.pickle   the local AWS (moto): tables, bucket objects, queues, rules, secrets
    .local-stack/mlflow/            MLflow's SQLite store (its artifacts are objects in the local bucket)
    .local-stack/demo.json          the demo tenant's login, so a restart does not create another one
    .local-stack/processes.json     the processes of the running `make run` (found again if it died)
    .local-stack/*.log              the servers' logs

`python -m infra.local.workspace reset` (`make reset`) deletes it all; the next `make run` starts empty.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
# MAESTRO_LOCAL_STATE_DIR puts the workspace elsewhere (the tests run stacks in temporary ones).
STATE_DIR = Path(os.environ.get("MAESTRO_LOCAL_STATE_DIR") or PROJECT_DIR / ".local-stack").resolve()
AWS_STATE = STATE_DIR / "aws-state.pickle"
MLFLOW_DIR = STATE_DIR / "mlflow"
DEMO_LOGIN = STATE_DIR / "demo.json"
PROCESSES = STATE_DIR / "processes.json"


class WorkspaceBusy(RuntimeError):
    """Another `make run` uses this workspace, or a port belongs to a program that is not ours."""


# ---------------------------------------------------------------- processes of a running `make run`
def _process(pid: int, create_time: float) -> Any:
    """The live process with that pid and start time (a pid alone may have been reused), else None."""
    import psutil

    try:
        process = psutil.Process(pid)
        return process if abs(process.create_time() - create_time) < 0.01 else None
    except psutil.Error:
        return None


def record_processes(processes: dict[str, int | None]) -> None:
    """Remember the pids `make run` started (role -> pid), with their start times."""
    import psutil

    records = {}
    for role, pid in processes.items():
        if pid:
            try:
                records[role] = {"pid": pid, "create_time": psutil.Process(pid).create_time()}
            except psutil.Error:
                continue
    STATE_DIR.mkdir(exist_ok=True)
    temporary = PROCESSES.with_suffix(".tmp")
    temporary.write_text(json.dumps(records, indent=2))
    os.replace(temporary, PROCESSES)


def forget_processes() -> None:
    PROCESSES.unlink(missing_ok=True)


def recorded_processes() -> dict[str, Any]:
    """role -> live psutil.Process, for the processes an earlier (or the current) `make run` recorded."""
    try:
        records = json.loads(PROCESSES.read_text())
    except (OSError, ValueError):
        return {}
    live = {}
    for role, record in records.items():
        process = _process(record["pid"], record["create_time"])
        if process is not None:
            live[role] = process
    return live


def stop_process_tree(process: Any, timeout_s: float = 120) -> None:
    """SIGTERM the process and its descendants, wait, SIGKILL what is left."""
    import psutil

    try:
        family = [*process.children(recursive=True), process]
    except psutil.Error:
        return
    for member in family:
        try:
            member.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(family, timeout=timeout_s)
    for member in alive:
        try:
            member.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)


def _belongs_here(process: Any) -> bool:
    """A server of this checkout's local stack (by its working directory or a path in its command line)."""
    import psutil

    try:
        command = " ".join(process.cmdline())
        return str(STATE_DIR) in command or (
            process.cwd() == str(PROJECT_DIR) and ("infra.local." in command or "mlflow" in command)
        )
    except psutil.Error:
        return False


def _listener(port: int) -> Any:
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return None
    for connection in connections:
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
            try:
                return psutil.Process(connection.pid)
            except psutil.Error:
                return None
    return None


def clear_stale_servers(ports: dict[str, int], say: Any = print) -> None:
    """Before a `make run` starts: stop what an earlier run of this workspace left behind (its moto server saves
    its state as it stops), and refuse to start when another `make run` is still running here or a port belongs
    to some other program. Never silently talks to a server it did not start."""
    from infra.local.moto_server import port_is_free

    recorded = recorded_processes()
    runner = recorded.pop("make run", None)
    if runner is not None and runner.pid != os.getpid():
        raise WorkspaceBusy(
            f"another `make run` (pid {runner.pid}) is using this workspace ({STATE_DIR}); stop it first "
            f"(Ctrl-C in its terminal, or `kill {runner.pid}`)"
        )
    for role, process in recorded.items():
        say(f"found the {role} of an earlier `make run` still running (pid {process.pid}): stopping it")
        stop_process_tree(process)
    for name, port in ports.items():
        if port_is_free(port):
            continue
        owner = _listener(port)
        if owner is not None and _belongs_here(owner):
            say(f"found a stale {name} of an earlier `make run` on port {port} (pid {owner.pid}): stopping it")
            stop_process_tree(owner)
            if port_is_free(port):
                continue
        who = f"{owner.name()} (pid {owner.pid})" if owner is not None else "another program"
        raise WorkspaceBusy(
            f"port {port}, which the {name} needs, is in use by {who}; stop it, or choose another port "
            f"({PORT_VARIABLES.get(name, 'see README')})"
        )


PORT_VARIABLES = {
    "local AWS (moto)": "MAESTRO_MOTO_PORT",
    "API": "MAESTRO_API_PORT",
    "web console": "MAESTRO_CONSOLE_PORT",
    "MLflow server": "MAESTRO_MLFLOW_PORT",
}


# ---------------------------------------------------------------- the demo tenant's login
def saved_demo_login() -> dict | None:
    try:
        return json.loads(DEMO_LOGIN.read_text())
    except (OSError, ValueError):
        return None


def save_demo_login(demo: dict) -> None:
    STATE_DIR.mkdir(exist_ok=True)
    temporary = DEMO_LOGIN.with_suffix(".tmp")
    temporary.write_text(json.dumps(demo, indent=2))
    temporary.chmod(0o600)
    os.replace(temporary, DEMO_LOGIN)


# ---------------------------------------------------------------- starting empty
def reset(say: Any = print) -> None:
    """Delete the workspace (refused while a `make run` uses it)."""
    running = recorded_processes()
    if running:
        raise WorkspaceBusy(
            f"`make run` is running on this workspace ({', '.join(f'{r} pid {p.pid}' for r, p in running.items())}); "
            "stop it first"
        )
    if STATE_DIR.exists():
        shutil.rmtree(STATE_DIR)
        say(f"removed {STATE_DIR}: the next `make run` starts empty")
    else:
        say(f"{STATE_DIR} does not exist: the next `make run` starts empty")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["reset"])
    parser.parse_args(argv)
    try:
        reset()
    except WorkspaceBusy as busy:
        print(f"make reset: {busy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
