"""GraphiQL's editorial tabs in a real browser: open a tab, fill it, run it, see the answer.

tests/browser/editor_tabs.mjs drives headless Chromium (playwright-core) against the live
server: the page opens with the tabs of server/editor_tabs.py; in EditSection it types the
editor token into the Headers and the variables, lets "Fill expectedRevision" look the
section's revision up, runs the mutation and reads the edited section in the response.
First, as a returning visitor with tabs stored from an earlier visit, it checks that the
editorial tabs are added to those, once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.editor_tabs import EDITORIAL_TABS, TABS
from tests.live import ROOT, run_node_script

SCRIPT = ROOT / "tests" / "browser" / "editor_tabs.mjs"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.browser
def test_an_editor_runs_the_edit_section_tab_in_chromium(
    browser_node: str,
    live_server: str,
    live_editor_token: str,
    graphiql_assets: Path,
    tmp_path: Path,
) -> None:
    screenshot = tmp_path / "tabs.png"
    run, summary = run_node_script(
        browser_node, SCRIPT, live_server, str(screenshot), live_editor_token, timeout=150
    )
    report = json.dumps(summary, indent=2, ensure_ascii=False)
    assert live_editor_token not in run.stdout, "the token must not be echoed"
    assert run.returncode == 0, f"editor_tabs.mjs failed:\n{report}\n{run.stderr[-4000:]}"
    assert summary["ok"] is True, report
    assert summary["failedRequests"] == [] and summary["consoleErrors"] == [], report

    # Every tab is there, titled with its operation's name, in order.
    assert summary["tabNames"] == [tab.name for tab in TABS], report
    # A returning visitor keeps their stored tabs and gets the editorial ones once:
    # one they close stays closed.
    editorial = [tab.name for tab in EDITORIAL_TABS]
    assert summary["returningTabNames"] == ["Mine", *editorial], report
    assert summary["afterClosingTabNames"] == ["Mine", *editorial[1:]], report
    # The control looked the section's revision up (a positive number) and wrote it in.
    assert summary["filledRevision"] >= 1, report
    assert '"slug":"ketamine--als"' in summary["variables"], report
    assert summary["answered"] is True and summary["edited"] is True, report
    assert '"status":"DRAFT"' in summary["resultText"].replace(" ", ""), report

    data = screenshot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
