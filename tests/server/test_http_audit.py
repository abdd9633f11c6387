"""GraphQL-over-HTTP compliance: every graphql-http server audit, run by node."""

from __future__ import annotations

import pytest

from tests.live import ROOT, require_node_package, run_node_script

SCRIPT = ROOT / "tests" / "browser" / "audit.mjs"


@pytest.fixture(scope="session")
def audit_node() -> str:
    """``node`` with graphql-http (checked before the server starts)."""
    return require_node_package("graphql-http")


def test_graphql_over_http_audits(audit_node: str, live_server: str) -> None:
    run, summary = run_node_script(audit_node, SCRIPT, live_server)

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
