"""Query limits: depth, aliases, tokens and cost, checked before anything executes.

Computed on the parsed, validated document with the request's variables
(``server.cost.measure``, linear in the document):

* depth: the deepest chain of nested fields;
* aliases: how many fields carry an alias, counting a fragment once per spread
  (aliasing is how one request asks for the same expensive field many times);
* tokens: the lexer's token count (bounds parsing work);
* cost: points of work (``server.cost``).

Request rates and cost budgets per client are ``server.ratelimit``.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql.language import Lexer, Source, TokenKind

from server.cost import Measure


@dataclass(frozen=True, slots=True)
class QueryLimits:
    depth: int
    aliases: int
    tokens: int
    cost: int


class TooComplex(Exception):
    def __init__(self, what: str, value: int, limit: int):
        super().__init__(f"the query's {what} is {value}, over the limit of {limit}")
        self.what = what
        self.value = value
        self.limit = limit


def count_tokens(query: str) -> int:
    lexer = Lexer(Source(query))
    n = 0
    while lexer.advance().kind is not TokenKind.EOF:
        n += 1
    return n


def check(m: Measure, limits: QueryLimits) -> None:
    """Depth, aliases and cost (tokens are bounded while parsing, see ``count_tokens``)."""
    for what, value, limit in (
        ("depth", m.depth, limits.depth),
        ("number of aliases", m.aliases, limits.aliases),
        ("cost", m.cost, limits.cost),
    ):
        if value > limit:
            raise TooComplex(what, value, limit)
