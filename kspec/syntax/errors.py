"""Lark's syntax errors -> diagnostics: what was found and expected, unclosed brackets, and
recovery at the next top-level item so that one run reports several independent mistakes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from kspec.diagnostics import Diagnostic
from kspec.limits import MAX_SYNTAX_ERRORS
from kspec.source import Source, Span

_TERMINALS = {
    "RPAR": "')'",
    "LPAR": "'('",
    "CALL_LPAR": "'('",
    "RSQB": "']'",
    "LSQB": "'['",
    "INDEX_LSQB": "'['",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "COLON": "':'",
    "EQUAL": "'='",
    "DOT": "'.'",
    "ARROW": "'->'",
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "_NL": "a new line",
    "$END": "the end of the file",
    "COMP_OP": "a comparison",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/', '//' or '%'",
    "POW": "'**'",
    "SECTION_NAME": "'data' or 'train'",
}
_PAIRS = {")": "(", "]": "[", "}": "{"}
_CLOSERS = {v: k for k, v in _PAIRS.items()}
_ARROW_FIX = "add a layer, block or shared layer after '->', or remove the '->'"
# A line ending like this goes on on the next one.
_CONTINUED = re.compile(r"(->|[=,+\-*/%:(\[]|\b(and|or|not|if|else|in))$")
# A `{` after this opens a dict, not a body (kspec/syntax/parse.py: Newlines).
_DICT_BEFORE = re.compile(r"(->|[=,+\-*/%:(\[<>]|\b(and|or|not))$")
_STATEMENT_WORDS = {"input", "output", "layer", "for", "if"}  # keywords that start a statement
_ENDS_CHAIN = {"RPAR", "RSQB", "RBRACE", "COMMA"}  # tokens that cannot follow '->'
# Where a new top-level item starts: recovery resumes parsing there after an error.
_ITEM_START = re.compile(r"(model|block|import|use)\b|(data|train)\s*\{")


def describe_terminal(name: str) -> str:
    if name in _TERMINALS:
        return _TERMINALS[name]
    if name.isupper() and name.isalpha():
        return f"'{name.lower()}'"
    return name


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    if tok.type == "_NL":
        return "end of line"
    if tok.type in ("NAME", "INT", "FLOAT", "STRING"):
        return f"'{tok}'"
    return describe_terminal(tok.type) if tok.type in _TERMINALS else f"'{tok}'"


def _expected(names: set[str]) -> str:
    if len(names - {"_NL"}) > 0:  # "or a new line" is rarely the fix when something else fits
        names = names - {"_NL"}
    shown = sorted({describe_terminal(n) for n in names if not n.startswith("__")})
    if len(shown) > 6:
        return ""
    return " or ".join(shown)


def open_brackets(text: str, end: int) -> list[tuple[str, int]]:
    """Brackets still open at offset `end` as (bracket, offset), outermost first.

    Strings and comments are skipped; a closer that does not match the innermost opener is
    ignored, so one stray bracket does not hide the unclosed one before it.
    """
    stack: list[tuple[str, int]] = []
    i = 0
    while i < end:
        ch = text[i]
        if ch == "#":
            newline = text.find("\n", i)
            i = end if newline < 0 else newline
        elif ch == '"':
            i += 1
            while i < end and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
        elif ch in "([{":
            stack.append((ch, i))
        elif ch in _PAIRS and stack and stack[-1][0] == _PAIRS[ch]:
            stack.pop()
        i += 1
    return stack


def _position(source: Source, offset: int) -> tuple[int, int]:
    line = source.text.count("\n", 0, offset) + 1
    return line, offset - (source.text.rfind("\n", 0, offset) + 1) + 1


def _point(source: Source, offset: int, width: int = 1) -> Span:
    line, col = _position(source, offset)
    return Span(line, col, line, col + width, source.path)


def _end_span(source: Source) -> Span:
    line = len(source.lines)
    col = len(source.line(line)) + 1
    return Span(line, col, line, col + 1, source.path)


def _offset(source: Source, line: int, column: int) -> int:
    return sum(len(t) + 1 for t in source.text.split("\n")[: line - 1]) + column - 1


def syntax_diagnostic(e: UnexpectedInput, source: Source) -> Diagnostic:
    """One Lark error as a diagnostic that says what was found, what was expected, and the fix."""
    if isinstance(e, UnexpectedCharacters):
        return _bad_character(e, source)
    if isinstance(e, UnexpectedToken):
        return _unexpected_token(e, source)
    if isinstance(e, UnexpectedEOF):
        unclosed = open_brackets(source.text, len(source.text))
        if unclosed:
            return _never_closed(unclosed[-1], source)
        return Diagnostic("syntax-error", "unexpected end of file", _end_span(source))
    return Diagnostic("syntax-error", str(e).splitlines()[0], Span(1, 1, 1, 2, source.path))


def _bad_character(e: UnexpectedCharacters, source: Source) -> Diagnostic:
    pos = e.pos_in_stream or 0
    ch = source.text[pos] if pos < len(source.text) else ""
    span = Span(e.line, e.column, e.line, e.column + 1, source.path)
    if ch == "'":
        quoted = re.match(r"'([^'\n]*)'", source.text[pos:])
        end = e.column + len(quoted.group(0)) if quoted else e.column + 1
        fix = f'write "{quoted.group(1)}"' if quoted else 'write "..."'
        return Diagnostic(
            "syntax-error",
            "strings are written in double quotes",
            Span(e.line, e.column, e.line, end, source.path),
            fix,
        )
    if ch == '"':
        return Diagnostic(
            "syntax-error", "unterminated string", span, 'close the string with " on the same line'
        )
    shown = f"'{ch}'" if ch not in ("", "\n") else repr(ch)
    return Diagnostic("syntax-error", f"unexpected character {shown}", span)


def _unexpected_token(e: UnexpectedToken, source: Source) -> Diagnostic:
    tok = e.token
    at_end = tok.type == "$END"
    span = _end_span(source) if at_end else _token_span(tok, source)
    offset = len(source.text) if at_end else (tok.start_pos or 0)
    unclosed = open_brackets(source.text, offset)
    prev = e.token_history[-1] if e.token_history else None
    if (
        prev is not None
        and prev.type == "ARROW"
        and (at_end or tok.type in _ENDS_CHAIN or (tok.line or 0) > (prev.line or 0))
    ):
        return Diagnostic(
            "syntax-error", "'->' must be followed by a step", _token_span(prev, source), _ARROW_FIX
        )
    dangling = _dangling_equal(tok, source) or _dangling_arrow(tok, source)
    if dangling is not None:
        return dangling
    if unclosed and (at_end or _closes_outer(tok, unclosed)):
        return _never_closed(unclosed[-1], source, None if at_end else tok)
    if (
        not at_end
        and tok.type in ("RPAR", "RSQB", "RBRACE")
        and not any(b == _PAIRS[str(tok)] for b, _ in unclosed)
    ):
        return Diagnostic(
            "syntax-error",
            f"unmatched '{tok}'",
            span,
            f"remove it, or add the '{_PAIRS[str(tok)]}' it closes",
        )
    if unclosed and _left_open(unclosed[-1], tok, source):
        return _never_closed(unclosed[-1], source, tok)
    want = _expected(set(e.expected or ()))
    message = f"unexpected {_describe_token(tok)}" + (f", expected {want}" if want else "")
    inside = bool(unclosed) and not _is_body(unclosed[-1], source)
    return Diagnostic(
        "syntax-error", message, span, _help(tok, set(e.expected or ()), prev, inside)
    )


def _dangling_equal(tok: Token, source: Source) -> Diagnostic | None:
    """`epochs =` with the value forgotten: the next line's `name = ...` was read as its value."""
    if tok.type != "EQUAL" or tok.line is None:
        return None
    line = _last_code_line(source, 1, tok.line)
    code = source.line(line).split("#")[0].rstrip()
    if line == tok.line or not code.endswith("=") or code.endswith(("==", "!=", "<=", ">=")):
        return None
    column = len(code)
    return Diagnostic(
        "syntax-error",
        "'=' at the end of the line has no value",
        Span(line, column, line, column + 1, source.path),
        "write the value on the same line as its '='",
    )


