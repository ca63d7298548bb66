"""`make run`: the whole platform on this machine. Starts moto server (unless AWS_ENDPOINT_URL or LOCALSTACK_HOST
names a running endpoint), creates every resource, starts the local event dispatcher and serves the API with
Chalice's local server on 127.0.0.1:8000 and the web console (console/dist) on 127.0.0.1:8001. Ctrl-C (or SIGTERM,
to this process or its whole group) stops everything it started; a second one while it stops does not cut the
stopping short. The workspace (local AWS state and MLflow) persists in .local-stack/ (infra/local/workspace.py)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback

from infra.local.workspace import AWS_STATE, MLFLOW_DIR, PROJECT_DIR, STATE_DIR


def local_environment(endpoint: str, region: str = "us-east-1") -> dict[str, str]:
    """What every local process needs: the endpoint, a region and throwaway credentials moto accepts."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        "MAESTRO_STAGE": "local",
    }


def function_environment() -> dict[str, str]:
    """What .chalice/config.json gives every deployed function (its top-level environment_variables), for local
    processes that run the functions' code as they run there. OPENBLAS_NUM_THREADS=1 among them: a function has at
    most a couple of vCPUs (512 MB: a fraction of one), and a threaded matrix-vector product (search's cosine) waits
    on its threads longer than it computes. Applied before numpy is imported."""
    import json

    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return dict(config.get("environment_variables", {}))


def external_endpoint() -> str | None:
    if os.environ.get("AWS_ENDPOINT_URL"):
        return os.environ["AWS_ENDPOINT_URL"]
    if os.environ.get("LOCALSTACK_HOST"):
        host = os.environ["LOCALSTACK_HOST"]
        return host if "://" in host else f"http://{host}"
    return None


def _prepare_embedding_model() -> None:
    """Semantic search needs the exported MiniLM model (build/embedding-model; `make run` exports it before this
    runs). Exports it here when it is missing or out of date and the exporter is installed (in a child process:
    torch stays out of this one); with no model at all, refuses to start rather than serve a platform without
    its semantic search."""
    import subprocess
    from importlib.metadata import PackageNotFoundError

    from infra.embedding_model import MODEL_BUILD_DIR, cached_export, export_key

    cached = cached_export()
    try:
        current = export_key()
    except PackageNotFoundError:  # the exporter is not installed here: a complete export of any key serves
        current = cached
    if cached is not None and cached == current:
        return
    print("exporting the MiniLM embedding model to ONNX (once; cached in build/embedding-model) ...", flush=True)
    if subprocess.run([sys.executable, "-m", "infra.embedding_model"], cwd=PROJECT_DIR).returncode != 0:
        raise SystemExit(
            f"make run: semantic search needs the embedding model in {MODEL_BUILD_DIR} and it could not be exported "
            "(see above). Run `make run` (it installs the exporter) or `make embedding-model`."
        )


def _start_console(host: str, port: int, api_base_url: str) -> str | None:
    from infra.local.console_server import create_console_server, serve_in_background

    try:
        serve_in_background(create_console_server(api_base_url, host, port))
    except FileNotFoundError as missing:
        print(f"the web console is off: {missing}", flush=True)
        return None
    return f"http://{host}:{port}/"


def _start_mlflow(port: int, bucket: str, endpoint: str):
    """A real `mlflow server`: SQLite in .local-stack/, artifacts in the local bucket through the server."""
    from infra.local.mlflow_server import MlflowServer

    print(f"starting mlflow server on 127.0.0.1:{port} ...", flush=True)
    server = MlflowServer(
        MLFLOW_DIR, port=port, artifacts_destination=f"s3://{bucket}/mlflow", s3_endpoint=endpoint
    ).start()
    os.environ["MAESTRO_MLFLOW_TRACKING_URI"] = server.uri
    return server


