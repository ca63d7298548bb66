"""moto in server mode, with DynamoDB requests serialised.

DynamoDB makes each item write atomic and runs transactions serializably; moto's in-memory backend does
neither under a threaded server (two concurrent conditional puts of the same key can both succeed). This runs
the same moto server app (`moto_server` does exactly this, minus the lock) and takes one lock around each
DynamoDB request, so the local endpoint keeps DynamoDB's guarantees while S3, SQS long polls and the rest stay
concurrent.

    python -m infra.local.moto_app -H 127.0.0.1 -p 4566
"""
from __future__ import annotations

import argparse
import os
import threading
from typing import Any, Callable, Iterable

_dynamodb_lock = threading.Lock()


class SerialiseDynamoDB:
    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with _dynamodb_lock:
            # Consume the response inside the lock: the backend does its work while the body is produced.
            return list(self.app(environ, start_response))


def main(argv: list[str] | None = None) -> None:
    from moto.moto_server.threaded_moto_server import DomainDispatcherApplication, create_backend_app
    from moto.moto_server.werkzeug_app import MotoRequestHandler  # noqa: F401 - same handler moto_server uses
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app: Any = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, SerialiseDynamoDB(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
