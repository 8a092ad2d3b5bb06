"""The VS Code extension in editors/vscode/: its manifest points at files that exist, and its
TextMate grammar, run by vscode-textmate with Oniguruma as VS Code runs it, tokenizes every
example and golden spec with no unmatched text, and marks text invalid only where the golden
error says the spec is wrong.

The tokenizer test needs node and `npm install` in editors/vscode (CI does both); without them
it is skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VSCODE = ROOT / "editors" / "vscode"
SPECS = sorted([*ROOT.glob("examples/*.kspec"), *ROOT.glob("tests/golden/**/*.kspec")])


def test_manifest_points_at_real_files() -> None:
    manifest = json.loads((VSCODE / "package.json").read_text())
    (language,) = manifest["contributes"]["languages"]
    assert language["extensions"] == [".kspec"]
    config = json.loads((VSCODE / language["configuration"]).read_text())
    assert config["comments"]["lineComment"] == "#"
    (grammar,) = manifest["contributes"]["grammars"]
    assert json.loads((VSCODE / grammar["path"]).read_text())["scopeName"] == grammar["scopeName"]
    assert (VSCODE / manifest["main"]).is_file()
    assert "kspec.lsp" in (VSCODE / manifest["main"]).read_text()  # the client starts kspec lsp


@pytest.mark.skipif(
    shutil.which("node") is None or not (VSCODE / "node_modules" / "vscode-textmate").is_dir(),
    reason="needs node and `npm install` in editors/vscode",
)
def test_grammar_tokenizes_every_spec() -> None:
    run = subprocess.run(
        ["node", "test/tokenize.js", *map(str, SPECS)],
        cwd=VSCODE,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    reports = json.loads(run.stdout)
    assert len(reports) == len(SPECS)
    for file, report in reports.items():
        assert report["tokens"] > 0 and report["unmatched"] == [], file
        golden = Path(file).with_suffix(".txt")
        errors = golden.read_text() if golden.is_file() else ""
        for token in report["invalid"]:  # "LINE: text"
            line = token.split(":")[0]
            assert f"{Path(file).name}:{line}:" in errors, (file, token)
    invalid = {Path(f).stem for f, r in reports.items() if r["invalid"]}
    assert invalid == {"syntax_bad_escape", "syntax_single_quoted_string"}
    scopes = reports[str(ROOT / "examples" / "mnist.kspec")]["scopes"]
    assert scopes["model"].startswith("keyword") and scopes["data"].startswith("keyword")
    assert scopes["Conv2D"] == "support.class.kspec" and scopes["mnist"] == "entity.name.type.kspec"
    assert scopes["1e-3"].startswith("constant.numeric")
    resnet = reports[str(ROOT / "examples" / "resnet_tiny.kspec")]["scopes"]
    assert (
        resnet["->"] == "keyword.operator.chain.kspec" and resnet["for"] == "keyword.control.kspec"
    )
    assert scopes["128"] == "constant.numeric.integer.kspec"
