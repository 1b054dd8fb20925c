"""One redaction layer: every log line, error message, ledger row, warehouse row and alert passes redact().

What it hides: bearer/OAuth/Basic credentials and `Authorization` values, token/secret/key/password fields
(query strings, forms, JSON, `key=value` prose), JWTs and PEM keys, the path and query of webhook URLs (a
Slack webhook's secret is its path: scheme and host stay), every URL's query string, and any substring equal
to a secret value this process knows: the configured secrets (settings marked secret, read from the
environment or .streamlit/secrets.toml), CLOSEDLOOP_* environment variables that name a secret or a webhook
URL, and every credential the collectors hold or are handed (collectors.auth.Secret registers itself).
Vendor error bodies that echo a request's token are caught by the last rule, whatever their shape.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

MASK = "***"
# shorter values would mask ordinary words ("1", "abc"); real secrets and tokens are longer
_MIN_SECRET = 6
_KNOWN: set[str] = set()
_LOCK = threading.Lock()
_PATTERN: re.Pattern[str] | None = None  # the known values as one alternation, longest first

# the names of fields whose values are credentials, wherever they are written
_KEYS = (
    r"(?:access_token|refresh_token|id_token|token|token_secret|client_secret|consumer_secret|secret|"
    r"api[_-]?key|apikey|x-api-key|password|passwd|pwd|client_assertion|assertion|private_key|"
    r"oauth_signature|oauth_token|oauth_consumer_key|oauth_nonce|signature|session_?id|"
    r"authorization|cookie|set-cookie)"
)
_RULES: list[tuple[re.Pattern[str], str]] = [
    # PEM blocks (private keys, certificates)
    (
        re.compile(r"-----BEGIN [A-Z ]+-----.*?(?:-----END [A-Z ]+-----|$)", re.DOTALL),
        "-----" + MASK + "-----",
    ),
    # Authorization / Proxy-Authorization header values, in HTTP dumps, dict reprs and JSON
    (
        re.compile(r"""((?:proxy-)?authorization['"]?\s*[:=]\s*['"]?)([^'"\r\n,}]+)""", re.IGNORECASE),
        r"\1" + MASK,
    ),
    # scheme credentials in prose: Bearer xyz, Basic xyz, OAuth realm=..., oauth_signature="..."
    # (any run of token characters, Salesforce session ids carry '!'; not a lower-case word: 'bearer tokens')
    (re.compile(r"\b((?i:bearer|basic))\s+(?![a-z]+\b)[^\s'\",;)}\]]{6,}"), r"\1 " + MASK),
    (re.compile(r"\bOAuth\s+(?:realm|oauth_)[^\r\n]*", re.IGNORECASE), "OAuth " + MASK),
    # JSON members: "access_token": "xyz"
    (re.compile(r"""(["']""" + _KEYS + r"""["']\s*:\s*["'])([^"']*)""", re.IGNORECASE), r"\1" + MASK),
    # key=value in query strings, forms and prose: client_secret=xyz, password: xyz
    (
        re.compile(r"""(\b""" + _KEYS + r"""\s*[=:]\s*)(?!\*\*\*)([^\s&;,"'<>)]+)""", re.IGNORECASE),
        r"\1" + MASK,
    ),
    # JWTs (header.payload.signature, base64url, header starts with {" = eyJ)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    # well-known token shapes: Slack xox?- tokens, GitHub ghp_, Stripe/OpenAI sk-
    (
        re.compile(r"\b(?:xox[abposr]-[A-Za-z0-9-]{8,}|gh[pousr]_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{16,})\b"),
        MASK,
    ),
]
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^/\s?#'\"<>]+)([^\s?#'\"<>]*)(\?[^\s#'\"<>]*)?", re.IGNORECASE)
# a URL whose path is its credential: Slack/Discord/Teams/Zapier/generic incoming webhooks
_WEBHOOK = re.compile(r"hook", re.IGNORECASE)


def _url(match: re.Match[str]) -> str:
    """Keep scheme and host (and the path, unless a webhook's); a webhook's path and any query string go."""
    scheme, host, path = match.group(1), match.group(2), match.group(3)
    if "@" in host:  # user:password@host keeps the user; a lone userinfo may be a token (https://TOKEN@host)
        userinfo, at = host.rsplit("@", 1)
        user, colon, _password = userinfo.partition(":")
        host = (f"{user}:{MASK}" if colon else MASK) + "@" + at
    if path and (_WEBHOOK.search(host) or _WEBHOOK.search(path)):
        path = "/" + MASK
    return scheme + host + path  # a query string is dropped whole: SOQL, SuiteQL, signed URLs, api keys


