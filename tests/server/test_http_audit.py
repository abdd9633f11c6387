"""GraphQL-over-HTTP compliance: every graphql-http server audit, run by node."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.live import ROOT, output_text, require_node_package

SCRIPT = ROOT / "tests" / "browser" / "audit.mjs"


@pytest.fixture(scope="session")
def audit_node() -> str:
    """``node`` with graphql-http (checked before the server starts)."""
    return require_node_package("graphql-http")


def test_graphql_over_http_audits(audit_node: str, live_server: str) -> None:
    node = audit_node
    try:
        run = subprocess.run(
            [node, str(SCRIPT), live_server],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"audit.mjs did not finish in 120 s:\n{output_text(exc.stdout)}\n{output_text(exc.stderr)}"
        )
    try:
        summary = json.loads(run.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"audit.mjs printed no summary (exit {run.returncode}):\n{run.stdout}\n{run.stderr}"
        )

    failing = [r for r in summary["results"] if r["status"] in ("warn", "error")]
    details = "\n".join(
        f"- [{r['status']}] {r['id']} {r['name']}: {r.get('reason', '')}"
        + (
            f" (answered {r['response']['status']} {r['response']['body'][:200]!r})"
            if r.get("response")
            else ""
        )
        for r in failing
    )
    assert summary["counts"]["error"] == 0 and summary["counts"]["warn"] == 0, (
        f"{summary['counts']} of {summary['total']} audits; failing:\n{details}"
    )
    assert run.returncode == 0, run.stderr
    assert summary["counts"]["ok"] > 0
