"""Bad templates are rejected at import, with the field and line of the problem."""

from __future__ import annotations

import copy

import pytest
import yaml

from content.template_checks import TemplateInvalid
from content.templating import CompiledTemplate
from tests.conftest import TEMPLATES

SOURCE = yaml.safe_load(TEMPLATES.read_text())["templates"][0]


def broken(section: int, body: str) -> dict:
    src = copy.deepcopy(SOURCE)
    src["sections"][section]["body"] = body
    return src


def problems(src: dict) -> list[str]:
    with pytest.raises(TemplateInvalid) as info:
        CompiledTemplate(src)
    return [str(p) for p in info.value.problems]


def test_default_template_compiles() -> None:
    assert CompiledTemplate(SOURCE).version == SOURCE["version"]


def test_syntax_error_with_line() -> None:
    found = problems(broken(1, "line one\nline two {% if %}\n"))
    assert found == [
        "template.sections[1].body line 2: syntax error: Expected an expression, got 'end of statement block'"
    ]


def test_unknown_variable_with_line() -> None:
    found = problems(broken(0, "ok\n\n{{ drug.name }}\n"))
    assert found == ["template.sections[0].body line 3: unknown variable 'drug'"]


def test_unknown_attribute_with_line() -> None:
    found = problems(broken(2, "a\nb\n{{ compound.nmae }}\n"))
    assert len(found) == 1
    assert found[0].startswith("template.sections[2].body line 3: unknown variable 'compound.nmae'")


def test_runtime_error_found_at_import() -> None:
    found = problems(broken(3, "x\n{{ compound.name | int + 'a' }}\n"))
    assert found and found[0].startswith("template.sections[3].body line 2:")


def test_sandbox_blocks_unsafe_access() -> None:
    found = problems(broken(0, "{{ compound.__class__.__mro__ }}"))
    assert found and "__class__" in found[0]


def test_missing_disclaimer_rejected() -> None:
    src = copy.deepcopy(SOURCE)
    src["sections"] = [s for s in src["sections"] if s["key"] != "disclaimer"]
    assert "template.sections: missing section 'disclaimer'" in problems(src)


def test_unbalanced_bold_rejected() -> None:
    found = problems(broken(4, "**Bottom line without end"))
    assert found == ["template.sections[4].body: unbalanced ** (bold is opened but never closed)"]
