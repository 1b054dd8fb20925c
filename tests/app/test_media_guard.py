"""The download endpoint (Streamlit's /media/) behind sign-in: a real app server and the real provider (idp/);
finance downloads the queue's CSV, and the same URL with support's, no, or forged cookies is refused and
audited. Plus the guard's pieces on their own (cookie verification, attachment names, who may take what)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest
from itsdangerous import URLSafeTimedSerializer
from starlette.testclient import TestClient

from app import media_guard
from closedloop import access, settings
from closedloop.audit import AuditLog
from tests.app import test_oidc_browser as oidc
from tests.app import warehouse
from tests.app.test_oidc_browser import _new_page, audit, settle, sign_in

# the sign-in tests' fixtures: a provider and an app server for this module, Chromium, a fresh context per test
sync_api, browser, site, page = oidc.sync_api, oidc.browser, oidc.site, oidc.page

SECRET = "a" * 64
FRED = {"is_logged_in": True, "email": "Fred@Corp.test", "groups": ["finance"], "sub": "fred"}


def signed(claims: dict, secret: str = SECRET, name: str = "_streamlit_user") -> str:
    """A cookie value signed as Streamlit signs its identity cookie (itsdangerous, cookie name as salt)."""
    return URLSafeTimedSerializer(secret, salt=name).dumps(json.dumps(claims))


def test_identity_takes_only_a_cookie_signed_with_the_secret():
    assert media_guard.identity({"_streamlit_user": signed(FRED)}, SECRET)["email"] == "Fred@Corp.test"
    assert media_guard.identity({"_streamlit_user": signed(FRED, "b" * 64)}, SECRET) == {}
    assert media_guard.identity({"_streamlit_user": json.dumps(FRED)}, SECRET) == {}  # unsigned
    assert media_guard.identity({"_streamlit_user": signed(FRED, name="other")}, SECRET) == {}  # other salt
    assert media_guard.identity({"_streamlit_user": signed({**FRED, "is_logged_in": False})}, SECRET) == {}
    assert media_guard.identity({"_streamlit_user": signed(["not", "claims"])}, SECRET) == {}
    assert media_guard.identity({}, SECRET) == {}
    assert media_guard.identity({"_streamlit_user": signed(FRED, "")}, "") == {}  # no secret: nobody


def test_the_principal_is_the_one_the_pages_make():
    policy = access.Policy(users={"sam@corp.test": ("support",)})
    fred = media_guard.principal_of(FRED, policy)
    assert (fred.actor, fred.roles) == ("fred@corp.test", frozenset({"finance"}))
    sam = media_guard.principal_of({"email": "sam@corp.test", "is_logged_in": True}, policy)
    assert sam.roles == frozenset({"support"}) and not sam.can("export")


def test_a_sign_in_older_than_the_session_limit_is_expired():
    import datetime as dt

    now = dt.datetime(2026, 1, 2, 12, tzinfo=dt.UTC)
    issued = int((now - dt.timedelta(hours=13)).timestamp())
    assert media_guard.expired({"auth_time": issued}, 12, now)
    assert not media_guard.expired({"auth_time": issued}, 14, now)
    assert media_guard.expired({"iat": issued}, 12, now)


def test_attachment_names_and_who_may_take_them():
    name = media_guard.attachment_name
    assert name([(b"Content-Disposition", b'attachment; filename="cases-r1.csv"')]) == "cases-r1.csv"
    assert name([(b"content-disposition", b"attachment; filename*=utf-8''caf%C3%A9.csv")]) == "caf%C3%A9.csv"
    assert name([(b"content-disposition", b"attachment")]) == ""
    assert name([(b"content-disposition", b'inline; filename="x.png"')]) is None
    assert name([(b"content-type", b"image/png")]) is None
    policy = access.Policy()
    who = {r: policy.principal(r, None, [r]) for r in access.ROLES}
    assert {r for r, p in who.items() if media_guard.may_download(p, "cases-r1.csv")} == {"finance"}
    assert {r for r, p in who.items() if media_guard.may_download(p, "closedloop-audit-20260101.csv")} == {
        "admin"
    }


def fetch(url: str, cookies: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET with exactly these cookies (or none); the status and the body."""
    req = urllib.request.Request(url)
    if cookies:
        req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def jar(pg, base: str) -> dict[str, str]:
    return {c["name"]: c["value"] for c in pg.context.cookies(base)}