def register(*values: Any) -> None:
    """Remember secret values: from now on any text containing one is masked."""
    global _PATTERN
    fresh = set()
    for value in values:
        if value is None:
            continue
        text = value if isinstance(value, str) else str(value)
        for candidate in {text, text.strip()}:
            if len(candidate) >= _MIN_SECRET and candidate not in _KNOWN:
                fresh.add(candidate)
    if not fresh:
        return
    with _LOCK:
        _KNOWN.update(fresh)
        ordered = sorted(_KNOWN, key=len, reverse=True)
        _PATTERN = re.compile("|".join(re.escape(v) for v in ordered))


def forget_all() -> None:
    """Tests only: start from no known values."""
    global _PATTERN
    with _LOCK:
        _KNOWN.clear()
        _PATTERN = None


_SECRET_ENV = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE_KEY|API_KEY|APIKEY|_KEY$|_URL$|COOKIE)")


def register_environment(environ: dict[str, str] | None = None) -> None:
    """CLOSEDLOOP_* variables that hold a secret or a webhook URL (CLOSEDLOOP_ALERTS_<NAME>_URL)."""
    env = os.environ if environ is None else environ
    for key, value in env.items():
        if key.startswith("CLOSEDLOOP_") and _SECRET_ENV.search(key):
            register(value)
            if key.endswith("_URL"):  # a webhook's secret is its path, however the URL is later spelled
                parts = urlsplit(value.strip())
                register(parts.path if len(parts.path) > 1 else None, parts.query or None)


def register_config(cfg: Any) -> None:
    """The loaded config's secret values: each source's secret settings (env or secrets.toml), webhook URLs."""
    from closedloop import settings as cfgmod

    register_environment()
    for key, scfg in (getattr(cfg, "sources", None) or {}).items():
        try:
            secret_names = [s.name for s in cfgmod.source_settings(scfg.get("kind") or key) if s.secret]
        except Exception:  # an unknown kind is reported by the config check; nothing to register
            continue
        for name in secret_names:
            try:
                register(cfgmod.secret(key, name))
            except Exception:  # an unreadable secrets.toml is reported where the secret is needed
                continue
    try:
        hooks = cfg.get("alerts", "webhooks") or []
    except Exception:
        hooks = []
    for hook in hooks:
        name = hook.get("name") if isinstance(hook, dict) else None
        if name:
            register(os.environ.get(f"CLOSEDLOOP_ALERTS_{name}_URL".upper()))


def redact(text: Any) -> Any:
    """The text with every credential masked; None and non-strings other than exceptions pass through."""
    if text is None:
        return None
    if isinstance(text, BaseException):
        text = str(text)
    if not isinstance(text, str) or not text:
        return text
    pattern = _PATTERN
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for rule, repl in _RULES:
        text = rule.sub(repl, text)
    return _URL.sub(_url, text)


def redact_all(values: Iterable[Any]) -> list[Any]:
    return [redact(v) for v in values]


def redact_tree(value: Any) -> Any:
    """Every string inside dicts/lists/tuples redacted (run --json, ledger JSON, alert payloads)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_tree(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """Formats the record's message and traceback now and stores them redacted: handlers see only that."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub(record)
        return True


def scrub(record: logging.LogRecord) -> None:
    if getattr(record, "_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what there is, redacted
        message = f"{record.msg} {record.args}"
    record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._redacted = True  # type: ignore[attr-defined]


_INSTALLED = False
_FILTER = RedactingFilter()


def install() -> None:
    """Every log record of the process is redacted at creation (a record factory: child loggers' records too,
    whatever handlers are added later), and the filter sits on the root logger, its handlers and httpx's."""
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        scrub(record)
        return record

    logging.setLogRecordFactory(factory)
    root = logging.getLogger()
    for target in (root, *root.handlers, *(logging.getLogger(n) for n in ("httpx", "httpcore"))):
        target.addFilter(_FILTER)
    register_environment()
