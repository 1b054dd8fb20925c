"""OAuth 1.0a request signing (RFC 5849), as NetSuite token-based auth uses it: HMAC-SHA256 over the base string."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping

import httpx


def pct(value: str) -> str:
    """RFC 5849 §3.6 percent-encoding: everything but ALPHA, DIGIT, '-', '.', '_', '~'."""
    return urllib.parse.quote(value, safe="-._~")


def oauth1_base_string(request: httpx.Request, oauth_params: Mapping[str, str]) -> str:
    """RFC 5849 §3.4.1 signature base string: query params and form bodies count, a JSON body does not."""
    url = request.url
    pairs = urllib.parse.parse_qsl(url.query.decode("ascii"), keep_blank_values=True)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        pairs += urllib.parse.parse_qsl(request.content.decode("utf-8"), keep_blank_values=True)
    pairs += [(k, v) for k, v in oauth_params.items() if k not in ("realm", "oauth_signature")]
    normalized = "&".join(f"{k}={v}" for k, v in sorted((pct(k), pct(v)) for k, v in pairs))
    port = f":{url.port}" if url.port is not None else ""  # httpx drops default ports already
    base_uri = f"{url.scheme.lower()}://{url.host.lower()}{port}{url.raw_path.split(b'?')[0].decode('ascii')}"
    return "&".join((request.method.upper(), pct(base_uri), pct(normalized)))


def oauth1_signature(base_string: str, consumer_secret: str, token_secret: str, method: str) -> str:
    """HMAC-SHA256 (what NetSuite accepts) or HMAC-SHA1 (RFC 5849's own example), base64."""
    digest = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}[method]
    key = f"{pct(consumer_secret)}&{pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), digest).digest()).decode()
