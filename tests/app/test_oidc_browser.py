"""Sign-in end to end: headless Chromium signs in to `streamlit run` through a real OpenID provider (idp/,
npm oidc-provider on 127.0.0.1) as each role, sees exactly that role's pages, is refused the others, signs
out; a forged identity cookie and an expired session show the sign-in screen; no secret, code or token
reaches a log, the ops store or a page."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from closedloop import appserver, settings
from closedloop.audit import AuditLog
from tests.app import warehouse
from tests.app.processes import free_port, running

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
IDP = ROOT / "idp"
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
USER_COOKIES = ("_streamlit_user", "_streamlit_user_tokens")

# The pages each test person's menu lists (closedloop.access.ROLE_PAGES), and one page they may not open.
PEOPLE = {
    "eve": ("eve@corp.test", {"Overview"}, "findings"),
    "fred": ("fred@corp.test", {"Overview", "Findings", "Trace", "Checks catalog"}, "data_health"),
    "fiona": ("fiona@corp.test", {"Overview", "Findings", "Trace", "Checks catalog"}, "audit"),
    "sam": ("sam@corp.test", {"Trace", "Data health", "Checks catalog"}, "overview"),
    "ada": (
        "ada@corp.test",
        {"Overview", "Findings", "Trace", "Data health", "Checks catalog", "Audit log"},
        None,
    ),
}
# What each person's first page says once it has drawn.
LANDING = {"eve": "Where the money is", "fred": "Where the money is", "fiona": "Where the money is"}
LANDING |= {"sam": "Start with any ID you have in hand", "ada": "Where the money is"}


@pytest.fixture(scope="module")
def sync_api():
    """Playwright, Chromium, Node and the provider's package: missing ones fail the run, saying what to install."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    if not shutil.which("node"):
        missing.append("Node.js 20+ with npm (apt-get install nodejs npm)")
    if not (IDP / "node_modules" / "oidc-provider" / "package.json").exists():
        missing.append("the test provider's package: `make test` runs `npm ci` in idp/ (or run it yourself)")
    try:
        from playwright import sync_api
    except ImportError:
        missing.append("playwright (pip install -e '.[dev]')")
    if missing:
        pytest.fail("the sign-in tests need: " + "; ".join(missing), pytrace=False)
    return sync_api


def shot(page, name: str) -> None:
    """A screenshot of the whole page (as tests/app/test_browser.py takes them; not imported from there:
    that module skips itself without Chromium, and this one fails instead)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight || 1000")
    size = page.viewport_size or {"width": 1440, "height": 1000}
    page.set_viewport_size({"width": size["width"], "height": min(max(height + 40, 1000), 6000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)


@dataclass
class Stack:
    """A provider and an app server wired to each other, and what the tests saw that must stay secret."""

    base: str
    issuer: str
    root: Path
    ops_url: str
    client_secret: str
    cookie_secret: str
    logs: list[Path]
    seen: dict[str, set[str]] = field(default_factory=lambda: {"code": set(), "token": set()})
    texts: list[str] = field(default_factory=list)


@contextlib.contextmanager
def stack(root: Path, access: str = "", prepare: Callable[[Path], None] | None = None) -> Iterator[Stack]:
    """The provider and the app on free ports of 127.0.0.1, with fresh secrets in a temp secrets.toml;
    `prepare` gets the data directory once the warehouse is built, before the app opens it."""
    cfg_path = warehouse.write_config(root)
    scopes = '{ "fiona@corp.test" = { legal_entities = ["LE-US"] } }'
    cfg_path.write_text(cfg_path.read_text() + f"\n[access]\nscopes = {scopes}\n{access}\n", encoding="utf-8")
    warehouse.build(root / "data")
    if prepare is not None:
        prepare(root / "data")
    cfg = settings.load(cfg_path)
    app_port, idp_port = free_port(), free_port()
    client_secret, cookie_secret = os.urandom(24).hex(), os.urandom(32).hex()
    issuer = f"http://127.0.0.1:{idp_port}"
    secrets = root / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{cookie_secret}"\n'
        'client_id = "closedloop"\n'
        f'client_secret = "{client_secret}"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        'client_kwargs = { prompt = "login", scope = "openid email profile groups" }\n',
        encoding="utf-8",
    )
    idp_log, app_log = root / "idp.log", root / "app.log"
    env = {**os.environ, "IDP_PORT": str(idp_port), "APP_PORT": str(app_port)}
    env |= {"CLIENT_ID": "closedloop", "CLIENT_SECRET": client_secret}
    with running(
        ["node", "idp.mjs"],
        cwd=IDP,
        env=env,
        log=idp_log,
        health=f"{issuer}/.well-known/openid-configuration",
    ):
        command = [*appserver.command(app_port), "--browser.gatherUsageStats", "false"]
        # --secrets.files replaces Streamlit's search list: only this file's [auth] counts
        command += ["--secrets.files", str(secrets)]
        env = {**os.environ, "CLOSEDLOOP_CONFIG": str(cfg_path)}
        base = f"http://127.0.0.1:{app_port}"
        with running(command, cwd=appserver.ROOT, env=env, log=app_log, health=f"{base}/_stcore/health"):
            yield Stack(base, issuer, root, cfg.ops_url, client_secret, cookie_secret, [app_log, idp_log])


@pytest.fixture(scope="module")
def site(tmp_path_factory, sync_api):
    with stack(tmp_path_factory.mktemp("oidc")) as s:
        yield s


@pytest.fixture(scope="module")
def browser(sync_api):
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _new_page(browser, s: Stack):
    """A fresh context (own cookie jar) that reaches loopback only and notes every authorization code."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    # the provider's dev pages @import web fonts: nothing leaves this machine
    ctx.route(
        "**/*", lambda r: r.continue_() if urlparse(r.request.url).hostname == "127.0.0.1" else r.abort()
    )
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)

    def note_code(request) -> None:
        url = urlparse(request.url)
        if url.path.endswith("/oauth2callback"):
            s.seen["code"].update(parse_qs(url.query).get("code", []))

    pg.on("request", note_code)
    return pg


