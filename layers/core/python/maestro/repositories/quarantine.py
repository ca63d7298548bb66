"""Rejected metric events kept beside their source (S3 drops and ProcessMetrics events alike): JSON lines under
`quarantine/` in the artifact bucket, which expires them (infra/template/storage.py)."""

from __future__ import annotations

import json
import tempfile
from typing import Any

from maestro.aws_clients import client
from maestro.settings import get_settings


class QuarantineWriter:
    """Rejected lines as JSON lines {line, reason, raw}, spooled (memory up to 4 MiB, then /tmp)."""

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024, mode="w+b")
        self.count = 0

    def add(self, line: int, reason: str, raw: Any) -> None:
        excerpt = raw if isinstance(raw, (dict, list, str, int, float)) or raw is None else str(raw)
        self._file.write(json.dumps({"line": line, "reason": reason, "raw": excerpt}, default=str).encode() + b"\n")
        self.count += 1

    def upload(self, key: str) -> None:
        self._file.seek(0)
        client("s3").upload_fileobj(
            self._file, get_settings().artifact_bucket, key, ExtraArgs={"ContentType": "application/x-ndjson"}
        )
