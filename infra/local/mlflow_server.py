"""A real `mlflow server` on 127.0.0.1 for the local stack and the tests: SQLite backend store (tracking and
model registry), artifacts proxied by the server into the local S3 bucket (or a folder). Clients reach it over
HTTP only, so they need no S3 credentials of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra.local.moto_server import free_port, wait_until_up


class MlflowServer:
    def __init__(
        self,
        root: Path,
        *,
        port: int | None = None,
        artifacts_destination: str | None = None,
        s3_endpoint: str | None = None,
    ) -> None:
        self.root, self.port = Path(root), port or free_port()
        self.artifacts_destination = artifacts_destination or str(self.root / "artifacts")
        self.s3_endpoint = s3_endpoint
        self.process: subprocess.Popen | None = None
        self._workers: list[int] = []

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> MlflowServer:
        self.root.mkdir(parents=True, exist_ok=True)
        # No job runner: it starts a dozen huey worker processes the platform never uses.
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        env.pop("AWS_ENDPOINT_URL", None)  # the server reaches S3 through MLFLOW_S3_ENDPOINT_URL only
        if self.s3_endpoint:
            env["MLFLOW_S3_ENDPOINT_URL"] = self.s3_endpoint
            env.setdefault("AWS_ACCESS_KEY_ID", "local")
            env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        mlflow = Path(sys.executable).with_name("mlflow")
        with open(self.root / "server.log", "wb") as log:  # the child keeps its copy
            self.process = subprocess.Popen(
                [
                    str(mlflow),
                    "server",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    "1",
                    "--backend-store-uri",
                    f"sqlite:///{self.root / 'mlflow.db'}",
                    "--artifacts-destination",
                    self.artifacts_destination,
                    "--serve-artifacts",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )  # in this process group: a signal to the group (Ctrl-C, a service manager's SIGTERM) reaches it
        try:
            wait_until_up(self.uri, timeout, path="/health", what="mlflow server", process=self.process)
        except RuntimeError as error:
            self.stop()
            raise RuntimeError(f"{error}:\n" + (self.root / "server.log").read_text()[-2000:]) from None
        import psutil

        # Its workers, remembered: stop() ends them even when a signal to the group ended the server first.
        self._workers = [child.pid for child in psutil.Process(self.process.pid).children(recursive=True)]
        return self

    def stop(self) -> None:
        """The server and the workers it started (uvicorn), even if the server itself is already gone: SIGTERM,
        then SIGKILL what is left after 20 s."""
        import psutil

        if self.process is None:
            return
        family = []
        for pid in (self.process.pid, *self._workers):
            try:
                family.append(psutil.Process(pid))
            except psutil.Error:
                continue
        for member in list(family):
            try:
                family.extend(member.children(recursive=True))
            except psutil.Error:
                pass
        for member in family:
            try:
                member.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(family, timeout=20)
        for member in alive:
            try:
                member.kill()
            except psutil.Error:
                pass
        self.process.wait()
        self.process = None
