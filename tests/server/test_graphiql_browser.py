"""The GraphiQL page: served self-contained, and usable in a real browser.

The browser test drives headless Chromium through tests/browser/graphiql.mjs
(playwright-core): it types a query into the editor, runs it and waits for the
review title in the response pane.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.live import ROOT, run_node_script

SCRIPT = ROOT / "tests" / "browser" / "graphiql.mjs"


class _References(HTMLParser):
    """Every ``src=`` and ``href=`` in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def _page(base: str) -> httpx.Response:
    return httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}, timeout=10)


def test_graphiql_page_is_self_contained(live_server: str, graphiql_assets: Path) -> None:
    response = _page(live_server)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "graphiql-config" in page
    assert re.search(r"https?://", page) is None, "the page must not load anything from a CDN"

    parser = _References()
    parser.feed(page)
    urls = [url for url in parser.urls if not url.startswith("data:")]
    assert any(url.endswith("/graphiql.js") for url in urls), urls
    assert any(url.endswith("/graphiql.css") for url in urls), urls
    with httpx.Client(base_url=live_server, timeout=10) as client:
        for url in urls:
            asset = client.get(url)
            assert asset.status_code == 200, f"{url} answered {asset.status_code}"
            assert asset.content, f"{url} is empty"


@pytest.mark.browser
def test_graphiql_runs_a_query_in_chromium(
    browser_node: str, live_server: str, graphiql_assets: Path, tmp_path: Path
) -> None:
    node = browser_node

    screenshot = tmp_path / "graphiql.png"
    run, summary = run_node_script(node, SCRIPT, live_server, str(screenshot))
    report = json.dumps(summary, indent=2, ensure_ascii=False)
    assert run.returncode == 0, f"graphiql.mjs failed:\n{report}\n{run.stderr[-4000:]}"
    assert summary["ok"] is True, report
    assert summary["failedRequests"] == [], report
    assert summary["consoleErrors"] == [], report
    assert summary["titleFound"] is True, report
    assert screenshot.is_file() and screenshot.stat().st_size > 0
