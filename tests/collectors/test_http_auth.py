"""Auth flows: token minting, one refresh on 401, JWT assertions, OAuth 1.0a signatures, hidden secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from collectors.auth import (
    IroncladClientCredentials,
    NetSuiteM2M,
    NetSuiteTBA,
    SalesforceClientCredentials,
    SalesforceJWTBearer,
    Secret,
    need,
)
from collectors.http import AuthError, HttpClient, RetriesExhausted
from collectors.http.oauth1 import oauth1_base_string, oauth1_signature
from tests.collectors.http_fakes import FakeClock, FakeServer, reply

TOKEN_URL = "https://login.example.com/services/oauth2/token"
API = "https://acme.my.salesforce.com/services/data/v66.0/limits"
SECRET = "s3cr3t-client-secret"


@pytest.fixture(scope="module")
def rsa_pem() -> tuple[str, object]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


def token(value: str, **extra) -> httpx.Response:
    return reply(200, {"access_token": value, "token_type": "Bearer", **extra})


def sf_client(server: FakeServer, clock: FakeClock | None = None, auth=None) -> tuple[HttpClient, object]:
    auth = auth or SalesforceClientCredentials(TOKEN_URL, "client-id", SECRET)
    clock = clock or FakeClock()
    return HttpClient(auth=auth, transport=server.transport, policy=clock.policy()), auth


def test_token_is_minted_once_and_sent_as_bearer():
    server = FakeServer().add(
        "POST", "/services/oauth2/token", token("tok-1", instance_url="https://acme.my.salesforce.com")
    )
    server.add("GET", "/services/data/v66.0/limits", reply(200, {}))
    http, auth = sf_client(server)
    http.request_json("GET", API)
    http.request_json("GET", API)
    assert auth.tokens_minted == 1 and auth.instance_url == "https://acme.my.salesforce.com"
    form = urllib.parse.parse_qs(server.calls("/services/oauth2/token")[0].content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["client-id"],
        "client_secret": [SECRET],
    }
    assert [r.headers["Authorization"] for r in server.calls(API.split(".com")[1])] == ["Bearer tok-1"] * 2


def test_a_401_refreshes_once_and_replays_the_request():
    server = FakeServer().add("POST", "/services/oauth2/token", token("old"), token("new"))
    server.add("GET", "/services/data/v66.0/limits", reply(401, "expired"), reply(200, {"ok": 1}))
    http, auth = sf_client(server)
    assert http.request_json("GET", API) == {"ok": 1}
    assert auth.tokens_minted == 2
    assert server.requests[-1].headers["Authorization"] == "Bearer new"


def test_a_second_401_after_refresh_is_a_clear_error():
    server = FakeServer().add("POST", "/services/oauth2/token", token("t1"), token("t2"))
    server.add(
        "GET",
        "/services/data/v66.0/limits",
        reply(401, [{"errorCode": "INVALID_SESSION_ID", "message": "nope"}]),
    )
    http, auth = sf_client(server)
    with pytest.raises(AuthError) as err:
        http.request_json("GET", API)
    assert "HTTP 401 again with a freshly minted token" in str(err.value) and "INVALID_SESSION_ID" in str(
        err.value
    )
    assert auth.tokens_minted == 2 and len(server.calls("/services/data/v66.0/limits")) == 2


def test_a_refused_token_request_fails_without_showing_the_secret():
    body = {"error": "invalid_client", "error_description": f"bad secret {SECRET}"}  # a server echoing it
    server = FakeServer().add("POST", "/services/oauth2/token", reply(400, body))
    http, auth = sf_client(server)
    with pytest.raises(AuthError) as err:
        http.request_json("GET", API)
    assert "invalid_client" in str(err.value) and SECRET not in str(err.value)
    assert SECRET not in repr(auth)


def test_a_token_endpoint_outage_is_retried():
    server = FakeServer().add("POST", "/services/oauth2/token", reply(503), reply(200, b"{trunc"), token("t"))
    server.add("GET", "/services/data/v66.0/limits", reply(200, {}))
    clock = FakeClock()
    http, _ = sf_client(server, clock)
    http.request_json("GET", API)
    assert len(clock.sleeps) == 2


def test_a_token_that_never_comes_exhausts_retries():
    server = FakeServer().add("POST", "/services/oauth2/token", reply(500))
    http, _ = sf_client(server)
    with pytest.raises(RetriesExhausted, match="token request"):
        http.request_json("GET", API)


def test_expiring_tokens_are_reminted_before_use():
    clock = FakeClock()
    auth = IroncladClientCredentials(
        TOKEN_URL, "cid", SECRET, as_user_email="ops@firm.com", clock=clock.clock
    )
    server = FakeServer().add(
        "POST", "/services/oauth2/token", token("a", expires_in=3600), token("b", expires_in=3600)
    )
    server.add("GET", "/services/data/v66.0/limits", reply(200, {}))
    http, _ = sf_client(server, clock, auth=auth)
    http.request_json("GET", API)
    clock.t += 3590  # within the margin of expiry
    http.request_json("GET", API)
    assert auth.tokens_minted == 2
    assert server.requests[-1].headers["x-as-user-email"] == "ops@firm.com"
    form = urllib.parse.parse_qs(server.calls("/services/oauth2/token")[0].content.decode())
    assert form["scope"] == ["public.records.readRecords public.workflows.readWorkflows"]


def test_salesforce_jwt_bearer_assertion(rsa_pem):
    pem, public = rsa_pem
    auth = SalesforceJWTBearer(
        "https://test.salesforce.com/services/oauth2/token",
        "consumer-key",
        "me@firm.com",
        pem,
        now=lambda: 1_700_000_000,
    )
    req = auth.token_request()
    form = urllib.parse.parse_qs(req.content.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt.decode(
        form["assertion"][0],
        public,
        algorithms=["RS256"],
        audience="https://test.salesforce.com",
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": "consumer-key",
        "sub": "me@firm.com",
        "aud": "https://test.salesforce.com",
        "exp": 1_700_000_180,
    }
    assert jwt.get_unverified_header(form["assertion"][0])["alg"] == "RS256"
    assert pem not in repr(auth)


def test_a_bad_private_key_fails_without_echoing_it():
    with pytest.raises(AuthError) as err:
        SalesforceJWTBearer(TOKEN_URL, "c", "u", "-----BEGIN PRIVATE KEY-----\nAAAAsecretbits\n-----END")
    assert "secretbits" not in str(err.value)


def test_netsuite_m2m_client_assertion(rsa_pem):
    pem, public = rsa_pem
    url = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"
    auth = NetSuiteM2M(url, "integration-client-id", "cert-kid-1", pem, now=lambda: 1_700_000_000)
    form = urllib.parse.parse_qs(auth.token_request().content.decode())
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
    assertion = form["client_assertion"][0]
    header = jwt.get_unverified_header(assertion)
    assert header["alg"] == "PS256" and header["kid"] == "cert-kid-1" and header["typ"] == "JWT"
    claims = jwt.decode(assertion, public, algorithms=["PS256"], audience=url, options={"verify_exp": False})
    assert claims["iss"] == "integration-client-id" and claims["scope"] == ["rest_webservices"]
    assert claims["iat"] == 1_700_000_000 and claims["exp"] - claims["iat"] <= 3600


# RFC 5849 §3.4.1.1: the documented signature base string of a form POST with query and body params
RFC_BASE = (
    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D"
    "%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1"
    "%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
)


def test_oauth1_base_string_matches_rfc5849():
    request = httpx.Request(
        "POST",
        "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
        content=b"c2&a3=2+q",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    params = {
        "oauth_consumer_key": "9djdj82h48djs9d2",
        "oauth_token": "kkk9d7dh3k39sjv7",
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": "137131201",
        "oauth_nonce": "7d8f3e4a",
        "realm": "Example",
    }
    assert oauth1_base_string(request, params) == RFC_BASE


def test_oauth1_signature_matches_rfc5849_section_1_2():
    tba = NetSuiteTBA(
        "photos",
        "dpf43f3p2l4k3l03",
        "kd94hf93k423kf44",
        "nnch734d00sl2jdk",
        "pfkkdhi9sl3r4s00",
        signature_method="HMAC-SHA1",
        nonce=lambda: "chapoH",
        timestamp=lambda: 137131202,
        realm="Photos",
    )
    request = httpx.Request("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original")
    # RFC 5849 §1.2 has no oauth_version; recompute its base string without it to check the signer
    base = oauth1_base_string(
        request,
        {
            "oauth_consumer_key": "dpf43f3p2l4k3l03",
            "oauth_token": "nnch734d00sl2jdk",
            "oauth_signature_method": "HMAC-SHA1",
            "oauth_timestamp": "137131202",
            "oauth_nonce": "chapoH",
        },
    )
    assert (
        oauth1_signature(base, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00", "HMAC-SHA1")
        == "MdpQcU8iPSUjWoN/UDMsK2sui9I="
    )
    assert tba.header(request).startswith('OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03"')


def test_netsuite_tba_header_hmac_sha256_realm_and_json_body_excluded():
    tba = NetSuiteTBA(
        "1234567-sb1", "ck", "cs&x", "tid", "ts", nonce=lambda: "n0nce", timestamp=lambda: 1700000000
    )
    url = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=1000&offset=0"
    r1 = httpx.Request("POST", url, json={"q": "SELECT id FROM customer"})
    r2 = httpx.Request("POST", url, json={"q": "SELECT something else"})
    header = tba.header(r1)
    assert header == tba.header(r2)  # the JSON body is not signed
    fields = dict(part.split("=", 1) for part in header.removeprefix("OAuth ").split(", "))
    fields = {k: urllib.parse.unquote(v.strip('"')) for k, v in fields.items()}
    assert fields["realm"] == "1234567_SB1" and fields["oauth_signature_method"] == "HMAC-SHA256"
    # independently: the base string written out by hand, signed with hmac/sha256
    norm = (
        "limit=1000&oauth_consumer_key=ck&oauth_nonce=n0nce&oauth_signature_method=HMAC-SHA256"
        "&oauth_timestamp=1700000000&oauth_token=tid&oauth_version=1.0&offset=0"
    )
    base = "POST&" + urllib.parse.quote(url.split("?")[0], safe="") + "&" + urllib.parse.quote(norm, safe="")
    expected = base64.b64encode(hmac.new(b"cs%26x&ts", base.encode(), hashlib.sha256).digest()).decode()
    assert fields["oauth_signature"] == expected
    r3 = httpx.Request("POST", url.replace("offset=0", "offset=1000"), json={"q": "x"})
    assert tba.header(r3) != header  # query params are signed


def test_tba_401_is_signed_afresh_once_then_final_and_clear():
    body = {"o:errorDetails": [{"detail": "Invalid login attempt.", "o:errorCode": "INVALID_LOGIN"}]}
    seen: list[dict[str, str]] = []
    server = FakeServer().add("POST", "/q", _recording(seen, reply(401, body)))
    tba = NetSuiteTBA("123", "ck", "cs", "tid", "ts")
    http = HttpClient(auth=tba, transport=server.transport, policy=FakeClock().policy())
    with pytest.raises(AuthError, match="INVALID_LOGIN") as err:
        http.request_json("POST", "https://x.example.com/q", json_body={})
    assert "again after signing afresh" in str(err.value)
    assert len(server.requests) == 2 and tba.resigned == 1  # once more, not a retry loop
    nonces = [s["oauth_nonce"] for s in seen]
    assert nonces[0] != nonces[1]  # the second attempt is a new signature, not a replay
    assert "cs" not in repr(tba).replace("consumer", "")


def test_tba_401_from_a_stale_nonce_or_timestamp_recovers_by_signing_again():
    body = {"o:errorDetails": [{"detail": "Invalid login attempt.", "o:errorCode": "INVALID_LOGIN"}]}
    seen: list[dict[str, str]] = []
    server = FakeServer().add(
        "POST", "/q", _recording(seen, reply(401, body)), _recording(seen, reply(200, {"items": []}))
    )
    stamps = iter([1_000, 2_000_000_000])  # the first signature carries a timestamp the server refuses
    tba = NetSuiteTBA("123", "ck", "cs", "tid", "ts", timestamp=lambda: next(stamps))
    http = HttpClient(auth=tba, transport=server.transport, policy=FakeClock().policy())
    assert http.request_json("POST", "https://x.example.com/q", json_body={}) == {"items": []}
    assert tba.resigned == 1
    assert [s["oauth_timestamp"] for s in seen] == ["1000", "2000000000"]


def _recording(seen: list[dict[str, str]], response: httpx.Response):
    """A scripted reply that notes the OAuth fields the request carried when it was sent."""

    def answer(request: httpx.Request) -> httpx.Response:
        header = request.headers["Authorization"][len("OAuth ") :]
        seen.append(
            {
                k.strip(): urllib.parse.unquote(v.strip().strip('"'))
                for k, _, v in (p.partition("=") for p in header.split(","))
            }
        )
        return response

    return answer


def test_secrets_never_print():
    s = Secret("hunter2")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s) and "hunter2" not in f"{s}"
    assert s.reveal() == "hunter2"


def test_missing_credentials_name_where_to_set_them():
    with pytest.raises(AuthError) as err:
        need("salesforce", {"auth": "jwt_bearer"}, lambda name: None, "private_key", secret=True)
    assert "CLOSEDLOOP_SALESFORCE_PRIVATE_KEY" in str(err.value)
    # a secret is never read from the config file, even when someone put it there
    with pytest.raises(AuthError):
        need("salesforce", {"client_secret": "x"}, {}, "client_secret", secret=True)
    assert need("netsuite", {"client_id": "abc"}, None, "client_id", secret=False) == "abc"
