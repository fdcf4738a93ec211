"""BlobStore on S3: one bucket, optionally under a key prefix."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from autolabel.aws.errors import is_not_found
from autolabel.domain.errors import NotFound
from autolabel.ports import BlobStore, validate_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_CACHE = Path(tempfile.gettempdir()) / "autolabel-blobs"


class S3BlobStore(BlobStore):
    def __init__(self, client: S3Client, bucket: str, prefix: str = "", cache_dir: Path | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.cache_dir = cache_dir or DEFAULT_CACHE

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        # S3 PUTs are atomic: a reader sees the old object or the new one, never half.
        if content_type:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        else:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if is_not_found(exc):
                raise NotFound(f"no blob {key!r}") from None
            raise
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        return self._etag(key) is not None

    def size(self, key: str) -> int:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if is_not_found(exc):
                raise NotFound(f"no blob {key!r}") from None
            raise
        return int(head["ContentLength"])

    def _etag(self, key: str) -> str | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        return head["ETag"].strip('"')

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        # ListObjectsV2 returns keys in UTF-8 byte order, which is what sorted() gives for the
        # characters validate_key allows.
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for entry in page.get("Contents", []):
                yield entry["Key"][len(self.prefix) :]

    def local_path(self, key: str) -> Path:
        """Download once per container: the cache file is named by key and ETag, so an
        overwritten object is fetched again and an unchanged one costs one HEAD."""
        etag = self._etag(key)
        if etag is None:
            raise NotFound(f"no blob {key!r}")
        digest = hashlib.sha256(f"{self.bucket}/{self._key(key)}".encode()).hexdigest()[:32]
        path = self.cache_dir / digest / f"{etag}{Path(key).suffix}"
        if path.is_file():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        os.close(handle)
        try:
            self.client.download_file(self.bucket, self._key(key), temp)
            os.replace(temp, path)  # concurrent downloads of one key both end in a whole file
        except ClientError as exc:
            Path(temp).unlink(missing_ok=True)
            if is_not_found(exc):
                raise NotFound(f"no blob {key!r}") from None
            raise
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return path

    def url(self, key: str, expires_s: int = 3600) -> str:
        """A presigned GET; reviewers' browsers fetch images straight from S3."""
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=expires_s
        )
