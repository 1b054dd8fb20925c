"""app/preload.py: element chunks resolve in this Streamlit build, and the middleware edits only page HTML.

(That every chunk a page fetches is named in its HTML is checked in a real browser: test_browser.py.)
"""

from __future__ import annotations

import asyncio

import pytest

from app import preload

HTML = b"<html><head><title>x</title></head><body></body></html>"


def test_every_listed_element_has_exactly_one_chunk():
    names = {n for page in (preload.PAGE_ELEMENTS, preload.PAGE_SOON) for ns in page.values() for n in ns}
    for name in names:
        assert (preload.JS / preload.chunk(name)).is_file()
    for page in preload.PAGE_ELEMENTS:
        tags = preload.head_tags(page).decode()
        assert tags.count('rel="modulepreload"') == len(
            set(preload.closure(preload.PAGE_ELEMENTS[page]))
            | {c for c in preload.closure(preload.PAGE_SOON.get(page, ()))}
        )


def test_an_unknown_element_is_named_in_the_error():
    with pytest.raises(preload.UnknownElement, match="NoSuchChart: 0 chunks"):
        preload.chunk("NoSuchChart")


def test_the_closure_follows_static_imports_and_skips_what_index_html_loads():
    plotly = preload.closure(("PlotlyChart",))
    assert plotly[0] == preload.chunk("PlotlyChart")
    assert any(c.startswith("withFullScreenWrapper.") for c in plotly)
    assert not any(c.startswith("react-dom.") for c in plotly)  # in index.html already


@pytest.mark.parametrize(
    ("path", "page"), [("/", ""), ("/findings", "findings"), ("/base/trace/", "trace"), ("/x/y", "y")]
)
def test_page_of(path, page):
    assert preload.page_of(path) == page


def _serve(path: str, body: bytes, content_type: bytes, method: str = "GET", chunks: int = 1):
    """Run the middleware over an app answering `body` in `chunks` parts; returns (seen headers, sent)."""
    seen: dict = {}

    async def inner(scope, receive, send):
        seen["headers"] = scope["headers"]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})  # fmt: skip
        step = -(-len(body) // chunks)
        for i in range(chunks):
            part = body[i * step : (i + 1) * step]
            await send({"type": "http.response.body", "body": part, "more_body": i < chunks - 1})

    sent: list = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path,
             "headers": [(b"accept-encoding", b"gzip"), (b"host", b"x")]}  # fmt: skip
    asyncio.run(preload.PreloadMiddleware(inner)(scope, None, send))
    return seen["headers"], sent


def _body(sent) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.mark.parametrize("chunks", [1, 3])
def test_a_page_gets_its_tags_and_a_matching_content_length(chunks):
    headers, sent = _serve("/findings", HTML, b"text/html; charset=utf-8", chunks=chunks)
    body = _body(sent)
    assert preload.head_tags("findings") + b"</head>" in body
    assert body.count(b"</head>") == 1
    length = dict(sent[0]["headers"])[b"content-length"]
    assert int(length) == len(body) == len(HTML) + len(preload.head_tags("findings"))
    assert (b"accept-encoding", b"gzip") not in headers  # answered plain, so it can be edited
    assert (b"host", b"x") in headers


def test_static_files_other_methods_and_unlisted_pages_pass_through():
    js = b'import"./x.js";'
    for path, body, ctype, method in [
        ("/static/js/Metric.js", js, b"text/javascript", "GET"),
        ("/findings", HTML, b"text/html", "HEAD"),
        ("/no_such_page", HTML, b"text/html", "GET"),
    ]:
        headers, sent = _serve(path, body, ctype, method)
        assert _body(sent) == body
        assert (b"accept-encoding", b"gzip") in headers
