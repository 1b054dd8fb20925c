"""Error types of the HTTP core: each says what failed and why, never a token, secret or query string."""

from __future__ import annotations

from collectors.base import CollectorError


class HttpError(CollectorError):
    """A vendor answered with an error we do not retry: names the call, the status and the vendor's message."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class RequestLimitError(HttpError):
    """The org's API allowance is used up (e.g. Salesforce TotalRequests): stop the source, do not spin."""


class AuthError(HttpError):
    """Credentials were refused: the token endpoint said no, or a fresh token was rejected too."""


class RetriesExhausted(HttpError):
    """A transient failure outlasted the retry policy (attempts or total time budget)."""


class MalformedResponse(CollectorError):
    """A body that is not the JSON we expect: truncated, not JSON, or the wrong shape."""


class TransientError(Exception):
    """A failure worth another attempt (a token endpoint 5xx, a body read once garbled): the loop retries it."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
