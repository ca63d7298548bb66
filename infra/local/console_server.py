"""The web console's static files (console/dist, built by `make console`) on their own origin, as S3 serves them
when deployed. `/config.json` is answered here, naming this stack's API, so the same build runs anywhere."""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONSOLE_DIST = PROJECT_DIR / "console" / "dist"


class ConsoleRequestHandler(SimpleHTTPRequestHandler):
    api_base_url = ""

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's naming
        if self.path.split("?", 1)[0] == "/config.json":
            body = json.dumps({"api_base_url": self.api_base_url}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet: the API server logs the interesting part
        pass


def create_console_server(
    api_base_url: str, host: str = "127.0.0.1", port: int = 8001, directory: Path = CONSOLE_DIST
) -> ThreadingHTTPServer:
    if not (directory / "index.html").is_file():
        raise FileNotFoundError(f"{directory}/index.html is missing: build the console with `make console`")
    handler = type("BoundConsoleHandler", (ConsoleRequestHandler,), {"api_base_url": api_base_url})
    server = ThreadingHTTPServer((host, port), partial(handler, directory=str(directory)))
    server.daemon_threads = True
    return server


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="console", daemon=True)
    thread.start()
    return thread
