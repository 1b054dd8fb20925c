"""One HTTP engine for every vendor: timeouts, retries with backoff, a classify hook, safe logs."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

import httpx

from collectors.http.errors import (
    HttpError,
    MalformedResponse,
    RequestLimitError,
    RetriesExhausted,
    TransientError,
)

log = logging.getLogger("collectors.http")
T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0)
_MESSAGE_CHARS = 500


class Action(Enum):
    """What to do with a response: use it, retry it, fail the call, or stop the whole source."""

    OK = "ok"
    RETRY = "retry"
    FAIL = "fail"
    STOP = "stop"


@dataclass(frozen=True)
class Verdict:
    """A classify() answer: the action and the reason shown in logs and errors."""

    action: Action
    reason: str = ""


Classifier = Callable[[httpx.Response], "Verdict | None"]


def default_classify(response: httpx.Response) -> Verdict:
    """2xx ok; 429, 5xx retried; any other status fails fast with the vendor's message."""
    status = response.status_code
    if 200 <= status < 300:
        return Verdict(Action.OK)
    if status == 429:
        return Verdict(Action.RETRY, rate_limited(response))
    if status >= 500:
        return Verdict(Action.RETRY, f"HTTP {status}")
    return Verdict(Action.FAIL, f"HTTP {status}")


def rate_limited(response: httpx.Response) -> str:
    """A 429 in words: rate limited, with the wait the server asked for when it said one."""
    after = response.headers.get("Retry-After")
    return f"HTTP 429 rate limited (Retry-After: {after.strip()})" if after else "HTTP 429 rate limited"


@dataclass
class RetryPolicy:
    """Bounds on retrying: attempts, a total time budget, and exponential backoff with full jitter.

    max_attempts and budget_seconds bound one call; deadline_seconds bounds the source: once it has gone
    that long without a usable answer (every call failing), it gives up, and its later calls are not sent.
    """

    max_attempts: int = 6
    budget_seconds: float = 300.0
    deadline_seconds: float | None = None
    base_seconds: float = 1.0
    cap_seconds: float = 60.0
    max_retry_after: float = 300.0
    # injectable for tests: nothing here ever really sleeps in the suite
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    rand: Callable[[], float] = random.random

    def backoff(self, attempt: int) -> float:
        """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**attempt))."""
        return self.rand() * min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1))


def policy_for(cfg: Any, **overrides: Any) -> RetryPolicy:
    """A source's retry budget from its config section (retry_max_attempts, retry_deadline_seconds)."""
    get = cfg.get if hasattr(cfg, "get") else (lambda _k, _d=None: None)
    attempts, deadline = get("retry_max_attempts"), get("retry_deadline_seconds")
    kw: dict[str, Any] = {}
    if attempts:
        kw["max_attempts"] = max(1, int(attempts))
    if deadline:
        kw["deadline_seconds"] = float(deadline)  # bounds every call too: a call's failures are the source's
    return RetryPolicy(**(kw | overrides))


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, (when - now).total_seconds())
    return seconds if seconds >= 0 and seconds == seconds else None


def where(request: httpx.Request) -> str:
    """Method, host and path of a request: what logs and errors may say about a call (no query string)."""
    return f"{request.method} {request.url.host}{request.url.path}"


# SOQL parse errors echo the query, a caret and "ERROR at Row:1:Column:12" before the sentence that matters
_QUERY_ECHO = re.compile(r"^\s*.*?\n\s*\^\s*\nERROR at Row:\d+:Column:\d+\s*\n", re.DOTALL)


def _sentence(message: str) -> str:
    """A vendor message without its echo of the query: queries never go into errors or logs, and a long
    one would push the sentence naming the unknown field or object past the length kept."""
    return _QUERY_ECHO.sub("", message, count=1)


