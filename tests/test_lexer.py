"""The Pygments lexer: found by name through its entry point, no error token on any example or
golden spec, and each kind of token (keyword, layer, string, number, comment, operator) distinct.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, String

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted([*ROOT.glob("examples/*.kspec"), *ROOT.glob("tests/golden/**/*.kspec")])


def test_registered_under_its_name() -> None:
    assert type(get_lexer_by_name("kspec")).__name__ == "KspecLexer"
    assert type(get_lexer_for_filename("model.kspec")).__name__ == "KspecLexer"


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_error_tokens(path: Path) -> None:
    text = path.read_text()
    tokens = list(get_lexer_by_name("kspec").get_tokens(text))
    assert [v for t, v in tokens if t in Error] == []
    assert "".join(v for _, v in tokens) == text if text.endswith("\n") else text + "\n"


def test_token_kinds() -> None:
    text = 'model m {  # c\n    input x: (28, 1.5e-3)\n    x -> Conv2D(8, 3) -> head(name="h")\n}\n'
    kinds = {v: t for t, v in get_lexer_by_name("kspec").get_tokens(text) if v.strip()}
    assert kinds["model"] in Keyword and kinds["input"] in Keyword
    assert kinds["Conv2D"] in Name.Class  # a catalog layer
    assert kinds["head"] in Name.Function and kinds["head"] not in Name.Class  # any other call
    assert kinds['"h"'] in String and kinds["28"] in Number.Integer
    assert kinds["1.5e-3"] in Number.Float
    assert kinds["# c"] in Comment and kinds["->"] in Operator
