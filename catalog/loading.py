"""Reading catalog files: YAML (libyaml when present) or JSON, with caps against bombs.

A few aliases are a fair use of YAML (a shared list); the flat and nested "billion
laughs" shapes are not: aliases and what they expand to are capped while the file is
composed, before anything is expanded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.resolver import Resolver

from catalog.problems import CatalogInvalid, CatalogProblem

try:
    # libyaml (types-PyYAML's stub does not declare the C parser it wraps)
    from yaml.cyaml import CParser as _Events  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Events(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


MAX_YAML_ALIASES = 100
MAX_YAML_ALIAS_NODES = 10_000  # nodes aliases may add once expanded; 100 characters = 1


class _CatalogLoader(Composer, SafeConstructor, Resolver, _Events):
    """YAML's safe loader (libyaml's parser when present: about 5x faster than PyYAML's
    own), refusing alias bombs while composing, before anything is expanded: at most
    ``MAX_YAML_ALIASES`` aliases, adding at most ``MAX_YAML_ALIAS_NODES`` nodes once
    expanded, and no alias inside its own anchor."""

    def __init__(self, stream: str) -> None:
        _Events.__init__(self, stream)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        Composer.__init__(self)
        self._aliases = 0
        self._added = 0
        self._sizes: dict[int, int] = {}  # id(node) -> its size once expanded

    def _refuse(self, problem: str, mark: Any) -> yaml.MarkedYAMLError:
        return ComposerError(None, None, problem, mark)

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if not self.check_event(AliasEvent):
            node = super().compose_node(parent, index)
            if node is not None:
                self._sizes[id(node)] = self._size(node)
            return node
        event = self.peek_event()
        assert event is not None  # (check_event saw it)
        mark = event.start_mark
        self._aliases += 1
        if self._aliases > MAX_YAML_ALIASES:
            raise self._refuse(
                f"more than {MAX_YAML_ALIASES} YAML aliases (*name); write the values out", mark
            )
        node = super().compose_node(parent, index)
        size = self._sizes.get(id(node))
        if size is None:
            raise self._refuse("a YAML alias refers to a node that contains it", mark)
        self._added += size
        if self._added > MAX_YAML_ALIAS_NODES:
            raise self._refuse(
                f"YAML aliases would add more than {MAX_YAML_ALIAS_NODES:,} nodes once "
                "expanded; write the values out",
                mark,
            )
        return node

    def _size(self, node: Node) -> int:
        if isinstance(node, ScalarNode):
            return 1 + len(node.value) // 100
        children = (
            [n for pair in node.value for n in pair]
            if isinstance(node, MappingNode)
            else list(node.value)
        )
        return 1 + sum(self._sizes.get(id(child), 0) for child in children)


def parse_text(text: str, source: str = "<catalog>", fmt: str | None = None) -> Any:
    """Parse YAML or JSON text (JSON is YAML, but its errors read better as JSON)."""
    fmt = fmt or ("json" if source.endswith(".json") else "yaml")
    try:
        if fmt == "json":
            return json.loads(text)
        loader = _CatalogLoader(text)  # yaml.safe_load's loader, with the caps
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except json.JSONDecodeError as exc:
        raise CatalogInvalid(
            source, [CatalogProblem("(file)", f"invalid JSON: {exc.msg}", exc.lineno)]
        ) from None
    except RecursionError:
        raise CatalogInvalid(
            source, [CatalogProblem("(file)", "nested too deeply to be a catalog")]
        ) from None
    except UnicodeEncodeError:  # a lone surrogate (libyaml reads UTF-8)
        raise CatalogInvalid(source, [CatalogProblem("(file)", "not Unicode text")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogInvalid(
            source, [CatalogProblem("(file)", f"invalid YAML: {problem}", line)]
        ) from None


def read_file(path: str | Path) -> Any:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise CatalogInvalid(
            str(p), [CatalogProblem("(file)", f"cannot read: {exc.strerror}")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogInvalid(str(p), [CatalogProblem("(file)", "not UTF-8 text")]) from None
    return parse_text(text, str(p))
