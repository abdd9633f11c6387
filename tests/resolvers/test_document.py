"""One structure, three formats; facts never become markup in any of them."""

from __future__ import annotations

import copy
import json

import yaml

from content.document import TextFormat, page_lines, render_body, render_page, script_safe_json
from content.markup import parse_markup
from content.template_checks import sample_facts
from content.templating import CompiledTemplate
from tests.conftest import TEMPLATES

SOURCE = yaml.safe_load(TEMPLATES.read_text())["templates"][0]


def hostile_facts() -> dict:
    facts = sample_facts()
    facts["compound"]["name"] = "<script>alert(1)</script>"
    facts["compound"]["drug_class"] = "- **bold** # heading [x](javascript:alert(1))"
    facts["condition"]["name"] = "Q: fake question"
    facts["condition"]["full_name"] = "A & B <img src=x onerror=alert(1)>"
    facts["compound"]["safety_profile"] = ["line\nbreak", "**not bold**"]
    return facts


def test_html_escapes_every_fact() -> None:
    page = CompiledTemplate(SOURCE).compose(hostile_facts())
    html = render_page(page, TextFormat.HTML)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "A &amp; B &lt;img src=x onerror=alert(1)&gt;" in html
    assert "<strong>bold</strong>" not in html
    assert html.count("<strong>") == 5  # the four lead-ins and the disclaimer, nothing from facts


def test_facts_stay_literal_in_the_structure() -> None:
    page = CompiledTemplate(SOURCE).compose(hostile_facts())
    profile = next(s for s in page.sections if s.key == "SAFETY_PROFILE")
    kinds = [b["type"] for b in profile.blocks]
    assert kinds == ["paragraph", "paragraph", "paragraph"]
    assert profile.blocks[1]["spans"] == [{"text": "line break; **not bold**", "bold": False}]
    faq = next(s for s in page.sections if s.key == "FAQ")
    assert [b["type"] for b in faq.blocks] == ["faq", "faq", "faq"]


def test_markdown_escapes_facts() -> None:
    page = CompiledTemplate(SOURCE).compose(hostile_facts())
    md = render_page(page, TextFormat.MARKDOWN)
    assert "\\<script\\>" in md
    assert "\\*\\*not bold\\*\\*" in md
    assert "- **Drug interactions:**" in md


def test_plain_lines_have_no_markers() -> None:
    page = CompiledTemplate(SOURCE).compose(sample_facts())
    lines = page_lines(page)
    assert not any(line.startswith(("- ", "**", "#")) for line in lines)
    assert (
        "Drug interactions: Sample may interact with standard treatments used for Cond (Condition). Your specialist must review your current medication list."
        in lines
    )


def test_body_formats_from_one_structure() -> None:
    blocks = parse_markup(
        "Intro **bold** text.\n\n- **Lead:** item one\n- item two\n\nQ: Why?\nA: Because."
    )
    assert (
        render_body(blocks, "PLAIN") == "Intro bold text.\nLead: item one\nitem two\nWhy?\nBecause."
    )
    assert render_body(blocks, "HTML") == (
        "<p>Intro <strong>bold</strong> text.</p>\n"
        "<ul><li><strong>Lead:</strong> item one</li><li>item two</li></ul>\n"
        '<div class="faq-item"><h3>Why?</h3><p>Because.</p></div>'
    )
    assert render_body(blocks, "MARKDOWN") == (
        "Intro **bold** text.\n\n- **Lead:** item one\n- item two\n\n### Why?\n\nBecause."
    )


def test_empty_optional_fields_leave_no_line() -> None:
    facts = sample_facts()
    facts["publisher"]["cta"] = ""
    page = CompiledTemplate(SOURCE).compose(facts)
    lines = page_lines(page)
    assert "cta" not in lines
    with_notice = CompiledTemplate(SOURCE).compose(sample_facts(notice="Demo content."))
    assert page_lines(with_notice)[2] == "Demo content."
    assert copy.deepcopy(lines) == lines


def test_script_safe_json_escapes_what_could_end_a_script_element() -> None:
    value = {"t": "</script><!-- a & b \u2028\u2029 é", "n": [1, None]}
    text = script_safe_json(value)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == value
    assert "é" in text  # the rest stays readable UTF-8
