"""Catalog imports cannot be made into bombs (issue 17, item 19): YAML aliases and their
expansion, rows per section and reported problems are capped, for `compendium import`
(a real process) and for the `importCatalog` mutation (real HTTP)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from catalog.checks import MAX_ROWS
from catalog.loading import MAX_YAML_ALIAS_NODES, MAX_YAML_ALIASES, parse_text
from catalog.problems import MAX_REPORTED_PROBLEMS, CatalogInvalid
from db.engine import make_engine, session_scope
from db.models import Compound
from db.tokens import create_token
from tests.conftest import Api
from tests.server.editing import Client, count
from tests.server.test_cli import run

IMPORT = """
mutation Import($content: String!, $format: CatalogFormat!) {
  importCatalog(content: $content, format: $format) { counts { kind created } }
}
"""
# A few KB of output is plenty for any refusal; the bombs made megabytes before.
SMALL = 60_000


def flat_alias_bomb(rows: int = 75_000) -> str:
    """The issue's 0.3 MB file: one invalid compound, repeated through aliases."""
    return (
        "x-anchors:\n  - &c {slug: X, name: 1, drug_class: 2}\n"
        "compounds: [" + ", ".join(["*c"] * rows) + "]\n"
    )


def nested_alias_bomb(levels: int = 5, width: int = 10) -> str:
    """Few aliases (levels x width), width ** levels nodes once expanded."""
    lines = ["x-anchors:", "  - &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"  - &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + f"\ntemplates: [{{kind: safety, sections: *l{levels - 1}}}]\n"


@pytest.fixture
def editor(api: Api, demo_url: str) -> Client:
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        secret, _ = create_token(session, "importer", "editor")
    engine.dispose()
    return Client(api, secret)


def test_the_caps_are_small() -> None:
    assert MAX_YAML_ALIASES == 100 and MAX_YAML_ALIAS_NODES == 10_000
    assert MAX_REPORTED_PROBLEMS == 100
    assert MAX_ROWS == {
        "compounds": 10_000,
        "conditions": 10_000,
        "evidence": 500_000,
        "templates": 1_000,
    }


def test_the_cli_refuses_an_alias_bomb_quickly(db_url: str, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(flat_alias_bomb(), encoding="utf-8")
    assert 290_000 < bomb.stat().st_size < 310_000
    started = time.perf_counter()
    result = run(db_url, "import", str(bomb), check=False)
    elapsed = time.perf_counter() - started
    assert result.returncode == 1, result.stderr[:2000]
    assert len(result.stdout) + len(result.stderr) < SMALL, len(result.stderr)
    assert f"more than {MAX_YAML_ALIASES} YAML aliases" in result.stderr
    assert "(line 3)" in result.stderr  # where the 101st alias is
    assert elapsed < 8, elapsed  # a process start; the bomb took 15 s and 56 MB of output


def test_an_alias_expansion_past_the_node_budget_is_refused() -> None:
    content = nested_alias_bomb()
    assert content.count("*") <= MAX_YAML_ALIASES
    with pytest.raises(CatalogInvalid) as caught:
        parse_text(content, "bomb.yaml")
    (problem,) = caught.value.problems
    assert "YAML aliases would add more than 10,000 nodes" in problem.message
    # A recursive alias (a node that contains itself) cannot be expanded at all.
    with pytest.raises(CatalogInvalid) as caught:
        parse_text("publisher: &p {name: x, medical_advisor: *p}\n", "loop.yaml")
    assert "contains" in caught.value.problems[0].message
    # A few aliases stay allowed (shared lists are a fair use of YAML).
    shared = parse_text(
        "x: &s [one, two]\ncompounds: [{safety_profile: *s}, {safety_profile: *s}]\n"
    )
    assert shared["compounds"][1]["safety_profile"] == ["one", "two"]


async def test_the_mutation_refuses_an_alias_bomb(editor: Client, demo_url: str) -> None:
    started = time.perf_counter()
    response = await editor.raw(IMPORT, {"content": flat_alias_bomb(), "format": "YAML"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert len(response.content) < SMALL, len(response.content)
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"][0]["path"] == "(file)"
    assert "YAML aliases" in error["extensions"]["problems"][0]["message"]
    assert elapsed < 3, elapsed  # 6 s and 49 MB before
    assert count(demo_url, Compound) == 36


async def test_rows_per_section_are_capped(editor: Client, demo_url: str) -> None:
    rows = MAX_ROWS["compounds"] + 1
    content = json.dumps({"compounds": [{}] * rows})
    response = await editor.raw(IMPORT, {"content": content, "format": "JSON"})
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"] == [
        {
            "path": "compounds",
            "message": f"{rows:,} rows; a catalog may have at most "
            f"{MAX_ROWS['compounds']:,} (split it into several files)",
        }
    ]
    assert len(response.content) < SMALL


async def test_reported_problems_are_capped_with_a_count(editor: Client) -> None:
    # 3,000 evidence rows missing their three required fields: 9,000 problems.
    content = json.dumps({"evidence": [{}] * 3_000})
    response = await editor.raw(IMPORT, {"content": content, "format": "JSON"})
    (error,) = response.json()["errors"]
    listed = error["extensions"]["problems"]
    assert len(listed) == MAX_REPORTED_PROBLEMS
    assert listed[0] == {"path": "evidence[0].compound", "message": "Field required"}
    assert error["extensions"]["problemCount"] == 9_000
    assert error["message"].startswith("9000 problem(s)")
    assert len(response.content) < SMALL


def test_the_cli_lists_the_first_problems_and_counts_the_rest(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"evidence": [{}] * 3_000}), encoding="utf-8")
    result = run(db_url, "import", str(bad), check=False)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"{bad}: 9000 problem(s), nothing was imported"
    assert len(lines) == 1 + MAX_REPORTED_PROBLEMS + 1, lines[-3:]
    assert lines[-1] == f"  {bad}: ... and 8,900 more problem(s) not listed"