def denied(s, actor: str, path: str) -> list[dict]:
    return [r for r in audit(s, actor, "denied") if r["subject"] == f"download {path}"]


@pytest.mark.browser
def test_the_cases_csv_goes_to_finance_only(site, page, browser):
    # sam signs in first: Streamlit drops a generated download after two script runs of any session that
    # does not hold it, so between fred's download and the fetches below no page may run
    sam_page = _new_page(browser, site)
    try:
        sign_in(sam_page, site, "sam")
        sam = jar(sam_page, site.base)
    finally:
        sam_page.context.close()
    site.seen.setdefault("cookie", set()).add(sam["_streamlit_user"])
    sign_in(page, site, "fred")
    page.goto(f"{site.base}/findings")
    page.get_by_role("button", name="Export").wait_for()
    settle(page)
    page.get_by_role("button", name="Export").click()
    button = page.get_by_role("button", name="Cases CSV")
    button.wait_for()
    with page.expect_download() as info:
        button.click()
    download = info.value
    path = download.path()
    assert download.suggested_filename.startswith("cases-") and download.suggested_filename.endswith(".csv")
    body = path.read_bytes()
    assert body.count(b"\n") >= 2, body[:200]  # a header and at least one case
    url = download.url
    media = url.removeprefix(site.base)
    assert media.startswith("/media/"), url
    fred = jar(page, site.base)
    site.seen["cookie"].add(fred["_streamlit_user"])

    status, again = fetch(url, fred)  # fred's own cookies outside the browser: the same file
    assert (status, again) == (200, body)

    status, text = fetch(url, sam)
    assert status == 403 and b"may not export" in text and b"case" not in text.lower()
    rows = denied(site, "sam@corp.test", media)
    assert rows and json.loads(rows[0]["detail"])["why"] == "role may not export", rows
    assert rows[0]["roles"] == "support"

    before = len(denied(site, "anonymous", media))
    status, text = fetch(url)
    assert status == 403 and b"sign in" in text
    assert len(denied(site, "anonymous", media)) == before + 1

    # fred's claims made into an admin's, signed with a key that is not the app's cookie secret
    claims = json.loads(
        URLSafeTimedSerializer(site.cookie_secret, salt="_streamlit_user").loads(fred["_streamlit_user"])
    )
    forged = signed(claims | {"email": "ada@corp.test", "groups": ["finance"]}, os.urandom(32).hex())
    status, _ = fetch(url, {**fred, "_streamlit_user": forged})
    assert status == 403
    # fred's genuine cookie with the first character of its signature changed (not the last: its low bits
    # are base64 padding, so changing it can leave the signature's bytes, and its validity, as they were)
    value = fred["_streamlit_user"]
    head, _, sig = value.rpartition(".")
    tampered = f"{head}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"
    status, _ = fetch(url, {**fred, "_streamlit_user": tampered})
    assert status == 403
    why = [json.loads(r["detail"])["why"] for r in denied(site, "anonymous", media)]
    assert why.count("identity cookie not valid") >= 2, why
    assert not audit(site, "ada@corp.test", "denied"), "the forged identity was taken for ada"

    status, again = fetch(url, fred)  # the refusals were the guard's, not a file gone stale
    assert (status, again) == (200, body)


