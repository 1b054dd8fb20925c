"""The one redaction layer: what it masks, what it keeps, and that every log record passes it."""

from __future__ import annotations

import logging

import httpx
import pytest

from closedloop import redact as r
from closedloop import settings


@pytest.fixture(autouse=True)
def clean_registry():
    r.forget_all()
    yield
    r.forget_all()


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        (
            'POST https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX "HTTP/1.1 200 OK"',
            ["T000", "XXXXsecretXXXX"],
            ["https://hooks.slack.com/", "HTTP/1.1 200 OK"],
        ),
        (
            "GET https://acme.my.salesforce.com/services/data/v66.0/query?q=SELECT+Id+FROM+Account",
            ["SELECT", "q=", "?"],
            ["https://acme.my.salesforce.com/services/data/v66.0/query"],
        ),
        (
            "INVALID_SESSION_ID: got Bearer 00Dxx!AQ4AQFakeToken123",
            ["00Dxx!AQ4AQFakeToken123"],
            ["Bearer ***"],
        ),
        ("{'Authorization': 'Basic dXNlcjpwYXNz', 'Accept': 'json'}", ["dXNlcjpwYXNz"], ["'Accept': 'json'"]),
        ('{"access_token": "tok-123456", "expires_in": 3600}', ["tok-123456"], ['"expires_in": 3600']),
        (
            "grant_type=client_credentials&client_secret=abc123xyz",
            ["abc123xyz"],
            ["grant_type=client_credentials"],
        ),
        (
            'OAuth realm="123_SB1", oauth_consumer_key="ck", oauth_signature="c2ln"',
            ["c2ln", 'ck"'],
            ["OAuth ***"],
        ),
        ("assertion eyJhbGciOiJQUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl rejected", ["eyJhbGci"], ["rejected"]),
        (
            "postgresql://app:hunter22@db.internal:5432/ops",
            ["hunter22"],
            ["postgresql://app:***@db.internal:5432/ops"],
        ),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----", ["MIIEvQIBADANBg"], []),
        ("password: correct-horse", ["correct-horse"], ["password: ***"]),
    ],
)
def test_credentials_are_masked_and_the_message_is_kept(text, gone, kept):
    out = r.redact(text)
    for g in gone:
        assert g not in out, out
    for k in kept:
        assert k in out, out


def test_ordinary_errors_pass_unchanged():
    for text in (
        "source netsuite, stream invoice: POST 127.0.0.1/services/rest/query/v1/suiteql: gave up after 5 attempts"
        " (retry_max_attempts); last error: HTTP 503",
        "netsuite: consumer_secret is required for auth = 'tba'; set it in the environment"
        " (CLOSEDLOOP_NETSUITE_CONSUMER_SECRET) or .streamlit/secrets.toml",
        "HTTP 429 rate limited (Retry-After: 2)",
    ):
        assert r.redact(text) == text


def test_a_known_secret_value_is_masked_wherever_it_appears():
    r.register("sandbox-consumer-secret")
    echoed = '{"detail": "signature base used key sandbox-consumer-secret&"}'
    assert "sandbox-consumer-secret" not in r.redact(echoed)
    r.register("abc")  # too short to be a secret: masking it would eat ordinary words
    assert r.redact("abc def") == "abc def"


def test_configured_secrets_are_registered_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "closedloop.toml"
    path.write_text(
        '[sources.netsuite]\ntransport = "api"\nauth = "tba"\naccount_id = "1"\n'
        '[alerts]\nwebhooks = [{name = "fin", format = "json"}]\n'
    )
    monkeypatch.setenv("CLOSEDLOOP_NETSUITE_TOKEN_SECRET", "tokensecret-zz9")
    monkeypatch.setenv("CLOSEDLOOP_ALERTS_FIN_URL", "https://chat.example.com/v1/room/S3CR3TPATH")
    r.register_config(settings.load(path))
    out = r.redact("echo tokensecret-zz9 and POST https://chat.example.com:443/v1/room/S3CR3TPATH/")
    assert "tokensecret-zz9" not in out and "S3CR3TPATH" not in out


def test_every_log_record_is_redacted_whatever_logger_or_handler(caplog):
    r.install()
    caplog.set_level(logging.INFO)
    url = httpx.URL("https://hooks.slack.com/services/T1/B2/SECRETPATH")
    logging.getLogger("httpx").info('HTTP Request: %s %s "%s"', "POST", url, "HTTP/1.1 200 OK")
    logging.getLogger("some.child.module").warning("token refused: Bearer abcdef123456")
    try:
        raise ValueError("client_secret=s3cr3t-value")
    except ValueError:
        logging.getLogger("other").exception("failed")
    text = caplog.text
    assert "SECRETPATH" not in text and "abcdef123456" not in text and "s3cr3t-value" not in text
    assert "https://hooks.slack.com/***" in text and "ValueError: client_secret=***" in text


def test_nested_reports_are_redacted_leaf_by_leaf():
    doc = {"errors": ["Bearer abcdefgh1"], "sources": {"x": {"n": 3, "why": ("password=pw123456",)}}}
    assert r.redact_tree(doc) == {
        "errors": ["Bearer ***"],
        "sources": {"x": {"n": 3, "why": ("password=***",)}},
    }


def test_words_about_credentials_are_not_mistaken_for_them():
    for text in (
        "token request to login.example.com: HTTP 503",
        "Bearer tokens are minted once; Basic authentication is not supported",
        "NetSuite OAuth 2.0 machine-to-machine",
    ):
        assert r.redact(text) == text