def error_message(response: httpx.Response) -> tuple[str, str | None]:
    """The vendor's own words from an error body, and its error code when it has one."""
    text = response.content.decode("utf-8", errors="replace").strip()
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return (text[:_MESSAGE_CHARS] or "(empty body)"), None
    # Salesforce: [{"message": ..., "errorCode": ...}, ...]
    if isinstance(doc, list) and doc and all(isinstance(e, dict) for e in doc):
        parts = [f"{e.get('errorCode', '?')}: {_sentence(str(e.get('message', '')))}".strip() for e in doc]
        codes = [str(e["errorCode"]) for e in doc if e.get("errorCode")]
        return "; ".join(parts)[:_MESSAGE_CHARS], (codes[0] if codes else None)
    if isinstance(doc, dict):
        details = doc.get("o:errorDetails")  # NetSuite / Oracle REST
        if isinstance(details, list) and details and all(isinstance(d, dict) for d in details):
            parts = [f"{d.get('o:errorCode', '?')}: {d.get('detail', '')}" for d in details]
            codes = [str(d["o:errorCode"]) for d in details if d.get("o:errorCode")]
            return "; ".join(parts)[:_MESSAGE_CHARS], (codes[0] if codes else None)
        if isinstance(doc.get("error"), str):  # OAuth token endpoints (RFC 6749 §5.2)
            desc = doc.get("error_description")
            msg = f"{doc['error']}: {desc}" if isinstance(desc, str) else doc["error"]
            return msg[:_MESSAGE_CHARS], doc["error"]
        err = doc.get("error")  # OData v4 / Dataverse
        if isinstance(err, dict) and isinstance(err.get("message"), dict):  # OData v2: message {lang, value}
            err = {**err, "message": str(err["message"].get("value", ""))}
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            code = err.get("code") if isinstance(err.get("code"), str) else None
            return f"{code or '?'}: {err['message']}"[:_MESSAGE_CHARS], code
    return text[:_MESSAGE_CHARS], None


def decode_json(response: httpx.Response) -> Any:
    """Parse a body as JSON or raise MalformedResponse (truncated, not JSON, absurdly nested)."""
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError) as exc:
        size = len(response.content)
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise MalformedResponse(
            f"{where(response.request)}: body is not valid JSON ({why}; {size} bytes, truncated or malformed)"
        ) from None


def _without_call(message: str, call: str) -> str:
    """A reason the retry loop prefixes with the call itself, so it is not said twice."""
    return message[len(call) + 2 :] if message.startswith(call + ": ") else message