@pytest.mark.browser
def test_the_audit_csv_goes_to_the_audit_page_s_role_not_to_export(site, page, browser):
    fred_page = _new_page(browser, site)  # finance may export, but does not open the audit page
    try:
        sign_in(fred_page, site, "fred")
        fred = jar(fred_page, site.base)
    finally:
        fred_page.context.close()
    site.seen.setdefault("cookie", set()).add(fred["_streamlit_user"])
    sign_in(page, site, "ada")
    page.goto(f"{site.base}/audit")
    button = page.get_by_role("button", name="Download CSV")
    button.wait_for()
    settle(page)
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename.startswith(media_guard.AUDIT_CSV_PREFIX)
    body = download.path().read_bytes()
    assert b"actor" in body.splitlines()[0] and body.count(b"\n") >= 2, body[:200]  # header, sign-ins
    media = download.url.removeprefix(site.base)
    status, text = fetch(download.url, fred)
    assert status == 403 and b"may not export" in text
    rows = denied(site, "fred@corp.test", media)
    assert rows and json.loads(rows[0]["detail"])["file"] == download.suggested_filename, rows


@pytest.mark.browser
def test_no_cookie_reaches_the_audit_or_the_log(site):
    """Runs after the download test: the ops store and the app's log hold its refusals, never a cookie."""
    rows = audit(site, "anonymous", "denied") + audit(site, "sam@corp.test", "denied")
    assert rows, "no refusal to look at: the check below would prove nothing"
    text = json.dumps(rows, default=str) + site.logs[0].read_text(errors="replace")
    cookies = site.seen.get("cookie", set())
    assert len(cookies) >= 2, "no cookie was seen: the check below would prove nothing"
    assert [c for c in cookies if c in text] == [] and site.cookie_secret not in text


def _media_app(headers: dict[str, str]):
    """Streamlit's media route stood in for: answers every request with these headers and a body."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def media(request):
        return Response(b"the file's bytes", headers=headers, media_type="text/csv")

    return Starlette(routes=[Route("/media/{file_id}", media), Route("/other", media)])


@pytest.fixture
def guarded(tmp_path, monkeypatch):
    """The middleware around a stand-in media route, sign-in configured, the audit in a real ops store."""
    from streamlit.web.server import server_util

    monkeypatch.setenv("CLOSEDLOOP_CONFIG", str(warehouse.write_config(tmp_path)))
    monkeypatch.setattr(media_guard, "_configured", lambda: True)
    monkeypatch.setattr(server_util, "get_cookie_secret", lambda: SECRET)
    return lambda headers: TestClient(media_guard.MediaGuardMiddleware(_media_app(headers)))


def as_cookie(claims: dict) -> dict[str, str]:
    return {"Cookie": f"_streamlit_user={signed(claims)}"}


ATTACHMENT = {"Content-Disposition": 'attachment; filename="cases-r1.csv"'}
SAM = {"is_logged_in": True, "email": "sam@corp.test", "groups": ["support"]}


def test_guard_in_front_of_the_media_route(guarded):
    log = AuditLog(settings.load().ops_url)
    download, image = guarded(ATTACHMENT), guarded({})
    assert download.get("/media/a.csv", headers=as_cookie(FRED)).content == b"the file's bytes"
    refused = download.get("/media/a.csv", headers=as_cookie(SAM))
    assert refused.status_code == 403 and b"bytes" not in refused.content
    assert image.get("/media/a.png", headers=as_cookie(SAM)).status_code == 200  # not a download
    assert image.get("/media/a.png").status_code == 403  # but not to nobody
    assert download.get("/other").status_code == 200  # only /media/ is guarded
    rows = log.read(events=["denied"])
    assert {(r["actor"], r["subject"]) for r in rows} == {
        ("sam@corp.test", "download /media/a.csv"),
        ("anonymous", "download /media/a.png"),
    }


def test_local_mode_serves_media_as_before(guarded, monkeypatch):
    monkeypatch.setattr(media_guard, "_configured", lambda: False)
    assert guarded(ATTACHMENT).get("/media/a.csv").content == b"the file's bytes"
    assert AuditLog(settings.load().ops_url).read(events=["denied"]) == []
