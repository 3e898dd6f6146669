"""Presigned GET URLs that also name the downloaded file.

`obstore.sign` signs the path alone; a browser following the API's 307 then saves the
object under its key's last segment ("part-00000.csv"). S3 answers with the
Content-Disposition given in a signed `response-content-disposition` query
parameter, so for a file name we sign the URL ourselves: AWS Signature Version 4 in
query-string form (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html),
path-style, as obstore addresses the bucket.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from synthdata.artifacts.base import StoreError

if TYPE_CHECKING:
    from synthdata.artifacts.config import StoreConfig

MAX_SECONDS = 7 * 24 * 3600  # SigV4's limit on X-Amz-Expires


def _encode(value: str, safe: str = "") -> str:
    # SigV4 encodes everything but the RFC 3986 unreserved characters.
    return quote(value, safe="-_.~" + safe)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def content_disposition(filename: str) -> str:
    """`attachment` with the name as plain ASCII and as RFC 5987 UTF-8."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{_encode(filename)}"


def presign_get(
    config: StoreConfig, key: str, seconds: int, filename: str, now: datetime | None = None
) -> str:
    """A URL that GETs `key` (the full key in the bucket) for `seconds`, saved as `filename`."""
    if not config.access_key_id or config.secret_access_key is None:
        raise StoreError("presigning with a file name needs static credentials")
    if not 0 < seconds <= MAX_SECONDS:
        raise StoreError(f"a presigned URL lives 1 to {MAX_SECONDS} seconds, not {seconds}")
    endpoint = config.endpoint or f"https://s3.{config.region}.amazonaws.com"
    parts = urlsplit(endpoint)
    base_path = parts.path.rstrip("/")
    path = f"{base_path}/{_encode(config.bucket)}/{_encode(key, safe='/')}"
    moment = now or datetime.now(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    scope = f"{day}/{config.region}/s3/aws4_request"
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{config.access_key_id}/{scope}",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": str(seconds),
        "X-Amz-SignedHeaders": "host",
        "response-content-disposition": content_disposition(filename),
    }
    if config.session_token is not None:
        query["X-Amz-Security-Token"] = config.session_token.get_secret_value()
    canonical_query = "&".join(
        f"{_encode(name)}={_encode(value)}" for name, value in sorted(query.items())
    )
    canonical_request = "\n".join(
        ["GET", path, canonical_query, f"host:{parts.netloc}", "", "host", "UNSIGNED-PAYLOAD"]
    )
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            stamp,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    secret = config.secret_access_key.get_secret_value()
    key_bytes = _hmac(f"AWS4{secret}".encode(), day)
    for part in (config.region, "s3", "aws4_request"):
        key_bytes = _hmac(key_bytes, part)
    signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{parts.scheme}://{parts.netloc}{path}?{canonical_query}&X-Amz-Signature={signature}"
