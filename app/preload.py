"""Each page's element code, asked for by the page's HTML instead of after its script has run.

Streamlit loads an element's JavaScript (the data grid: 1.2 MB) only when the first
element of that kind arrives, after the browser has booted the app, opened the websocket and the script has
sent it, and then chunk by chunk as each one's imports are read: a waterfall of round trips after the
script ran. Named in the page's <head> as modulepreload links (the whole import closure), they download
while the main bundle boots, at low priority. On 127.0.0.1 that measured about even (page loads with and
without, alternated); over a real network each
link saves a round trip.

Code a page needs only after its first paint (plotly.js for a trace lookup) is also started once the page
is idle, so the first lookup does not pay its start-up on the browser's main thread. A trace link
(/trace?id=...) starts it as soon as its first script run has started.

The chunk files are found by element name in the installed Streamlit's static folder, with their static
imports followed, so a Streamlit upgrade that renames them needs no change here (tests/app/test_preload.py
fails if a name stops resolving).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import streamlit as st

from app import plotly_chart

JS = Path(st.__file__).parent / "static" / "static" / "js"
# Page (the URL's last path segment; "" is the default page) → the Streamlit elements it draws on first
# paint. Names are the element's chunk name in Streamlit's build (Metric.<hash>.js); "embed" is
# Vega-Embed, which st.metric's sparklines load.
# PLOTLY stands for the app's own plotly chart (app/plotly_chart.py): Streamlit's components.v2 element and
# plotly.js's basic bundle, which the app serves from app/static.
PLOTLY = "Plotly"
# The sidebar's menu (app/streamlit_app.py) is page links on every page.
PAGE_ELEMENTS: dict[str, tuple[str, ...]] = {
    "": ("Metric", "PageLink", PLOTLY, "ButtonGroup", "Progress", "embed"),
    "overview": ("Metric", "PageLink", PLOTLY, "ButtonGroup", "Progress", "embed"),
    "findings": (
        "Multiselect",
        "Selectbox",
        "TextInput",
        "Metric",
        "DataFrame",
        "DownloadButton",
        "ButtonGroup",
        "Button",
        "PageLink",
    ),
    "trace": ("TextInput", "PageLink"),
    "data_health": ("Metric", "DataFrame", "Checkbox", "Button", "PageLink"),
    "checks_catalog": ("Metric", "Multiselect", "DataFrame", "PageLink"),
    "audit": ("NumberInput", "TextInput", "Multiselect", "DataFrame", "DownloadButton", "PageLink"),
}
# Code a page needs soon after first paint rather than on it: fetched, then run once the page is idle, so a
# support engineer's first lookup does not pay the chart code's start-up on the browser's main thread.
PAGE_SOON: dict[str, tuple[str, ...]] = {
    "trace": (PLOTLY, "DataFrame", "Metric"),
    "checks_catalog": (PLOTLY, "StreamlitSyntaxHighlighter", "PageLink"),  # a check's detail
    "findings": (
        "PageLink",
        "TextArea",
        "DateInput",
        "Html",
    ),  # a case's detail (its sticky style) and actions
    "data_health": (PLOTLY,),  # the runs timeline, one tab away
}
# A link that opens a page straight on some content (the page, the query parameter that carries it, and the
# elements that content draws first): a trace pasted into a ticket, /trace?id=..., draws its swim lanes.
# Their code is started as soon as the app has sent its first script run, so the browser's main thread
# runs it while the server runs the page, not after the page's deltas arrive.
PAGE_LINKED: dict[str, tuple[str, tuple[str, ...]]] = {
    "trace": ("id", (PLOTLY, "Metric")),
}
_IMPORT = re.compile(rb'(?:from|import)\s*"\./([\w.\-]+\.js)"')
_INDEX_JS = re.compile(r"\./static/js/([\w.\-]+\.js)")


class UnknownElement(LookupError):
    """An element name with no chunk in this Streamlit build."""


def chunk(element: str) -> str:
    """The file of an element's chunk: exactly one `<element>.<hash>.js`."""
    found = sorted(p.name for p in JS.glob(f"{element}.*.js") if p.name.count(".") == 2)
    if len(found) != 1:
        raise UnknownElement(f"{element}: {len(found)} chunks in {JS} ({', '.join(found) or 'none'})")
    return found[0]


@functools.cache
def _in_index() -> frozenset[str]:
    """Chunks the index page already loads itself."""
    return frozenset(_INDEX_JS.findall((JS.parent.parent / "index.html").read_text(encoding="utf-8")))


@functools.cache
def closure(elements: tuple[str, ...]) -> tuple[str, ...]:
    """The elements' chunks and every chunk they statically import, minus what index.html loads already."""
    seen: dict[str, None] = {}
    todo = [chunk(e) for e in elements]
    while todo:
        name = todo.pop(0)
        if name in seen or name in _in_index():
            continue
        seen[name] = None
        todo += [m.decode() for m in _IMPORT.findall((JS / name).read_bytes())]
    return tuple(seen)


