"""Each page's element code, asked for by the page's HTML instead of after its script has run.

Streamlit loads an element's JavaScript (Plotly: 4.7 MB, the data grid: 1.2 MB) only when the first
element of that kind arrives, after the browser has booted the app, opened the websocket and the script has
sent it, and then chunk by chunk as each one's imports are read: a waterfall of round trips after the
script ran. Named in the page's <head> as modulepreload links (the whole import closure), they download
while the main bundle boots, at low priority. On 127.0.0.1 that measured about even (page loads with and
without, alternated); over a real network each
link saves a round trip.

Code a page needs only after its first paint (Plotly for a trace lookup) is also started once the page is
idle: the first lookup then does not pay Plotly's start-up, about 0.8 s of the browser's main thread.

The chunk files are found by element name in the installed Streamlit's static folder, with their static
imports followed, so a Streamlit upgrade that renames them needs no change here (tests/app/test_preload.py
fails if a name stops resolving).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import streamlit as st

JS = Path(st.__file__).parent / "static" / "static" / "js"
# Page (the URL's last path segment; "" is the default page) → the Streamlit elements it draws on first
# paint. Names are the element's chunk name in Streamlit's build (PlotlyChart.<hash>.js); "embed" is
# Vega-Embed, which st.metric's sparklines and st.altair_chart (ArrowVegaLiteChart) load.
PAGE_ELEMENTS: dict[str, tuple[str, ...]] = {
    "": ("Metric", "PageLink", "ArrowVegaLiteChart", "ButtonGroup", "Progress", "embed"),
    "overview": ("Metric", "PageLink", "ArrowVegaLiteChart", "ButtonGroup", "Progress", "embed"),
    "findings": ("Multiselect", "Selectbox", "TextInput", "Metric", "DataFrame", "DownloadButton"),
    "trace": ("TextInput",),
    "data_health": ("Metric", "DataFrame", "Checkbox", "Button"),
    "checks_catalog": ("Metric", "Multiselect", "DataFrame"),
}
# Code a page needs soon after first paint rather than on it: fetched, then run once the page is idle, so a
# support engineer's first lookup does not pay Plotly's start-up (about 0.8 s of the browser's main thread).
PAGE_SOON: dict[str, tuple[str, ...]] = {
    "trace": ("PlotlyChart", "DataFrame", "Metric"),
    "checks_catalog": ("PlotlyChart", "StreamlitSyntaxHighlighter", "PageLink"),  # a check's detail
    "findings": ("Button", "PageLink", "TextArea", "DateInput"),  # a finding's detail and its actions
    "data_health": ("PlotlyChart",),  # the runs timeline, one tab away
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


@functools.cache
def head_tags(page: str) -> bytes:
    """The <link>/<script> tags for a page's <head>; empty for a page not listed."""
    now = closure(PAGE_ELEMENTS.get(page, ()))
    soon = [c for c in closure(PAGE_SOON.get(page, ())) if c not in now]
    # low priority: after the main bundle, which the app needs first to boot and open its websocket
    tags = [
        f'<link rel="modulepreload" crossorigin fetchpriority="low" href="./static/js/{c}">'
        for c in (*now, *soon)
    ]
    if soon:
        roots = [chunk(e) for e in PAGE_SOON[page]]
        imports = "".join(f'import("./static/js/{c}");' for c in roots)
        tags.append(f'<script type="module">{_AFTER_FIRST_PAINT.replace("IMPORTS", imports)}</script>')
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
