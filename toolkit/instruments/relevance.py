"""Skip logic: the XLSForm subset ptw instruments use in ``relevant``.

An item's ``relevant`` expression says when it is asked, e.g.
``${long_term_condition} = 'Y' and not(${condition_reduces_activity} = 'NONE')``.
The grammar (a subset of XLSForm / XPath) is::

    expression := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "not" "(" expression ")" | "(" expression ")"
                | "selected" "(" ${name} "," literal ")" | operand ("=" | "!=") operand
    operand    := ${name} | 'text' | "text" | number

Answers are option codes (strings). As in XLSForm, an unanswered item compares as the empty
string, so ``${x} != 'v'`` is true when ``x`` was not answered. ``selected`` reads a
``select_multiple`` answer whose codes are separated by spaces (XLSForm) or ``;`` (ptw
templates).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from toolkit.errors import InstrumentError

_TOKEN = re.compile(
    r"\s*(?:(?P<ref>\$\{[A-Za-z_][A-Za-z0-9_]*\})"
    r"|(?P<string>'[^']*'|\"[^\"]*\")"
    r"|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<op>!=|=)"
    r"|(?P<punct>[(),])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_-]*))"
)
_MULTIPLE_SEPARATOR = re.compile(r"[\s;]+")


@dataclass(frozen=True)
class Ref:
    """``${name}``: the answer to item ``name``."""

    name: str


@dataclass(frozen=True)
class Literal:
    """A quoted text or a number, kept as text."""

    value: str


@dataclass(frozen=True)
class Compare:
    """``left = right`` or ``left != right``."""

    left: Ref | Literal
    operator: str
    right: Ref | Literal


@dataclass(frozen=True)
class Selected:
    """``selected(${name}, 'code')``: the multiple-choice answer includes ``code``."""

    ref: Ref
    value: Literal


@dataclass(frozen=True)
class Not:
    """``not(expression)``."""

    operand: Expression


@dataclass(frozen=True)
class BoolOp:
    """``a and b and ...`` or ``a or b or ...``."""

    operator: str
    operands: tuple[Expression, ...]


Expression = Compare | Selected | Not | BoolOp


def _syntax_error(expression: str, problem: str) -> InstrumentError:
    return InstrumentError(
        code="instrument.relevant_syntax",
        message=f"cannot read 'relevant' expression: {problem}",
        value=expression,
        expected="${item} = 'code', !=, and, or, not(...), selected(${item}, 'code'), (...)",
        fix="write the condition with the operators listed, quoting option codes",
    )


def _tokenize(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _syntax_error(expression, f"unexpected text {text[position:].strip()[:20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive-descent parser over the token list."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokenize(expression)
        self.position = 0

    def peek(self) -> tuple[str, str]:
        if self.position < len(self.tokens):
            return self.tokens[self.position]
        return ("end", "")

    def take(self, kind: str, text: str | None = None) -> str:
        token_kind, token_text = self.peek()
        if token_kind != kind or (text is not None and token_text != text):
            wanted = repr(text) if text else kind
            seen = repr(token_text) if token_text else "the end"
            raise _syntax_error(self.expression, f"expected {wanted} but found {seen}")
        self.position += 1
        return token_text

    def parse(self) -> Expression:
        result = self.expression_()
        if self.peek()[0] != "end":
            raise _syntax_error(self.expression, f"unexpected {self.peek()[1]!r}")
        return result

    def expression_(self) -> Expression:
        return self._joined("or", self.term)

    def term(self) -> Expression:
        return self._joined("and", self.factor)

    def _joined(self, word: str, part: Callable[[], Expression]) -> Expression:
        operands = [part()]
        while self.peek() == ("word", word):
            self.position += 1
            operands.append(part())
        return operands[0] if len(operands) == 1 else BoolOp(word, tuple(operands))

    def factor(self) -> Expression:
        kind, text = self.peek()
        if kind == "word" and text in ("not", "selected"):
            self.position += 1
            self.take("punct", "(")
            result: Expression = Not(self.expression_()) if text == "not" else self.selected()
            self.take("punct", ")")
            return result
        if (kind, text) == ("punct", "("):
            self.position += 1
            inner = self.expression_()
            self.take("punct", ")")
            return inner
        left = self.operand()
        operator = self.take("op")
        return Compare(left, operator, self.operand())

    def selected(self) -> Selected:
        ref = Ref(self.take("ref")[2:-1])
        self.take("punct", ",")
        value = self.operand()
        if not isinstance(value, Literal):
            raise _syntax_error(self.expression, "selected() needs a quoted option code")
        return Selected(ref, value)

    def operand(self) -> Ref | Literal:
        kind, text = self.peek()
        if kind == "ref":
            self.position += 1
            return Ref(text[2:-1])
        if kind in ("string", "number"):
            self.position += 1
            return Literal(text[1:-1] if kind == "string" else text)
        seen = repr(text) if text else "the end"
        raise _syntax_error(self.expression, f"expected ${{item}} or a quoted code, found {seen}")


@lru_cache(maxsize=1024)
def parse_relevant(expression: str) -> Expression:
    """Parse a ``relevant`` expression into a small tree (cached).

    Raises:
        InstrumentError: code ``instrument.relevant_syntax`` with the problem found.
    """
    return _Parser(expression).parse()


def _walk(node: Expression) -> list[Expression]:
    """Every node of the tree, depth first."""
    if isinstance(node, Not):
        return [node, *_walk(node.operand)]
    if isinstance(node, BoolOp):
        return [node, *(child for operand in node.operands for child in _walk(operand))]
    return [node]


def referenced_items(expression: str) -> list[str]:
    """Item names the expression reads, in order of first appearance."""
    names: list[str] = []
    for node in _walk(parse_relevant(expression)):
        refs = (
            [node.ref]
            if isinstance(node, Selected)
            else [side for side in (node.left, node.right) if isinstance(side, Ref)]
            if isinstance(node, Compare)
            else []
        )
        names.extend(ref.name for ref in refs if ref.name not in names)
    return names


def compared_codes(expression: str) -> list[tuple[str, str]]:
    """``(item, code)`` pairs the expression compares an answer with (for validation)."""
    pairs: list[tuple[str, str]] = []
    for node in _walk(parse_relevant(expression)):
        if isinstance(node, Selected):
            pairs.append((node.ref.name, node.value.value))
        elif isinstance(node, Compare):
            sides = (node.left, node.right)
            refs = [side.name for side in sides if isinstance(side, Ref)]
            literals = [side.value for side in sides if isinstance(side, Literal)]
            if len(refs) == 1 and len(literals) == 1:
                pairs.append((refs[0], literals[0]))
    return pairs


def _value(operand: Ref | Literal, answers: Mapping[str, str | None]) -> str:
    if isinstance(operand, Literal):
        return operand.value
    return (answers.get(operand.name) or "").strip()


def _evaluate(node: Expression, answers: Mapping[str, str | None]) -> bool:
    if isinstance(node, Compare):
        equal = _value(node.left, answers) == _value(node.right, answers)
        return equal if node.operator == "=" else not equal
    if isinstance(node, Selected):
        chosen = _MULTIPLE_SEPARATOR.split(_value(node.ref, answers))
        return node.value.value in chosen
    if isinstance(node, Not):
        return not _evaluate(node.operand, answers)
    results = (_evaluate(operand, answers) for operand in node.operands)
    return all(results) if node.operator == "and" else any(results)


def evaluate_relevant(expression: str, answers: Mapping[str, str | None]) -> bool:
    """Whether an item with this ``relevant`` expression is asked, given the answers so far.

    Args:
        expression: the item's ``relevant`` (empty or blank means always asked).
        answers: item name -> option code(s) given, ``None`` when unanswered. A
            ``select_multiple`` answer holds its codes separated by spaces or ``;``.

    Returns:
        ``True`` when the item applies to this respondent.

    Raises:
        InstrumentError: the expression cannot be parsed (``instrument.relevant_syntax``).
    """
    if not expression or not expression.strip():
        return True
    return _evaluate(parse_relevant(expression), answers)