def _demo_tenant() -> None:
    """The demo tenant (local stage only): the one an earlier run seeded in this workspace, or a new one with a
    generated history and a first retrain, seeded in the background (the login is printed at once, the history
    lands within a minute and the models a minute or two later)."""
    from infra.local.workspace import save_demo_login, saved_demo_login
    from maestro.repositories import identity as identity_store

    saved = saved_demo_login()
    tenant = identity_store.get_tenant(saved["tenant_id"]) if saved else None
    if tenant is not None and int(tenant.projects_count or 0) > 0:  # the count is written after the whole history
        print(f"demo tenant (kept in this workspace): email {saved['email']}  password {saved['password']}", flush=True)
        _backfill_rollups_of(saved["tenant_id"])
        return
    _seed_demo_tenant(save_demo_login)


def _backfill_rollups_of(tenant_id: str) -> None:
    """A demo seeded before the weekly rollups (or their completeness mark) existed gets them, in the background
    (idempotent); its reports read the events until each project is done."""
    from maestro.repositories import projects as project_store

    first = project_store.list_projects(tenant_id, status=None, problem_class=None, limit=1, cursor=None).items
    if not first or first[0].rollups_complete:
        return

    def backfill() -> None:
        from maestro.services.analytics import backfill_tenant_rollups

        try:
            print(f"demo tenant: weekly rollups rebuilt ({backfill_tenant_rollups(tenant_id)})", flush=True)
        except Exception as error:  # the platform stays up; the dashboard reads the events meanwhile
            if not _stopping.is_set():
                print(f"rebuilding the demo tenant's rollups failed: {error!r}", flush=True)

    threading.Thread(target=backfill, name="demo-rollups", daemon=True).start()


def _seed_demo_tenant(save_login) -> None:
    from infra.local.demo_history import create_demo_tenant, seed_demo_history

    demo = create_demo_tenant(seed_history_now=False)
    save_login({key: demo[key] for key in ("tenant_id", "email", "password")})
    print(
        f"demo tenant (generated history, seeding in the background): email {demo['email']}  "
        f"password {demo['password']}",
        flush=True,
    )

    def seed() -> None:
        from maestro.services.meta.models import queue_retrain

        try:
            seed_demo_history(demo, progress=lambda message: None)
            job = queue_retrain(demo["tenant_id"], requested_by="make run")
            print(f"demo history seeded ({demo['counts']}); retraining its models: job {job.job_id}", flush=True)
        except Exception as error:  # the platform stays up; the demo data is a convenience
            if not _stopping.is_set():
                print(f"seeding the demo tenant failed: {error!r}", flush=True)

    threading.Thread(target=seed, name="demo-seed", daemon=True).start()


# Set by the first SIGINT/SIGTERM (or when stopping begins for any reason); later signals only say so.
_stopping = threading.Event()


def _on_stop_signal(signum: int, frame: object) -> None:
    if _stopping.is_set():
        print("still stopping (the local AWS saves its state) ...", flush=True)
        return
    _stopping.set()
    raise KeyboardInterrupt