def _dangling_arrow(tok: Token, source: Source) -> Diagnostic | None:
    """`x -> Dense(64) ->` then `output h`: the keyword on the next line was read as a step."""
    text = source.line(tok.line or 0)
    words = text.split()
    starts_line = tok.column == len(text) - len(text.lstrip()) + 1
    if not words or words[0] not in _STATEMENT_WORDS or starts_line:
        return None
    line = _last_code_line(source, 1, tok.line or 0)
    code = source.line(line).split("#")[0].rstrip()
    if line == tok.line or not code.endswith("->"):
        return None
    span = Span(line, len(code) - 1, line, len(code) + 1, source.path)
    return Diagnostic("syntax-error", "'->' must be followed by a step", span, _ARROW_FIX)


def _token_span(tok: Token, source: Source) -> Span:
    return Span(tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0, source.path)


def _closes_outer(tok: Token, unclosed: list[tuple[str, int]]) -> bool:
    """A closer that matches an outer bracket while an inner one is still open: `f(x}`."""
    closer = str(tok)
    if tok.type not in ("RPAR", "RSQB", "RBRACE") or unclosed[-1][0] == _PAIRS[closer]:
        return False
    return any(b == _PAIRS[closer] for b, _ in unclosed)


def _left_open(bracket: tuple[str, int], tok: Token, source: Source) -> bool:
    """A bracket left open at the end of its line: the next line was read as part of it.

    True when the opener's line goes on after the bracket (so it was not opened to continue
    on the next lines) and the unexpected token starts the next non-blank line.
    """
    char, offset = bracket
    if char not in "([":
        return False
    line, _ = _position(source, offset)
    after = source.line(line)[_position(source, offset)[1] :].split("#")[0]
    if not after.strip() or tok.line is None or tok.line <= line:
        return False
    between = source.lines[line : tok.line - 1]
    first_on_line = not source.line(tok.line)[: (tok.column or 1) - 1].strip()
    return first_on_line and all(not t.strip() or t.strip().startswith("#") for t in between)


