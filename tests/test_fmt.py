"""kspec fmt: idempotent, meaning-preserving and comment-keeping, on every spec and random ones."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kspec.cli import main
from kspec.diagnostics import KspecError
from kspec.syntax import ir
from kspec.syntax.fmt import find_comments, format_text
from kspec.syntax.parse import parse
from kspec.syntax.printer import Printer
from tests.conftest import EXAMPLES, GOLDEN
from tests.test_printer import specs


def _parses(path: Path) -> bool:
    try:
        parse(path.read_text(), str(path))
    except KspecError:
        return False
    return True


CORPUS = sorted(EXAMPLES.glob("*.kspec")) + sorted(
    p for p in GOLDEN.glob("errors/*.kspec") if _parses(p)
)


def comments_of(text: str) -> Counter[str]:
    return Counter(c.text for c in find_comments(text.split("\n")))


def assert_good_format(text: str) -> str:
    out = format_text(text)
    assert parse(out) == parse(text)
    assert format_text(out) == out
    assert comments_of(out) == comments_of(text)
    return out


def test_corpus_is_not_empty() -> None:
    assert len(CORPUS) > len(list(EXAMPLES.glob("*.kspec")))  # golden specs that parse are in


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fmt_is_idempotent_and_keeps_meaning(path: Path) -> None:
    assert_good_format(path.read_text())


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.kspec")), ids=lambda p: p.stem)
def test_examples_are_already_formatted(path: Path) -> None:
    assert format_text(path.read_text()) == path.read_text()


MESSY = """\
# header

import "blocks.kspec"   # trailing
units=64  # units
block b(f,s=1){ # block header
  input x
  # lead y

  y=x->Conv2D(f,3) # conv
     # between
     ->ReLU()   # relu
  output y
  # end of block
}  # after block
model m {  # model header
    input a: (8, 8, 3)
    if units > 32 {  # if
        Dense(units)
    } else if units > 16 {  # elif
        Dense(16)
    } else {  # else
        Dense(8)  # eight
    }  # end if
    z = [1,
         2,   # two
    ]
    q = Adam(learning_rate = 1e-3, beta_1 = .9, epsilon=1_000,)
}
train {
    optimizer = Adam(
        learning_rate=1e-3,  # lr
        # inside
        beta_1=0.9,
    )
}
# the end
"""

EXPECTED = """\
# header

import "blocks.kspec"   # trailing
units = 64  # units

block b(f, s=1) {  # block header
    input x
    # lead y

    y = x -> Conv2D(f, 3)  # conv
          # between
          -> ReLU()  # relu
    output y
    # end of block
}  # after block

model m {  # model header
    input a: (8, 8, 3)
    if units > 32 {  # if
        Dense(units)
    } else if units > 16 {  # elif
        Dense(16)
    } else {  # else
        Dense(8)  # eight
    }  # end if
    z = [
        1,
        2,  # two
    ]
    q = Adam(learning_rate=1e-3, beta_1=.9, epsilon=1_000)
}

train {
    optimizer = Adam(
        learning_rate=1e-3,  # lr
        # inside
        beta_1=0.9,
    )
}
# the end
"""


def test_comments_breaks_and_spellings_are_kept() -> None:
    assert assert_good_format(MESSY) == EXPECTED


def test_comments_inside_a_collapsed_statement_follow_it() -> None:
    out = assert_good_format(
        "train {\n    loss = {a: mse,   # first\n            b: mae}  # second\n}\n"
    )
    assert out == "train {\n    # first\n    loss = {a: mse, b: mae}  # second\n}\n"


def test_empty_bodies_and_comment_only_files() -> None:
    assert assert_good_format("model m {  # nothing yet\n}\n") == "model m {  # nothing yet\n}\n"
    assert assert_good_format("model m {\n}  # nothing yet\n") == "model m {}  # nothing yet\n"
    assert assert_good_format("# only a comment\n") == "# only a comment\n"
    assert assert_good_format("") == ""
    assert assert_good_format("model m {\n    # later\n}\n") == "model m {\n    # later\n}\n"


def _decorate(text: str, data: st.DataObject) -> str:
    """Text with comments at line ends, comment lines and blank lines drawn in legal places."""
    out = []
    for n, line in enumerate(text.split("\n")[:-1]):
        choice = data.draw(
            st.sampled_from(["", "", "trailing", "above", "blank"]), label=f"line {n}"
        )
        if choice == "above":
            out.append(" " * data.draw(st.integers(0, 8)) + f"# above {n}")
        elif choice == "blank":
            out.append("")
        out.append(line + (f"  # after {n}" if choice == "trailing" else ""))
    return "\n".join(out) + "\n"


@given(specs, st.integers(min_value=30, max_value=120), st.data())
def test_fmt_property(spec: ir.Spec, width: int, data: st.DataObject) -> None:
    text = _decorate(Printer(width).spec(spec), data)  # a narrow printer leaves chains broken
    assert parse(text) == spec
    assert_good_format(text)


def test_cli_check_shows_a_diff_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.kspec"
    path.write_text("model m {\n  input x: (4,)\n  Dense(2)   # out\n}\n")
    assert main(["fmt", "--check", str(path)]) == 1
    out = capsys.readouterr()
    assert f"+++ {path} (formatted)" in out.out
    assert "-  Dense(2)   # out" in out.out and "+    Dense(2)   # out" not in out.out
    assert "+    Dense(2)  # out" in out.out
    assert "1 file would be reformatted" in out.err
    assert path.read_text().startswith("model m {\n  input")  # untouched


def test_cli_rewrites_in_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.kspec"
    path.write_text("model m {\n  input x: (4,)\n  Dense(2)\n}\n")
    path.chmod(0o640)
    assert main(["fmt", str(path)]) == 0
    assert path.read_text() == "model m {\n    input x: (4,)\n    Dense(2)\n}\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["m.kspec"]  # no temporary file left behind
    assert main(["fmt", "--check", str(path)]) == 0
    assert "reformatted" in capsys.readouterr().err


def test_cli_reports_syntax_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.kspec"
    bad.write_text("model m { Dense( }\n")
    assert main(["fmt", str(bad)]) == 1
    assert f"{bad}:1:16: error:" in capsys.readouterr().err
    assert bad.read_text() == "model m { Dense( }\n"


def test_a_formatted_file_is_parsed_once_and_a_changed_one_is_verified(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Verifying the output is a second parse: needed only when fmt changes something."""
    import kspec.syntax.fmt as fmt

    calls = {"n": 0}

    def counting(text: str, path: str = "<string>") -> ir.Spec:
        calls["n"] += 1
        return parse(text, path)

    monkeypatch.setattr(fmt, "parse", counting)
    formatted = "a = (1, 2, 3)\n\nmodel m {\n    input x: (4,)\n    Dense(2)\n}\n"
    assert format_text(formatted) == formatted and calls["n"] == 1
    assert format_text(formatted.replace("    Dense", "  Dense")) == formatted
    assert calls["n"] == 3
