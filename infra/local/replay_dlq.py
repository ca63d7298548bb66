"""Replay the local event handlers' dead-letter queues: every message in `<queue>-dlq` goes back, unchanged, to the
queue it came from, where the local dispatcher delivers it again. Safe to run twice or while events flow: every
handler is idempotent (metric events are keyed by a stable id and stored conditionally, drops by object key and
version, artifact verification and embedding by version), so a replayed event that had already landed changes no
count.

    python -m infra.local.replay_dlq                     # every handler (the endpoint of `make run` or AWS_ENDPOINT_URL)
    python -m infra.local.replay_dlq ingest_process_metrics

In AWS the SQS-fed function's dead letters go back with SQS redrive (`aws sqs start-message-move-task
--source-arn <DLQ arn>`, destination: the source queue); the EventBridge-triggered functions' dead-letter queues
hold the events Lambda could not deliver, replayed by invoking the function with each message body."""

from __future__ import annotations

import argparse
import json
from typing import Any

from maestro.aws_clients import client
from maestro.settings import Settings, get_settings


def dead_letter_url(queue_url: str) -> str:
    return queue_url + "-dlq"


def replay_dead_letters(
    settings: Settings, queues: dict[str, tuple[str, str]], handler_names: list[str] | None = None
) -> dict[str, int]:
    """Move every dead-lettered message of each handler back to its queue; returns handler -> messages moved."""
    sqs = client("sqs", settings)
    moved: dict[str, int] = {}
    for name in handler_names or list(queues):
        url = queues[name][0]
        dlq, moved[name] = dead_letter_url(url), 0
        while True:
            messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                break
            for message in messages:
                # Sent before it is deleted: a crash in between replays it twice, which idempotent handlers absorb.
                sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
                sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
                moved[name] += 1
    return moved


def local_queues(settings: Settings, chalice_app: Any) -> dict[str, tuple[str, str]]:
    """The dispatcher's handler -> (queue URL, kind) map of a running local stack, without creating anything."""
    from infra.local.bootstrap import event_routes

    sqs = client("sqs", settings)
    return {
        route.handler_name: (sqs.get_queue_url(QueueName=route.queue_name(settings))["QueueUrl"], route.kind)
        for route in event_routes(chalice_app, settings)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("handlers", nargs="*", help="handler names (default: every handler)")
    args = parser.parse_args(argv)
    import app

    settings = get_settings()
    print(json.dumps(replay_dead_letters(settings, local_queues(settings, app.app), args.handlers or None)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