# Runs IMPORTS once the page's first script run has ended and nothing is still loading, then when the browser
# is idle. Not on the load event: that comes while the app waits for its first deltas, and starting Plotly
# then would hold the main thread just as they arrive. The app's root carries its script state
# (data-test-script-state: "initial" until the first run ends); 15 s is the fallback.
_AFTER_FIRST_PAINT = (
    "const t0=Date.now(),w=setInterval(()=>{const a=document.querySelector('[data-testid=\"stApp\"]');"
    "if(Date.now()-t0<15000&&(!a||a.dataset.testScriptState!=='notRunning'"
    "||document.querySelector('[data-testid=\"stSkeleton\"]')))return;"
    "clearInterval(w);requestIdleCallback(()=>{IMPORTS},{timeout:3000})},250);"
)


# Runs START once the app's first script run has started (the root's script state leaves "initial"), if the
# page's URL carries the query parameter PARAM. Earlier, at the module's own start, the main thread would
# run the chart code instead of booting the app and opening its websocket, and the script would start later.
_ON_FIRST_RUN = (
    "if(new URLSearchParams(location.search).has(PARAM)){const w=setInterval(()=>{"
    "const a=document.querySelector('[data-testid=\"stApp\"]');"
    "if(a&&a.dataset.testScriptState&&a.dataset.testScriptState!=='initial'){clearInterval(w);START}},10)}"
)
# A page other than the root names the server's base URL itself. Otherwise Streamlit guesses it from the
# page's path: it asks /trace/_stcore/health and host-config first, gets 404s, and only then tries /, which
# delayed the websocket by about 0.1 s on every cold deep link (window.__streamlit is Streamlit's own
# settings object for a page that embeds or hosts the app).
_BASE_URL = (
    "<script>window.__streamlit=Object.assign(window.__streamlit||{},"
    "{BACKEND_BASE_URL:location.origin+location.pathname.replace(/[^/]*\\/?$/,'')})</script>"
)


def _chunks(elements: tuple[str, ...]) -> tuple[str, ...]:
    """The Streamlit element chunks behind a list of elements (PLOTLY: the components.v2 element's)."""
    return tuple("BidiComponent" if e == PLOTLY else e for e in elements)


def _start(elements: tuple[str, ...]) -> str:
    """JavaScript that starts loading and running the elements' code."""
    js = "".join(f'import("./static/js/{chunk(e)}");' for e in _chunks(elements))
    return js + (f"{plotly_chart.LOAD_JS};" if PLOTLY in elements else "")


@functools.cache
def head_tags(page: str) -> bytes:
    """The <link>/<script> tags for a page's <head>; empty for a page not listed."""
    if page not in PAGE_ELEMENTS:
        return b""
    first, later = PAGE_ELEMENTS[page], PAGE_SOON.get(page, ())
    now = closure(_chunks(first))
    soon = [c for c in closure(_chunks(later)) if c not in now]
    tags = [_BASE_URL] if page else []
    # low priority: after the main bundle, which the app needs first to boot and open its websocket
    tags += [
        f'<link rel="modulepreload" crossorigin fetchpriority="low" href="./static/js/{c}">'
        for c in (*now, *soon)
    ]
    if PLOTLY in first + later:
        tags.append(f'<link rel="preload" as="script" fetchpriority="low" href="{plotly_chart.URL}">')
    if later:
        tags.append(f'<script type="module">{_AFTER_FIRST_PAINT.replace("IMPORTS", _start(later))}</script>')
    if page in PAGE_LINKED:
        param, elements = PAGE_LINKED[page]
        script = _ON_FIRST_RUN.replace("PARAM", f'"{param}"').replace("START", _start(elements))
        tags.append(f'<script type="module">{script}</script>')
    return "".join(tags).encode()


def page_of(path: str) -> str:
    """The page a request path opens: its last segment ("" for the root)."""
    return path.rstrip("/").rsplit("/", 1)[-1] if path.strip("/") else ""


class PreloadMiddleware:
    """ASGI middleware: writes a page's preload tags into the HTML Streamlit serves for it.

    Only GET requests for a listed page are touched, and only a text/html answer: static files, the
    websocket and the API pass straight through. Such a request is sent on without Accept-Encoding so the
    8 KB page comes back uncompressed and can be edited.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            return await self.app(scope, receive, send)
        page = page_of(scope.get("path", "/"))
        if page not in PAGE_ELEMENTS:
            return await self.app(scope, receive, send)
        tags = head_tags(page)
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]}
        held: dict = {}

        async def edit(message) -> None:
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                if headers.get(b"content-type", b"").startswith(b"text/html"):
                    held["start"], held["body"] = message, b""
                    return
            elif message["type"] == "http.response.body" and "start" in held:
                held["body"] += message.get("body", b"")
                if message.get("more_body"):
                    return
                body = held["body"].replace(b"</head>", tags + b"</head>", 1)
                start = held.pop("start")
                start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                start["headers"].append((b"content-length", str(len(body)).encode()))
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, edit)
