"""Artifact version content in the artifact bucket: presigned upload and download URLs, object heads, and
streaming an object version through SHA-256. The bytes never pass through the API."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from maestro.aws_clients import client
from maestro.settings import get_settings

STREAM_CHUNK_BYTES = 8 * 1024**2


@dataclass(frozen=True)
class ObjectHead:
    size: int
    version_id: str | None  # None only in an unversioned bucket


@dataclass(frozen=True)
class ObjectDigest:
    size: int
    sha256: str  # hex


def presign_upload(key: str, size_bytes: int, content_type: str, checksum_sha256_b64: str, expires_in: int) -> str:
    """A PUT URL for exactly this object: its length, type and SHA-256 are part of what is signed, so S3
    refuses a body that differs (AWS does; moto does not, hence the platform's own verification)."""
    return client("s3").generate_presigned_url(
        "put_object",
        Params={
            "Bucket": get_settings().artifact_bucket,
            "Key": key,
            "ContentLength": size_bytes,
            "ContentType": content_type,
            "ChecksumSHA256": checksum_sha256_b64,
        },
        ExpiresIn=expires_in,
    )


def presign_download(key: str, version_id: str, content_type: str, expires_in: int, filename: str) -> str:
    """A GET URL pinned to one object version: later writes under the same key never change what it returns. It
    answers as an attachment named `filename`, so a browser saves the file instead of leaving the page for it (the
    bucket is another origin, where an <a download> is ignored)."""
    return client("s3").generate_presigned_url(
        "get_object",
        Params={
            "Bucket": get_settings().artifact_bucket,
            "Key": key,
            "VersionId": version_id,
            "ResponseContentType": content_type,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
        },
        ExpiresIn=expires_in,
    )


def head(key: str, version_id: str | None = None) -> ObjectHead | None:
    """The object's size and version (the current one unless `version_id` is given), or None if absent."""
    from botocore.exceptions import ClientError

    params = {"Bucket": get_settings().artifact_bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    try:
        found = client("s3").head_object(**params)
    except ClientError as error:
        # A missing key is 404; a version id that is malformed or of another key is 400 on AWS.
        if error.response.get("Error", {}).get("Code") in (
            "404",
            "NoSuchKey",
            "NoSuchVersion",
            "400",
            "InvalidArgument",
        ):
            return None
        raise
    return ObjectHead(int(found["ContentLength"]), found.get("VersionId"))


def digest(key: str, version_id: str | None, stop_after_bytes: int) -> ObjectDigest:
    """Stream one object version through SHA-256 in 8 MiB chunks, in constant memory. Reading stops once
    more than `stop_after_bytes` arrived (the size is then wrong anyway and the rest need not be read)."""
    params = {"Bucket": get_settings().artifact_bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    body = client("s3").get_object(**params)["Body"]
    sha256, size = hashlib.sha256(), 0
    try:
        for chunk in body.iter_chunks(STREAM_CHUNK_BYTES):
            sha256.update(chunk)
            size += len(chunk)
            if size > stop_after_bytes:
                break
    finally:
        body.close()
    return ObjectDigest(size, sha256.hexdigest())


def get_version_bytes(key: str, version_id: str | None) -> bytes:
    """One object version's bytes, whole (serving loads graphs of at most a few hundred MiB this way)."""
    params = {"Bucket": get_settings().artifact_bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    body = client("s3").get_object(**params)["Body"]
    try:
        return body.read()
    finally:
        body.close()
