"""`make run` as a user starts it, for the end-to-end tests: its own process group (as a terminal or a service
manager gives it), free ports, and a workspace in a temporary folder (MAESTRO_LOCAL_STATE_DIR), never the
developer's .local-stack/.

The virtualenv is the one running these tests, already installed: `make -o` marks its install stamps (and the
console build) as done, so make never reinstalls into it from another checkout; everything else (the model
export, the servers) is `make run`'s own doing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from infra.local.moto_server import free_port, port_is_free

PROJECT_DIR = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
ENVIRONMENT_PREFIXES_LEFT_OUT = ("MAESTRO_", "AWS_", "LOCALSTACK_", "MAKE", "MFLAGS", "PYTEST_")


class MakeRun:
    def __init__(
        self,
        project_dir: Path,
        workspace: Path,
        *,
        run_args: str = "--no-demo",
        snapshot_interval: float = 2.0,
        ports: dict[str, int] | None = None,
    ) -> None:
        self.project_dir, self.workspace, self.run_args = Path(project_dir), Path(workspace), run_args
        self.snapshot_interval = snapshot_interval
        self.ports = ports or {
            name: free_port()
            for name in ("MAESTRO_MOTO_PORT", "MAESTRO_API_PORT", "MAESTRO_CONSOLE_PORT", "MAESTRO_MLFLOW_PORT")
        }
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.log_path: Path | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['MAESTRO_API_PORT']}"

    @property
    def mlflow(self) -> str:
        return f"http://127.0.0.1:{self.ports['MAESTRO_MLFLOW_PORT']}"

    @property
    def moto(self) -> str:
        return f"http://127.0.0.1:{self.ports['MAESTRO_MOTO_PORT']}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(ENVIRONMENT_PREFIXES_LEFT_OUT)}
        layers = ["layers/core/python", "layers/embedding/python", "sdk", "."]
        env.update({name: str(port) for name, port in self.ports.items()})
        env.update(
            PYTHONPATH=os.pathsep.join(str(self.project_dir / layer) for layer in layers),
            PYTHONUNBUFFERED="1",
            MAESTRO_LOCAL_STATE_DIR=str(self.workspace),
            MAESTRO_SNAPSHOT_INTERVAL=str(self.snapshot_interval),
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            MLFLOW_DISABLE_TELEMETRY="true",
        )
        return env

    def command(self) -> list[str]:
        done = [f"{VENV}/.installed-run", f"{VENV}/.installed-export", "console/dist/index.html"]
        return [
            "make",
            "--no-print-directory",
            f"VENV={VENV}",
            *(arg for path in done for arg in ("-o", path)),
            "run",
            f"RUN_ARGS={self.run_args}",
        ]

    def launch(self) -> MakeRun:
        self.starts += 1
        self.log_path = self.workspace.parent / f"{self.workspace.name}-make-run-{self.starts}.log"
        with open(self.log_path, "wb") as log:  # the child keeps its copy
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.project_dir,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def start(self, timeout_s: float = 600) -> MakeRun:
        """`make run`, until its API answers."""
        self.launch()
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"make run exited with {self.process.returncode}:\n{self.output()[-4000:]}")
            try:
                if requests.get(self.api + "/v1/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"make run did not serve within {timeout_s:.0f} s:\n{self.output()[-4000:]}")
            time.sleep(0.5)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def moto_log(self) -> str:
        path = self.workspace / "moto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def signal_group(self, signum: int) -> None:
        os.killpg(self.process.pid, signum)

    def run_process(self) -> psutil.Process:
        """The `python -m infra.local.run` that make started."""
        for child in psutil.Process(self.process.pid).children(recursive=True):
            if "infra.local.run" in " ".join(child.cmdline()):
                return child
        raise AssertionError("no infra.local.run under make")

    def stack_processes(self) -> list[psutil.Process]:
        """Every live process of this stack: in its process group, or naming its workspace (a server that left
        the group would still name it)."""
        found = []
        for process in psutil.process_iter(["pid", "cmdline"]):
            try:
                in_group = os.getpgid(process.pid) == self.process.pid
                names_workspace = str(self.workspace) in " ".join(process.info["cmdline"] or [])
            except (OSError, psutil.Error):
                continue
            if (in_group or names_workspace) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        return found

    def busy_ports(self) -> list[int]:
        return [port for port in self.ports.values() if not port_is_free(port)]

    def wait_stopped(self, timeout_s: float = 240) -> tuple[list[psutil.Process], list[int]]:
        """Wait for make to exit and the stack's processes and ports to go; returns what is left."""
        deadline = time.monotonic() + timeout_s
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pass
        while time.monotonic() < deadline and (self.stack_processes() or self.busy_ports()):
            time.sleep(0.5)
        return self.stack_processes(), self.busy_ports()

    def kill_everything(self) -> None:
        """Cleanup after a failed test: nothing of this stack may outlive it."""
        for process in self.stack_processes():
            try:
                process.kill()
            except psutil.Error:
                pass
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def saved_after(self, moment: float, timeout_s: float = 60) -> None:
        """Wait until moto saved a snapshot of its state as of a time after `moment` (time.time())."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            times = [float(t) for t in re.findall(r"state saved \(interval, as of ([0-9.]+)\)", self.moto_log())]
            if any(t > moment for t in times):
                return
            time.sleep(0.2)
        raise AssertionError(f"no snapshot as of after {moment} within {timeout_s} s:\n{self.moto_log()[-2000:]}")


def stop_signals_and_wait(stack: MakeRun, *signals: int, pause_s: float = 0.5) -> tuple[list, list[int]]:
    for n, signum in enumerate(signals):
        if n:
            time.sleep(pause_s)
        stack.signal_group(signum)
    return stack.wait_stopped()


SIGTERM, SIGINT, SIGKILL = signal.SIGTERM, signal.SIGINT, signal.SIGKILL
