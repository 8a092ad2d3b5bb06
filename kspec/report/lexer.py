"""A Pygments lexer for .kspec, registered as `kspec` (entry point `pygments.lexers`), so that
`pygmentize -l kspec`, Sphinx and MkDocs highlight specs.

Layer names come from the catalog (and Keras's other layer names), so highlighting follows the
catalog as it grows. Tokens follow the grammar (grammars/kspec.lark): any text outside it is
still lexed, as plain text, never as an error token, so a half-written spec highlights too.
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
)

from kspec.catalog import ALIASES, CATALOG
from kspec.catalog import names as kn

KEYWORDS = (
    *("model", "block", "input", "output", "layer", "for", "in", "if", "else", "import"),
    *("use", "as", "and", "or", "not"),
)
CONSTANTS = ("true", "false", "none")
LAYERS = tuple(sorted({*CATALOG, *ALIASES, *kn.KERAS_LAYERS}, key=lambda n: (-len(n), n)))
BUILTINS = ("range", "len", "min", "max", "int", "float")


class KspecLexer(RegexLexer):  # type: ignore[misc]  # pygments ships no types
    """Keywords, layer names, strings, numbers, comments and operators of the kspec language."""

    name = "kspec"
    aliases: ClassVar[list[str]] = ["kspec"]
    filenames: ClassVar[list[str]] = ["*.kspec"]
    mimetypes: ClassVar[list[str]] = ["text/x-kspec"]

    tokens: ClassVar[dict[str, list[tuple[object, ...]]]] = {
        "root": [
            (r"[ \t\f\r\n]+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"([^"\\\n]|\\.)*"', String.Double),
            (r'"[^\n]*', String.Double),  # an unclosed string, while typing
            (r"(data|train)(?=\s*\{)", Keyword.Namespace),
            (r"phase\b", Keyword),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(LAYERS, prefix=r"\b", suffix=r"\b(?=\()"), Name.Class),
            (words(BUILTINS, prefix=r"\b", suffix=r"\b(?=\()"), Name.Builtin),
            (r"[A-Za-z_][A-Za-z0-9_]*(?=\()", Name.Function),
            (r"[A-Za-z_][A-Za-z0-9_]*", Name),
            (r"([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+", Number.Float),
            (r"[0-9]+(_[0-9]+)*", Number.Integer),
            (r"->", Operator),
            (r"\*\*|//|==|!=|<=|>=|[-+*/%<>=]", Operator),
            (r"[()\[\]{},:.]", Punctuation),
            (r".", Text),
        ]
    }