@pytest.fixture
def page(browser, site):
    pg = _new_page(browser, site)
    yield pg
    pg.context.close()


def settle(page) -> None:
    """Wait until the script run is over; no page may show an exception."""
    page.locator('[data-testid="stApp"]').wait_for()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0"
        " && !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')"
    )
    page.wait_for_timeout(500)
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]'
    ).first.inner_text()


def text_of(page, s: Stack) -> str:
    body = page.locator("body").inner_text()
    s.texts.append(body)
    return body


def through_provider(page, s: Stack, login: str) -> None:
    """The app's Sign in button, the provider's login form and (when asked) its consent page, back to the app."""
    page.goto(s.base + "/")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{s.issuer}/interaction/**")
    form = page.url
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password: devInteractions accept anything")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(lambda url: url != form)
    if "/interaction/" in page.url:  # consent, asked again after a sign-out revoked the grant
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{s.base}/**")


def sign_in(page, s: Stack, login: str) -> None:
    """Sign in as `login` (a name in idp/idp.mjs USERS) and note the tokens the app got."""
    through_provider(page, s, login)
    page.get_by_text("Signed in as").first.wait_for()
    _note_tokens(page, s)


def _note_tokens(page, s: Stack) -> None:
    """The ID and access tokens Streamlit keeps in its signed cookie: the hygiene test looks for them."""
    from streamlit.auth_util import get_cookie_with_chunks
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

    jar = {c["name"]: c["value"] for c in page.context.cookies(s.base)}
    raw = get_cookie_with_chunks(
        lambda name: decode_signed_value(s.cookie_secret, name, jar[name]) if name in jar else None,
        "_streamlit_user_tokens",
    )
    assert raw, f"no tokens cookie after sign-in: {sorted(jar)}"
    tokens = json.loads(raw)
    s.seen["token"].update(v for k, v in tokens.items() if k.endswith("token") and isinstance(v, str) and v)
    assert s.seen["token"], tokens.keys()


def menu(page) -> set[str]:
    links = page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]')
    return {t.strip().splitlines()[-1] for t in links.all_inner_texts()}  # after the icon's name


def audit(s: Stack, email: str, *events: str) -> list[dict]:
    return AuditLog(s.ops_url).read(user=email, events=events)


def app_cookies(page, s: Stack) -> set[str]:
    return {c["name"] for c in page.context.cookies(s.base) if c["name"].startswith(USER_COOKIES)}


@pytest.mark.parametrize("login", list(PEOPLE))
def test_each_role_signs_in_and_sees_exactly_its_pages(site, page, login):
    email, pages, refused = PEOPLE[login]
    sign_in(page, site, login)
    page.get_by_text(LANDING[login]).first.wait_for()
    settle(page)
    body = text_of(page, site)
    assert f"Signed in as {email}" in " ".join(body.split())
    assert "Local mode" not in body
    assert menu(page) == pages
    shot(page, f"oidc_{login}_signed_in")
    assert audit(site, email, "sign_in"), "no sign_in row"
    if refused is None:
        return
    page.goto(f"{site.base}/{refused}")  # typed as a URL: a new session, identity from the cookie
    page.get_by_text("does not open this page").wait_for()
    settle(page)
    body = text_of(page, site)
    assert LANDING[login] not in body
    shot(page, f"oidc_{login}_refused_{refused}")
    denied = audit(site, email, "denied")
    assert any(r["subject"] == refused for r in denied), denied


def test_a_person_with_no_role_sees_only_that_they_have_none(site, page):
    sign_in(page, site, "nora")
    page.get_by_text("no closedloop role is given to you").wait_for()
    settle(page)
    assert menu(page) == set()
    body = text_of(page, site)
    assert "Where the money is" not in body and "No access" in body
    shot(page, "oidc_nora_no_role")
    page.goto(f"{site.base}/findings")
    page.get_by_text("no closedloop role is given to you").wait_for()
    assert "largest $ first" not in text_of(page, site)
    assert any(
        json.loads(r["detail"] or "{}").get("why") == "no role"
        for r in audit(site, "nora@corp.test", "denied")
    )


def test_sign_out_clears_the_identity_and_is_audited(site, page):
    sign_in(page, site, "fred")
    settle(page)
    assert app_cookies(page, site) >= {"_streamlit_user", "_streamlit_user_tokens"}
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{site.issuer}/session/end**")  # the provider asks to confirm its own sign-out
    shot(page, "oidc_fred_provider_sign_out")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{site.base}/**")
    page.get_by_role("button", name="Sign in").wait_for()
    settle(page)
    assert app_cookies(page, site) == set()
    body = text_of(page, site)
    assert "Signed in as" not in body and menu(page) == set()
    shot(page, "oidc_fred_signed_out")
    assert audit(site, "fred@corp.test", "sign_out"), "no sign_out row"
    assert audit(site, "fred@corp.test", "sign_in"), "no sign_in row"
    page.goto(f"{site.base}/findings")  # the identity is gone for every page
    page.get_by_role("button", name="Sign in").wait_for()
    assert "largest $ first" not in text_of(page, site)


def test_a_forged_identity_cookie_shows_the_sign_in_screen(site, page):
    sign_in(page, site, "sam")
    settle(page)
    jar = {c["name"]: c for c in page.context.cookies(site.base)}
    from itsdangerous import URLSafeTimedSerializer
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

    claims = json.loads(
        decode_signed_value(site.cookie_secret, "_streamlit_user", jar["_streamlit_user"]["value"])
    )
    assert claims["email"] == "sam@corp.test"
    claims |= {"email": "ada@corp.test", "groups": ["admin"]}  # sam makes himself an admin
    # signed as Streamlit signs, with a key that is not the app's cookie secret
    forged = URLSafeTimedSerializer(os.urandom(32).hex(), salt="_streamlit_user").dumps(json.dumps(claims))
    page.context.add_cookies([{**jar["_streamlit_user"], "value": forged}])
    ada_before = len(audit(site, "ada@corp.test"))
    page.goto(f"{site.base}/audit")
    page.get_by_role("button", name="Sign in").wait_for()
    settle(page)
    body = text_of(page, site)
    assert "Signed in as" not in body and "Audit log" not in body and menu(page) == set()
    shot(page, "oidc_forged_cookie")
    assert len(audit(site, "ada@corp.test")) == ada_before, "the forged identity was taken for ada"


def test_an_expired_session_signs_in_again(tmp_path_factory, browser):
    # 0.0003 h is about a second: any page load after the sign-in round trip finds the session expired.
    with stack(tmp_path_factory.mktemp("expiry"), "session_hours = 0.0003") as s:
        page = _new_page(browser, s)
        try:
            through_provider(page, s, "fred")
            page.wait_for_timeout(1500)  # let the sign-in age past session_hours
            page.goto(f"{s.base}/findings")
            # an expired session ends as a sign-out does: the identity cookies go (they are HttpOnly: ask
            # the browser's jar, not document.cookie), and the provider is asked to end its own session
            deadline = time.monotonic() + 30
            while app_cookies(page, s):
                assert time.monotonic() < deadline, f"still signed in: {app_cookies(page, s)}"
                page.wait_for_timeout(200)
            page.wait_for_load_state()
            shot(page, "oidc_session_expired")
            page.goto(f"{s.base}/findings")
            page.get_by_role("button", name="Sign in").wait_for()
            settle(page)
            body = text_of(page, s)
            assert "largest $ first" not in body and "Signed in as" not in body
            assert audit(s, "fred@corp.test", "session_expired"), "no session_expired row"
        finally:
            page.context.close()


def test_no_secret_code_or_token_reaches_a_log_the_ops_store_or_a_page(site, page):
    """Runs last in this module: the logs, ops store and page texts hold every test's sign-ins above."""
    sign_in(page, site, "ada")
    for path in ("/findings", "/trace", "/audit"):
        page.goto(site.base + path)
        settle(page)
        text_of(page, site)
    assert site.seen["code"], "no authorization code was seen: the check below would prove nothing"
    assert len(site.seen["token"]) >= 2, "no id and access tokens were seen"
    secrets = {"client secret": {site.client_secret}, "cookie secret": {site.cookie_secret}}
    secrets |= {"authorization code": site.seen["code"], "token": site.seen["token"]}
    ops = site.root / "data"
    places = {str(p): p.read_bytes().decode("latin-1") for p in site.logs}
    places |= {str(p): p.read_bytes().decode("latin-1") for p in ops.glob("ops.sqlite*")}
    assert any(k.endswith("ops.sqlite") for k in places), sorted(places)
    places["page texts"] = "\n".join(site.texts)
    leaks = [
        f"{what} in {where}"
        for what, values in secrets.items()
        for value in values
        for where, text in places.items()
        if value in text
    ]
    assert leaks == []
