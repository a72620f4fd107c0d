"""A small OPATH filter parser: `-Filter "DeviceType -eq 'iPhone' -and (DeviceOS -like 'iOS 17*')"`.

The filter is parsed into a tree of closures, never evaluated as Python. Grammar:

    expr       := and_expr ("-or" and_expr)*
    and_expr   := not_expr ("-and" not_expr)*
    not_expr   := "-not" not_expr | "(" expr ")" | comparison
    comparison := Property operator value

Values are quoted strings, barewords, numbers, $true, $false or $null. Strings compare case-insensitively
as in Exchange; -like/-notlike accept * and ? wildcards; dates accept ISO or US ("1/31/2024 10:00") forms.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable

Getter = Callable[[str], Any]
Predicate = Callable[[Getter], bool]

_OPERATORS = {"-eq", "-ne", "-like", "-notlike", "-gt", "-lt", "-ge", "-le"}
_TOKEN = re.compile(r"""\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<op>-[A-Za-z]+)|'(?P<sq>(?:[^']|'')*)'|"(?P<dq>(?:[^"]|"")*)"|(?P<word>[^\s()'"]+))""")


class OPathError(ValueError):
    """The filter is invalid; the message is what Exchange would say."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):  # a script-block style filter sent as text
        text = text[1:-1].strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise OPathError(_syntax(text, pos))
        pos = m.end()
        kind = m.lastgroup or ""
        if kind == "sq":
            out.append(("str", m.group("sq").replace("''", "'")))
        elif kind == "dq":
            out.append(("str", m.group("dq").replace('""', '"')))
        elif kind == "op":
            out.append(("op", m.group("op").lower()))
        else:
            out.append((kind, m.group(kind)))
        if text[pos:].strip() == "":
            break
    return out


def _syntax(text: str, pos: int) -> str:
    return (f'Invalid filter syntax. For a description of the filter parameter syntax see the command help.\n'
            f'"{text}" at position {pos + 1}.')


def parse_datetime(text: str) -> dt.datetime:
    """Dates as the Exchange filter accepts them (ISO, or US culture), as aware UTC datetimes."""
    text = text.strip()
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            pass
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _wildcard(pattern: str) -> re.Pattern[str]:
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts) + r"\Z", re.IGNORECASE | re.DOTALL)


class _Parser:
    def __init__(self, text: str, properties: dict[str, str]):
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0
        # Property name (any case) -> (canonical name, kind: str, bool, int, datetime, enum, list)
        self.properties = {k.lower(): (k, v) for k, v in properties.items()}

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise OPathError(_syntax(self.text, len(self.text)))
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        if not self.tokens:
            raise OPathError(_syntax(self.text, 0))
        pred = self.expr()
        if self.peek() is not None:
            raise OPathError(_syntax(self.text, self._offset()))
        return pred

    def _offset(self) -> int:
        needle = self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""
        found = self.text.find(needle)
        return max(found, 0)

    def expr(self) -> Predicate:
        left = self.and_expr()
        while self.peek() == ("op", "-or"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda g: a(g) or b(g))(left, right)
        return left

    def and_expr(self) -> Predicate:
        left = self.not_expr()
        while self.peek() == ("op", "-and"):
            self.take()
            right = self.not_expr()
            left = (lambda a, b: lambda g: a(g) and b(g))(left, right)
        return left

    def not_expr(self) -> Predicate:
        token = self.peek()
        if token == ("op", "-not"):
            self.take()
            inner = self.not_expr()
            return lambda g: not inner(g)
        if token is not None and token[0] == "lp":
            self.take()
            inner = self.expr()
            if self.take()[0] != "rp":
                raise OPathError(_syntax(self.text, self._offset()))
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        kind, name = self.take()
        if kind not in ("word", "str"):
            raise OPathError(_syntax(self.text, self._offset()))
        prop = self.properties.get(name.lower())
        if prop is None:
            raise OPathError(f"Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": "
                             f"\"'{name}' is not a recognized filterable property. For a list of filterable "
                             f"properties see the command help.\"")
        op_kind, op = self.take()
        if op_kind != "op" or op not in _OPERATORS:
            raise OPathError(_syntax(self.text, self._offset()))
        value_kind, raw = self.take()
        if value_kind not in ("word", "str"):
            raise OPathError(_syntax(self.text, self._offset()))
        return _compare(prop[0], prop[1], op, raw, value_kind == "str")


def _literal(kind: str, raw: str, quoted: bool) -> Any:
    low = raw.lower()
    if not quoted and low in ("$null", "null"):
        return None
    if not quoted and low in ("$true", "$false"):
        return low == "$true"
    if kind == "bool":
        if low in ("true", "false", "$true", "$false"):
            return low.lstrip("$") == "true"
        raise OPathError(f"Cannot convert value \"{raw}\" to type \"System.Boolean\".")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise OPathError(f"Cannot convert value \"{raw}\" to type \"System.Int32\".") from None
    if kind == "datetime":
        try:
            return parse_datetime(raw)
        except ValueError:
            raise OPathError(f"Cannot convert value \"{raw}\" to type \"System.DateTime\".") from None
    return raw


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value


def _compare(name: str, kind: str, op: str, raw: str, quoted: bool) -> Predicate:
    literal = _literal(kind, raw, quoted)
    if op in ("-like", "-notlike"):
        rx = _wildcard(str(raw))
        positive = op == "-like"

        def like(g: Getter) -> bool:
            value = g(name)
            values = value if isinstance(value, (list, tuple)) else [value]
            hit = any(v is not None and rx.match(str(v)) for v in values)
            return hit if positive else not hit
        return like
    want = _norm(literal)
    if op in ("-eq", "-ne"):
        positive = op == "-eq"

        def eq(g: Getter) -> bool:
            value = _norm(g(name))
            if want is None:
                hit = value is None or value == "" or value == []
            elif isinstance(value, list):
                hit = want in value
            else:
                hit = value == want
            return hit if positive else not hit
        return eq
    if want is None:
        raise OPathError(_syntax(raw, 0))
    compare = {"-gt": lambda a, b: a > b, "-lt": lambda a, b: a < b,
               "-ge": lambda a, b: a >= b, "-le": lambda a, b: a <= b}[op]

    def ordered(g: Getter) -> bool:
        value = _norm(g(name))
        if value is None or isinstance(value, list):
            return False
        try:
            return compare(value, want)
        except TypeError:
            return False
    return ordered


def compile_filter(text: str, properties: dict[str, str]) -> Predicate:
    """Compile an OPATH filter against `properties` ({name: kind}); raises OPathError."""
    return _Parser(str(text), properties).parse()