def _never_closed(bracket: tuple[str, int], source: Source, tok: Token | None = None) -> Diagnostic:
    char, offset = bracket
    line, _ = _position(source, offset)
    closer = _CLOSERS[char]
    if tok is None:
        where = "at the end" if source.path.startswith("--set") else "before the end of the file"
    elif tok.line == line:
        where = f"before the '{tok}'"
    elif str(tok) in _PAIRS:
        where = f"before the '{tok}' on line {tok.line}"
    else:
        where = f"at the end of line {_last_code_line(source, line, tok.line or line)}"
    return Diagnostic(
        "syntax-error",
        f"'{char}' is never closed",
        _point(source, offset),
        f"add '{closer}' {where}",
    )


def _last_code_line(source: Source, first: int, before: int) -> int:
    """The last line in [first, before) with code on it: where a forgotten closer belongs."""
    for n in range(before - 1, first - 1, -1):
        text = source.line(n).split("#")[0].strip()
        if text:
            return n
    return first


def _is_body(bracket: tuple[str, int], source: Source) -> bool:
    """Whether an open bracket is the `{` of a body rather than a call, list or dict."""
    char, offset = bracket
    line, column = _position(source, offset)
    return char == "{" and not _DICT_BEFORE.search(_code(source.line(line)[: column - 1]))


def _help(tok: Token, expected: set[str], prev: Token | None, inside: bool) -> str | None:
    """The likely fix; `inside` is true within brackets, where items are separated by ','."""
    if tok.type == "LPAR" and prev is not None and prev.type == "RPAR":
        return "apply a layer with '->', as in x -> Dense(4), not by calling it"
    if tok.type == "LPAR" and prev is not None and prev.type == "NAME" and prev.line == tok.line:
        return f"write a call without a space before '(': {prev}(...)"
    if (
        tok.type == "LBRACE"
        and prev is not None
        and prev.type == "NAME"
        and expected & {"LPAR", "CALL_LPAR"}
    ):
        return f"a block lists its parameters in parentheses, even none: block {prev}() {{"
    if tok.type == "_NL" and expected & {"NAME", "INT", "LPAR", "LSQB", "CALL_LPAR"}:
        return "the statement is incomplete: a value is missing at the end of the line"
    if tok.type == "ARROW" and prev is not None and prev.type == "ARROW":
        return "remove the repeated '->'"
    if inside and "COMMA" in expected and tok.type in ("NAME", "INT", "FLOAT", "STRING"):
        return "separate the items with ','"
    if "ARROW" in expected and tok.type in ("NAME", "INT") and prev is not None:
        return "separate steps of a chain with '->', or start a new statement on a new line"
    if tok.type == "EQUAL" and "COMP_OP" in expected:
        return "use '==' to compare"
    return None


# -- recovery -------------------------------------------------------------------------------
def _error_place(e: UnexpectedInput) -> tuple[int, int] | None:
    """(line, column) where Lark stopped, or None at the end of the file (nothing to resume)."""
    if isinstance(e, UnexpectedToken):
        if e.token.type == "$END":
            return None
        return e.token.line or 0, e.token.column or 0
    if isinstance(e, UnexpectedCharacters):
        return e.line, e.column
    return None