class HttpClient:
    """httpx.Client plus the retry loop: every vendor call goes through request_json()."""

    def __init__(
        self,
        *,
        base_url: str = "",
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        policy: RetryPolicy | None = None,
        classify: Classifier | None = None,
        transport: httpx.BaseTransport | None = None,
        vendor: str = "",
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.vendor = vendor
        self._classify = classify
        self._tripped: RequestLimitError | None = None
        # the source's deadline: when its current run of failures began, and why it gave up (if it did)
        self._failing_since: float | None = None
        self._failed_attempts = 0
        self._gave_up: str | None = None
        self._client = httpx.Client(
            base_url=base_url,
            auth=auth,
            headers=headers,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"HttpClient(vendor={self.vendor!r}, base_url={str(self._client.base_url)!r})"

    @property
    def httpx_client(self) -> httpx.Client:
        return self._client

    def close(self) -> None:
        self._client.close()

    def absolute(self, url: str | httpx.URL) -> httpx.URL:
        """The absolute URL a (possibly relative) url resolves to against the base URL."""
        return self._client.build_request("GET", url).url

    def classify(self, response: httpx.Response) -> Verdict:
        verdict = self._classify(response) if self._classify else None
        return verdict or default_classify(response)

    def request_json(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        parse: Callable[[Any], T] | None = None,
        sensitive: Iterable[str] = (),
    ) -> T | Any:
        """Send with retries; return the parsed body (through parse) or raise one of the project's errors."""

        def read(response: httpx.Response) -> Any:
            doc = decode_json(response)
            return parse(doc) if parse else doc

        return self.request_response(
            method, url, params=params, json_body=json_body, headers=headers, read=read, sensitive=sensitive
        )

    def request_response(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        read: Callable[[httpx.Response], T],
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        sensitive: Iterable[str] = (),
    ) -> T:
        """request_json for bodies that are not JSON (Bulk API CSV pages) or answers in headers: read() gets the
        successful response; its MalformedResponse is retried once, then fails, as a bad JSON page does."""
        hide = [s for s in sensitive if s]
        malformed_seen = False

        def handle(response: httpx.Response) -> Any:
            nonlocal malformed_seen
            call = where(response.request)
            verdict = self.classify(response)
            if verdict.action is Action.RETRY:
                after = retry_after_seconds(response.headers.get("Retry-After"), self.policy.now())
                raise TransientError(verdict.reason or f"HTTP {response.status_code}", after)
            if verdict.action is not Action.OK:
                raise self._error(call, response, verdict, hide)
            try:
                return read(response)
            except MalformedResponse as exc:
                # decode_json's message already names the call: said once, not "call: call: ..."
                if malformed_seen:  # retried once as transient; the same twice is the vendor's answer
                    raise MalformedResponse(exc.detail) from None
                malformed_seen = True
                raise TransientError(_without_call(exc.detail, call)) from None

        def build() -> httpx.Request:
            return self._client.build_request(method, url, params=params, json=json_body, headers=headers)

        return self.send_with_retries(build, handle)

    def send_with_retries(
        self,
        build: Callable[[], httpx.Request],
        handle: Callable[[httpx.Response], T],
        *,
        auth: Any = httpx.USE_CLIENT_DEFAULT,  # None sends without auth (the token request itself)
    ) -> T:
        """The retry loop: handle() returns a value, raises TransientError to retry, or raises to fail."""
        if self._tripped is not None:
            raise self._tripped
        started = self.policy.clock()
        attempt = 0
        while True:
            attempt += 1
            request = build()  # rebuilt per attempt: fresh auth headers, fresh OAuth 1.0a nonce
            if self._gave_up is not None:  # the source's deadline is spent: do not hammer it per stream
                raise RetriesExhausted(f"{where(request)}: not sent; {self._gave_up}")
            retry_after: float | None = None
            try:
                response = self._client.send(request, auth=auth)
                log.debug("%s -> %s", where(request), response.status_code)
                value = handle(response)
            except TransientError as exc:
                reason, retry_after = str(exc), exc.retry_after
            except httpx.TransportError as exc:
                reason = f"connection error ({type(exc).__name__})"
            except httpx.DecodingError:
                reason = "response body could not be decoded"
            else:
                self._failing_since, self._failed_attempts = None, 0
                return value
            if self._failing_since is None:
                self._failing_since = self.policy.clock()
            self._failed_attempts += 1
            self._wait(where(request), attempt, reason, retry_after, started)

    def _error(self, call: str, response: httpx.Response, verdict: Verdict, hide: list[str]) -> HttpError:
        message, code = error_message(response)
        for s in hide:
            message = message.replace(s, "<query>")
        text = f"{call} failed with HTTP {response.status_code}: {message}"
        if verdict.action is Action.STOP:
            self._tripped = RequestLimitError(
                f"{text} ({verdict.reason})", status=response.status_code, code=code
            )
            return self._tripped
        return HttpError(text, status=response.status_code, code=code)

    def _wait(self, call: str, attempt: int, reason: str, retry_after: float | None, started: float) -> None:
        """Sleep before the next attempt, or raise when attempts, the call's budget or the source's deadline
        are spent. Retry-After is honoured when it fits the budget; a longer wait gives up at once."""
        p = self.policy
        now = p.clock()
        tries = f"{attempt} attempt{'s' if attempt != 1 else ''}"
        if attempt >= p.max_attempts:
            raise RetriesExhausted(
                f"{call}: gave up after {tries} (retry_max_attempts); last error: {reason}"
            )
        delay = retry_after if retry_after is not None else p.backoff(attempt)
        if retry_after is not None and retry_after > p.max_retry_after:
            raise RetriesExhausted(
                f"{call}: gave up after {tries}: server asked to wait {retry_after:g}s, too long;"
                f" last error: {reason}"
            )
        if p.deadline_seconds is not None and self._failing_since is not None:
            failing = now - self._failing_since
            if failing + delay > p.deadline_seconds:
                asked = f", server asked to wait {retry_after:g}s" if retry_after is not None else ""
                n = self._failed_attempts
                self._gave_up = (
                    f"the source's retry deadline of {p.deadline_seconds:g}s (retry_deadline_seconds) was spent"
                    f" after {n} failed attempt{'s' if n != 1 else ''} over {failing:.1f}s{asked};"
                    f" last error: {reason}"
                )
                raise RetriesExhausted(f"{call}: gave up: {self._gave_up}")
        if now - started + delay > p.budget_seconds:
            raise RetriesExhausted(
                f"{call}: gave up after {tries}, retry budget of {p.budget_seconds:g}s spent;"
                f" last error: {reason}"
            )
        log.warning("%s: %s; retry %d/%d in %.1fs", call, reason, attempt, p.max_attempts - 1, delay)
        p.sleep(delay)


class _DropUnsafe(logging.Filter):
    """httpx logs full URLs (query strings: SOQL, SuiteQL) at INFO; keep only method, host and path."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 2 and isinstance(args[1], httpx.URL):
            url = args[1]
            record.args = (args[0], f"{url.scheme}://{url.host}{url.path}", *args[2:])
        return True


class _DropDebug(logging.Filter):
    """httpcore's trace logs carry raw response headers (cookies): never let them through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


logging.getLogger("httpx").addFilter(_DropUnsafe())
for _name in ("httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy"):
    logging.getLogger(_name).addFilter(_DropDebug())