def _report_dispatch_error(handler_name: str, error: BaseException) -> None:
    if not _stopping.is_set():  # while stopping, the local AWS may already be gone: expected, not news
        traceback.print_exception(error)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MAESTRO_API_PORT", 8000)))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MAESTRO_MOTO_PORT", 4566)))
    parser.add_argument("--console-port", type=int, default=int(os.environ.get("MAESTRO_CONSOLE_PORT", 8001)))
    parser.add_argument("--mlflow-port", type=int, default=int(os.environ.get("MAESTRO_MLFLOW_PORT", 5000)))
    parser.add_argument(
        "--snapshot-interval",
        type=float,
        default=float(os.environ.get("MAESTRO_SNAPSHOT_INTERVAL", 10)),
        help="seconds between snapshots of the local AWS state (a crash loses at most this much)",
    )
    parser.add_argument("--no-demo", action="store_true", help="skip the demo tenant and its generated history")
    args = parser.parse_args(argv)
    for name, value in function_environment().items():
        os.environ.setdefault(name, value)
    # Before anything starts: a signal from here on stops whatever has started, and only the first one counts.
    signal.signal(signal.SIGINT, _on_stop_signal)
    signal.signal(signal.SIGTERM, _on_stop_signal)
    try:
        return _run(args)
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    from infra.local.moto_server import MotoServer
    from infra.local.workspace import WorkspaceBusy, clear_stale_servers, forget_processes, record_processes

    endpoint = external_endpoint()
    ports = {"API": args.port, "web console": args.console_port, "MLflow server": args.mlflow_port}
    if endpoint is None:
        ports["local AWS (moto)"] = args.moto_port
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    try:
        clear_stale_servers(ports, say=lambda line: print(line, flush=True))
    except WorkspaceBusy as busy:
        print(f"make run: {busy}", file=sys.stderr, flush=True)
        return 1
    _prepare_embedding_model()
    processes: dict[str, int | None] = {"make run": os.getpid()}
    record_processes(processes)
    moto = dispatcher = mlflow = None
    try:
        if endpoint is None:
            restoring = "restoring the saved workspace, " if AWS_STATE.exists() else ""
            print(
                f"starting moto server on 127.0.0.1:{args.moto_port} ({restoring}state in {STATE_DIR}) ...", flush=True
            )
            moto = MotoServer(
                args.moto_port,
                log_path=STATE_DIR / "moto.log",
                state_file=AWS_STATE,
                snapshot_interval=args.snapshot_interval,
            )
            try:
                moto.start()
            finally:
                processes["local AWS (moto)"] = moto.pid
                record_processes(processes)
            endpoint = moto.endpoint
        else:
            print(f"using the running AWS endpoint at {endpoint} (its state is its own)", flush=True)
        os.environ.update(local_environment(endpoint))
        # The console is another origin: the API (and the bucket, for presigned uploads) must allow it.
        os.environ.setdefault(
            "MAESTRO_CORS_ORIGINS",
            ",".join(
                f"http://{host}:{args.console_port}" for host in dict.fromkeys((args.host, "127.0.0.1", "localhost"))
            ),
        )
        sys.path.insert(0, str(PROJECT_DIR))

        from infra.local.api_server import create_api_server, load_app
        from infra.local.bootstrap import bootstrap
        from infra.local.dispatcher import EventDispatcher, chalice_handlers
        from maestro.settings import get_settings, reset_settings

        reset_settings()
        app_obj, config = load_app("local")
        settings = get_settings()
        print("creating tables, bucket, event bus, queues and secrets (keeping what exists) ...", flush=True)
        queues = bootstrap(settings, app_obj)
        mlflow = _start_mlflow(args.mlflow_port, settings.artifact_bucket, endpoint)
        processes["MLflow server"] = mlflow.process.pid if mlflow.process else None
        record_processes(processes)
        reset_settings()  # the tracking URI is configuration: MAESTRO_MLFLOW_TRACKING_URI, set by _start_mlflow
        settings = get_settings()
        app_module = sys.modules["app"]
        dispatcher = EventDispatcher(
            settings, queues, chalice_handlers(app_module, list(queues)), on_error=_report_dispatch_error
        ).start()
        server = create_api_server(app_obj, config, args.host, args.port)
        console_url = _start_console(args.host, args.console_port, f"http://{args.host}:{args.port}")
        print(
            f"Maestro ML API: http://{args.host}:{args.port}/v1/health  (local AWS: {endpoint}; Ctrl-C stops)",
            flush=True,
        )
        if console_url:
            print(f"Maestro ML console: {console_url}", flush=True)
        print(f"MLflow (tracking and model registry): {mlflow.uri}", flush=True)
        if moto:
            print(
                f"workspace: {STATE_DIR} (saved every {args.snapshot_interval:g} s and when stopping; "
                "`make reset` starts empty)",
                flush=True,
            )
        if not args.no_demo:
            _demo_tenant()
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
    finally:
        _stopping.set()  # from here on a signal is noted, never raised into the cleanup
        if dispatcher:
            dispatcher.stop()
        if mlflow:
            mlflow.stop()
        if moto:
            moto.stop()
            print(f"stopped; the workspace is saved in {STATE_DIR} (`make reset` starts empty)", flush=True)
        forget_processes()
    return 0


if __name__ == "__main__":
    sys.exit(main())
