"""The editor preview in a real browser: sign in from GraphiQL, open the page, look at it.

tests/browser/preview.mjs drives headless Chromium (playwright-core) against the
live server: the 401 page without credentials, then GraphiQL's Preview control
with the editor token in the Headers tab (it POSTs the header to /preview/session
and opens the preview in a new tab), then the page, its banner and the reader view,
with no failed request, console error or CSP violation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.live import ROOT, run_node_script

SCRIPT = ROOT / "tests" / "browser" / "preview.mjs"
TITLE = (
    "Is Ketamine (IV / Esketamine) Safe for ALS (Amyotrophic Lateral Sclerosis) Patients?"
    " — Research Review"
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.browser
def test_editor_previews_a_review_in_chromium(
    browser_node: str,
    live_server: str,
    live_editor_token: str,
    graphiql_assets: Path,
    tmp_path: Path,
) -> None:
    screenshot = tmp_path / "preview.png"
    run, summary = run_node_script(
        browser_node, SCRIPT, live_server, str(screenshot), live_editor_token, timeout=150
    )
    report = json.dumps(summary, indent=2, ensure_ascii=False)
    assert live_editor_token not in run.stdout, "the token must not be echoed"
    assert run.returncode == 0, f"preview.mjs failed:\n{report}\n{run.stderr[-4000:]}"
    assert summary["ok"] is True, report
    assert summary["failedRequests"] == [], report
    assert summary["consoleErrors"] == [], report
    assert summary["cspViolations"] == [], report

    assert summary["anonymousStatus"] == 401, report
    assert summary["guessedSlug"] == "ketamine--als", report  # from GraphiQL's variables
    assert "Authorization" in summary["missingHeaderMessage"], report
    assert summary["sessionStatus"] == 204, report
    assert summary["previewUrl"] == f"{live_server}/preview/ketamine--als", report
    assert summary["h1"] == TITLE, report
    assert summary["bannerVisible"] is True, report
    assert summary["status"] == "PUBLISHED", report  # the demo catalog loads as published
    assert "Editor preview" in summary["banner"], report
    assert summary["sectionCount"] >= 5, report
    assert summary["readerUrl"].endswith("/preview/ketamine--als?as=reader"), report
    assert "Reader view" in summary["readerBanner"] and summary["readerH1"] == TITLE, report

    data = screenshot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
