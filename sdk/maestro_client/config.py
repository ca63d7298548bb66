"""Where the CLI keeps its credentials: `credentials.json` in the user's config directory
(`MAESTRO_CONFIG_DIR`, else platformdirs' user config dir for "maestro"), written atomically with mode 0600 in a
0700 directory. Refreshes take a file lock and re-read the file first, so two `maestro` processes never spend
the same single-use refresh token (which would revoke the session)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from maestro_client.transport import Tokens, Transport

CONFIG_DIR_ENV = "MAESTRO_CONFIG_DIR"
CREDENTIALS_FILE = "credentials.json"


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("maestro", appauthor=False))


class CredentialStore:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or config_dir()
        self.path = self.directory / CREDENTIALS_FILE

    def load(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # a damaged file counts as logged out; `maestro login` rewrites it

    def save(self, data: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_name(f".{CREDENTIALS_FILE}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                json.dump(data, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)  # in case the file pre-existed with wider bits
            os.replace(temporary, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    def clear(self) -> bool:
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; refreshes are rare enough
            yield
            return
        with open(self.directory / ".credentials.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def tokens_record(body: dict[str, Any], api_url: str) -> dict[str, Any]:
    """What a login/refresh answer leaves in the credentials file."""
    user = body.get("user") or {}
    tokens = Tokens.from_answer(body)
    return {
        "api_url": api_url,
        "kind": "tokens",
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at": tokens.expires_at,
        "email": user.get("email"),
        "user_id": user.get("id"),
        "tenant_id": user.get("tenant_id"),
        "role": user.get("role"),
    }


class StoredTokens(Tokens):
    """Tokens backed by the credentials file: a refresh first adopts a newer pair another process saved, and
    saves the pair it gets."""

    def __init__(self, store: CredentialStore, record: dict[str, Any]) -> None:
        super().__init__(record["access_token"], record.get("refresh_token"), record.get("expires_at"))
        self.store = store

    def refresh(self, transport: Transport) -> None:
        with self.store.locked():
            current = self.store.load()
            if (
                current.get("kind") == "tokens"
                and current.get("refresh_token")
                and current.get("refresh_token") != self.refresh_token
            ):
                self.access_token = current["access_token"]
                self.refresh_token = current["refresh_token"]
                self.expires_at = current.get("expires_at")
                if not self.expiring():
                    return
            super().refresh(transport)
            self.store.save(
                {
                    **current,
                    "access_token": self.access_token,
                    "refresh_token": self.refresh_token,
                    "expires_at": self.expires_at,
                }
            )