def _resume_line(source: Source, place: tuple[int, int], after: int) -> int | None:
    """The first line after the error that starts a top-level item (at column 1)."""
    line, column = place
    for n in range(max(line, after + 1), len(source.lines) + 1):
        if n == line and column != 1:
            continue
        if _ITEM_START.match(source.line(n)):
            return n
    return None


def _code_end(text: str) -> int:
    """Where a line's code ends: before its comment and the white space before that."""
    quoted, end = False, len(text)
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif ch == "#" and not quoted:
            end = i
            break
    return len(text[:end].rstrip())


def _code(text: str) -> str:
    """A line without its comment and surrounding white space."""
    return text[: _code_end(text)].strip()


def _balanced(code: str) -> bool:
    depth = 0
    for ch in re.sub(r'"([^"\\]|\\.)*"', '""', code):
        depth += (ch in "([") - (ch in ")]")
        if depth < 0:
            return False
    return depth == 0


def _lone_statement(source: Source, line: int) -> bool:
    """A line holding one whole statement, which can be dropped without breaking its neighbours:
    brackets balanced, no body braces, and neither it nor the line before continues onto the
    next line, nor does the next line continue it."""
    code = _code(source.line(line))
    if not code or "{" in code or "}" in code or not _balanced(code):
        return False
    if not all(_is_body(b, source) for b in open_brackets(source.text, _offset(source, line, 1))):
        return False  # the line is inside a call, list or dict that spans several lines
    before = _code(source.line(_last_code_line(source, 1, line))) if line > 1 else ""
    after = next(
        (c for n in range(line + 1, len(source.lines) + 1) if (c := _code(source.line(n)))), ""
    )
    return not (
        _CONTINUED.search(code)
        or (before and _CONTINUED.search(before))
        or after.startswith(("->", "else"))
    )


def _closed_at_line_end(source: Source, error: UnexpectedInput) -> tuple[Source, int] | None:
    """The source with a bracket left open at the end of its line closed there, and that line."""
    if not isinstance(error, UnexpectedToken) or error.token.type == "$END":
        return None
    unclosed = open_brackets(source.text, error.token.start_pos or 0)
    if not unclosed or not _left_open(unclosed[-1], error.token, source):
        return None
    char, offset = unclosed[-1]
    line = _last_code_line(source, _position(source, offset)[0], error.token.line or 0)
    lines = source.text.split("\n")
    end = _code_end(lines[line - 1])
    lines[line - 1] = lines[line - 1][:end] + _CLOSERS[char] + lines[line - 1][end:]
    return Source(source.path, "\n".join(lines)), line


def _without_line(source: Source, line: int) -> Source:
    lines = source.text.split("\n")
    lines[line - 1] = ""
    return Source(source.path, "\n".join(lines))


def syntax_diagnostics(
    first: UnexpectedInput, source: Source, parse: Callable[[str], object]
) -> list[Diagnostic]:
    """The first syntax error, then the next ones that are independent of it.

    After a bracket left open at the end of a line, the bracket is closed there; after an
    error on a line that holds one whole statement, that line is blanked; after any other
    error, parsing resumes at the next line that starts a model, block, section, import or use
    at column 1, the text before it blanked. Each keeps the positions of what follows, and the
    file is parsed again. An error that is not after the repaired place is an echo of the
    last one, and ends the search.
    """
    diags = [syntax_diagnostic(first, source)]
    current, error, start = source, first, 1
    while len(diags) < MAX_SYNTAX_ERRORS:
        line = diags[-1].span.line
        closed = _closed_at_line_end(current, error)
        if closed is not None:  # the fix the help gives: the missing bracket at the end of a line
            current, floor = closed
        elif _lone_statement(current, line):
            current, floor = _without_line(current, line), line
        else:
            place = _error_place(error)
            resume = _resume_line(current, place, start) if place is not None else None
            if resume is None:
                break
            text = "\n" * (resume - 1) + current.text[_offset(current, resume, 1) :]
            current, start, floor = Source(source.path, text), resume, resume - 1
        try:
            parse(current.text)
            break
        except UnexpectedInput as e:
            found = syntax_diagnostic(e, current)
            if found.span.line <= floor:
                break
            diags.append(found)
            error = e
    return diags
