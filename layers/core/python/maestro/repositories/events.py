"""Platform events on EventBridge (the default bus, where Chalice's event handlers listen)."""

from __future__ import annotations

import json

from maestro.aws_clients import client

SOURCE_REGISTRY = "maestro.registry"


def publish(source: str, detail_type: str, detail: dict) -> None:
    response = client("events").put_events(
        Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail, default=str)}]
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused the event: {response['Entries']}")
