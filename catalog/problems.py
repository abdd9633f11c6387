"""What is wrong with a catalog: every problem with its path, the first ones listed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

# A refused file lists this many problems and counts the rest (README: Limits and security).
MAX_REPORTED_PROBLEMS = 100


@dataclass(slots=True)
class CatalogProblem:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path} (line {self.line})" if self.line else self.path
        return f"{where}: {self.message}"


class CatalogInvalid(ValueError):
    """A refused catalog: its first problems (``MAX_REPORTED_PROBLEMS``) and how many in all."""

    def __init__(self, source: str, problems: list[CatalogProblem], total: int | None = None):
        self.source = source
        self.problems = problems[:MAX_REPORTED_PROBLEMS]
        self.total = max(total or 0, len(problems))
        lines = "\n".join(f"  {source}: {p}" for p in self.problems)
        if self.total > len(self.problems):
            more = self.total - len(self.problems)
            lines += f"\n  {source}: ... and {more:,} more problem(s) not listed"
        super().__init__(f"{source}: {self.total} problem(s), nothing was imported\n{lines}")


class Problems:
    """The problems found so far: the first ``MAX_REPORTED_PROBLEMS`` kept, all counted."""

    def __init__(self) -> None:
        self.kept: list[CatalogProblem] = []
        self.total = 0

    def append(self, problem: CatalogProblem) -> None:
        self.total += 1
        if len(self.kept) < MAX_REPORTED_PROBLEMS:
            self.kept.append(problem)

    def extend(self, problems: Iterable[CatalogProblem]) -> None:
        for problem in problems:
            self.append(problem)

    def add_validation(self, exc: ValidationError, section: str = "", offset: int = 0) -> None:
        """Pydantic's errors, spelled out only while they are still to be listed."""
        if len(self.kept) >= MAX_REPORTED_PROBLEMS:
            self.total += exc.error_count()
        else:
            self.extend(pydantic_problems(exc, section, offset))

    def __bool__(self) -> bool:
        return self.total > 0


def _loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(file)"


def pydantic_problems(
    exc: ValidationError, section: str = "", offset: int = 0
) -> list[CatalogProblem]:
    """Problems from pydantic's errors; rows validated apart are ``section[offset + i]``."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        if section and loc and isinstance(loc[0], int):
            loc = [section, loc[0] + offset, *loc[1:]]
        elif section:
            loc = [section, *loc]
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        problems.append(CatalogProblem(_loc(loc), msg))
    return problems
