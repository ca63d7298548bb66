"""Documents in the artifact bucket: JSON (drop manifests, model manifests, recommender state) and opaque bytes
(model graphs). Artifact content: repositories/artifact_content.py."""

from __future__ import annotations

import json
from typing import Any

from maestro.aws_clients import client
from maestro.settings import get_settings


def put_json(key: str, body: Any) -> None:
    client("s3").put_object(
        Bucket=get_settings().artifact_bucket,
        Key=key,
        Body=json.dumps(body, sort_keys=True).encode(),
        ContentType="application/json",
    )


def get_json(key: str) -> Any:
    response = client("s3").get_object(Bucket=get_settings().artifact_bucket, Key=key)
    return json.loads(response["Body"].read())


def put_bytes(key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
    client("s3").put_object(Bucket=get_settings().artifact_bucket, Key=key, Body=body, ContentType=content_type)


def get_bytes(key: str) -> bytes:
    return client("s3").get_object(Bucket=get_settings().artifact_bucket, Key=key)["Body"].read()
