"""Local event delivery. Chalice local serves only HTTP; here EventBridge rules deliver into SQS queues on the
local endpoint, and this dispatcher long-polls them and calls the same Chalice event handlers Lambda would,
with the same event (the EventBridge envelope, unchanged)."""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from maestro.aws_clients import client
from maestro.settings import Settings


class LambdaContextStub:
    """The few context fields handlers and Powertools read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = "local"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


# Every EventBridge event AWS delivers carries these envelope fields; moto leaves some out of custom events
# sent with PutEvents. Filled in (never overwritten) so handlers see the AWS shape.
ENVELOPE_DEFAULTS = {"version": "0", "account": "000000000000", "region": "us-east-1", "resources": []}


def eventbridge_envelope(event: dict) -> dict:
    return {**ENVELOPE_DEFAULTS, **event}


# A failed delivery is received again after this many seconds (Lambda retries an async event after about a minute
# and an SQS record after the queue's visibility timeout, 180 s deployed); after the queue's maxReceiveCount (3, as
# the deployed redrive policies) moto's SQS moves it to the handler's dead-letter queue (`<queue>-dlq`), from which
# `python -m infra.local.replay_dlq` puts it back.
RETRY_DELAY_SECONDS = 1


class EventDispatcher:
    def __init__(
        self,
        settings: Settings,
        queues: dict[str, tuple[str, str]],
        handlers: dict[str, Callable[[dict, Any], Any]],
        on_error: Callable[[str, BaseException], None] | None = None,
        retry_delay_s: int = RETRY_DELAY_SECONDS,
    ) -> None:
        self._sqs = client("sqs", settings)
        self._retry_delay_s = retry_delay_s
        self._queues = queues
        self._handlers = handlers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0  # handlers running now
        self._busy_lock = threading.Lock()
        self._on_error = on_error or (lambda name, exc: traceback.print_exception(exc))

    def poll_once(self, handler_name: str, wait_seconds: int = 1) -> int:
        """Receive up to 10 messages for one handler, invoke it, delete those it handled."""
        url, kind = self._queues[handler_name]
        messages = self._sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return 0
        with self._busy_lock:
            self._busy += 1
        try:
            self._deliver(handler_name, url, kind, messages)
        finally:
            with self._busy_lock:
                self._busy -= 1
        return len(messages)

    def _deliver(self, handler_name: str, url: str, kind: str, messages: list[dict]) -> None:
        if kind == "sqs":
            self._deliver_batch(handler_name, url, messages)
            return
        for message in messages:
            try:
                self._handlers[handler_name](
                    eventbridge_envelope(json.loads(message["Body"])), LambdaContextStub(handler_name)
                )
            except Exception as exc:  # left in the queue: redelivered, then dead-lettered like Lambda's retries
                self._on_error(handler_name, exc)
                self._retry_later(url, message)
                continue
            self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def wait_idle(self, timeout_s: float = 60) -> None:
        """Until every queue is empty (nothing waiting or in flight) and no handler runs: for tests that measure
        one request path without the background functions working on the same tenant meanwhile."""
        deadline = time.monotonic() + timeout_s
        quiet_checks = 0
        while quiet_checks < 2:  # twice in a row: a handler may have just received a message
            if time.monotonic() > deadline:
                raise TimeoutError(f"event handlers still busy after {timeout_s} s")
            with self._busy_lock:
                busy = self._busy
            queued = 0
            for url, _kind in self._queues.values():
                attributes = self._sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                queued += int(attributes["ApproximateNumberOfMessages"])
                queued += int(attributes["ApproximateNumberOfMessagesNotVisible"])
            quiet_checks = quiet_checks + 1 if busy == 0 and queued == 0 else 0
            time.sleep(0.1)

    def _deliver_batch(self, handler_name: str, url: str, messages: list[dict]) -> None:
        """An SQS event source mapping with ReportBatchItemFailures: only the failed records stay queued."""
        arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }
        try:
            response = self._handlers[handler_name](event, LambdaContextStub(handler_name)) or {}
        except Exception as exc:  # the whole batch failed: everything is redelivered
            self._on_error(handler_name, exc)
            for message in messages:
                self._retry_later(url, message)
            return
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                self._retry_later(url, message)

    def _retry_later(self, url: str, message: dict) -> None:
        self._sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=self._retry_delay_s
        )

    def _loop(self, handler_name: str) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(handler_name)
            except Exception as exc:  # endpoint hiccup: report and keep polling
                self._on_error(handler_name, exc)
                self._stop.wait(1)

    def start(self) -> EventDispatcher:
        for name in self._queues:
            thread = threading.Thread(target=self._loop, args=(name,), name=f"dispatch-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)


def chalice_handlers(app_module: Any, handler_names: list[str]) -> dict[str, Callable[[dict, Any], Any]]:
    """The module-level Chalice event handlers (callable as Lambda would call them: event, context)."""
    return {name: getattr(app_module, name) for name in handler_names}
