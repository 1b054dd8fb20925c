"""app/preload.py: element chunks resolve in this Streamlit build, and the middleware edits only page HTML.

(That every chunk a page fetches is named in its HTML is checked in a real browser: test_browser.py.)
"""

from __future__ import annotations

import asyncio

import pytest

from app import plotly_chart, preload

HTML = b"<html><head><title>x</title></head><body></body></html>"


def test_every_listed_element_has_exactly_one_chunk():
    lists = (preload.PAGE_ELEMENTS, preload.PAGE_SOON, {p: e for p, (_, e) in preload.PAGE_LINKED.items()})
    names = {n for page in lists for ns in page.values() for n in preload._chunks(ns)}
    for name in names:
        assert (preload.JS / preload.chunk(name)).is_file()
    for page in preload.PAGE_ELEMENTS:
        tags = preload.head_tags(page).decode()
        assert tags.count('rel="modulepreload"') == len(
            set(preload.closure(preload._chunks(preload.PAGE_ELEMENTS[page])))
            | set(preload.closure(preload._chunks(preload.PAGE_SOON.get(page, ()))))
        )


def test_a_page_with_a_plotly_chart_preloads_the_bundle_and_the_component():
    tags = preload.head_tags("data_health").decode()
    assert f'rel="preload" as="script" fetchpriority="low" href="{plotly_chart.URL}"' in tags
    assert preload.chunk("BidiComponent") in tags
    assert plotly_chart.LOAD_JS in tags  # started once the page is idle
    assert plotly_chart.URL not in preload.head_tags("findings").decode()


def test_a_trace_link_starts_the_chart_code_on_the_first_script_run():
    tags = preload.head_tags("trace").decode()
    linked = tags[tags.index('has("id")') :]
    assert "testScriptState!=='initial'" in linked and plotly_chart.LOAD_JS in linked


def test_only_pages_below_the_root_name_the_base_url():
    assert "BACKEND_BASE_URL" not in preload.head_tags("").decode()
    for page in ("findings", "trace", "data_health"):
        assert preload.head_tags(page).decode().startswith("<script>window.__streamlit=")


def test_an_unknown_element_is_named_in_the_error():
    with pytest.raises(preload.UnknownElement, match="NoSuchChart: 0 chunks"):
        preload.chunk("NoSuchChart")


def test_the_closure_follows_static_imports_and_skips_what_index_html_loads():
    grid = preload.closure(("DataFrame",))
    assert grid[0] == preload.chunk("DataFrame")
    assert any(c.startswith("withFullScreenWrapper.") for c in grid)
    assert not any(c.startswith("react-dom.") for c in grid)  # in index.html already


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
