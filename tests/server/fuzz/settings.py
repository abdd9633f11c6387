"""What the fuzzing knows: the known bugs it steers around, the demo catalog's
names, the error codes an answer may carry, and hypothesis's settings."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, settings

from tests.conftest import DEMO

# --- known bugs: steer around them while they are open (all fixed now: test_regressions.py)
# COMPENDIUM_FUZZ_KNOWN_BUGS=all, or a comma-separated list of the names below (NUL,
# HUGE_IDS...), lets the strategies generate those triggers again.
_UNSTEERED = {
    n.strip().upper() for n in os.environ.get("COMPENDIUM_FUZZ_KNOWN_BUGS", "").split(",")
}


def _steer(name: str, open_bug: bool = True) -> bool:
    return open_bug and not ({"ALL", name} & _UNSTEERED)


STEER_NUL = _steer("NUL", open_bug=False)  # test_nul_in_a_string_argument_is_not_an_internal_error
STEER_HUGE_IDS = _steer("HUGE_IDS", open_bug=False)  # test_a_node_id_out_of_the_key_range_is_null
STEER_FORGED_CURSORS = _steer(
    "FORGED_CURSORS", open_bug=False
)  # test_a_forged_cursor_is_not_an_internal_error
STEER_DATETIME_EDGES = _steer(
    "DATETIME_EDGES", open_bug=False
)  # test_updated_since_at_the_edge_of_time_...
STEER_SURROGATES = _steer(
    "SURROGATES", open_bug=False
)  # test_a_lone_surrogate_in_a_variable_is_not_...
STEER_DEEP_JSON_BODY = _steer(
    "DEEP_JSON_BODY", open_bug=False
)  # test_a_deeply_nested_json_body_is_a_bad_request
STEER_UNHASHABLE_REFS = _steer(
    "UNHASHABLE_REFS", open_bug=False
)  # test_import_rejects_unhashable_references
STEER_DEEP_CATALOG = _steer("DEEP_CATALOG", open_bug=False)  # test_import_rejects_deep_nesting
STEER_ALIAS_BOMB_KEYS = _steer(
    "ALIAS_BOMB_KEYS", open_bug=False
)  # test_an_alias_bomb_in_a_template_kind_...

ROOT = Path(__file__).resolve().parents[3]
SDL = (ROOT / "schema.graphql").read_text(encoding="utf-8")
DEMO_TEXT = DEMO.read_text(encoding="utf-8")
DEMO_DATA: dict[str, Any] = yaml.safe_load(DEMO_TEXT)
DEMO_JSON = json.dumps(DEMO_DATA, ensure_ascii=False, indent=1)
COMPOUNDS = [c["slug"] for c in DEMO_DATA["compounds"]]
CONDITIONS = [c["slug"] for c in DEMO_DATA["conditions"]]
PAIRS = [(e["compound"], e["condition"]) for e in DEMO_DATA["evidence"]]
REVIEWS = [f"{c}--{d}" for c, d in PAIRS]

# The facts under test are checked on this page; sections are edited on another one
# (regeneration keeps edited sections, which would hide the regenerated facts).
FACT_COMPOUND, FACT_CONDITION = "ketamine", "als"
FACT_REVIEW = f"{FACT_COMPOUND}--{FACT_CONDITION}"
SECTION_REVIEW = next(f"{c}--{d}" for c, d in PAIRS if c != FACT_COMPOUND and d != FACT_CONDITION)
assert (FACT_COMPOUND, FACT_CONDITION) in PAIRS

REQUEST_SECONDS = 10.0
CODES = {
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "CONFLICT",
    "QUERY_TOO_COMPLEX",
    "PERSISTED_QUERY_NOT_FOUND",
    "RATE_LIMITED",
    "THROTTLED",
    "RESPONSE_TOO_LARGE",
    "INTERNAL_SERVER_ERROR",
    "TIMEOUT",
}
# Refusals of a whole request by the abuse limits (valid documents may get these).
LIMIT_CODES = {
    "QUERY_TOO_COMPLEX",
    "RESPONSE_TOO_LARGE",
    "BAD_USER_INPUT",
    "RATE_LIMITED",
    "THROTTLED",
    "TIMEOUT",
}
LEAKS = [
    re.compile(p)
    for p in (
        r"Traceback",
        r'File "',
        r"sqlalchemy",
        r"sqlite3",
        r"psycopg",
        r"asyncpg",
        r"/work/",
        r'\.py"',
        r"SELECT ",
        r"INSERT INTO",
    )
]


def fuzz(max_examples: int) -> Any:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        # No explain phase: its tracing breaks compile() on CPython 3.11 ("SystemError:
        # AST constructor recursion depth mismatch") when a failing example imports a module.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )
