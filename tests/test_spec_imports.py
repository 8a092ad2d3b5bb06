"""Where `import` lines read files: `kspec.loads` reads none unless given a base folder or a
resolver; files are read only when regular and within kspec.limits.MAX_SPEC_BYTES; a file that
is not a spec is one diagnostic at the import line that shows none of its text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import kspec
from kspec import limits
from kspec.cli import main
from kspec.diagnostics import KspecError

MODEL = "model m {\n    input x: (3,)\n    Dense(units)\n}\n"
SECRET = "root:x:0:0:root:/root:/bin/bash\nsecret-token: hunter2\n"


def codes(spec: kspec.Spec) -> list[str]:
    return [d.code for d in spec.check()]


def test_loads_reads_no_file_without_a_base_or_resolver(tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text(SECRET)
    spec = kspec.loads(f'import "{secret}"\n' + MODEL.replace("units", "2"))
    (d,) = spec.check()
    assert d.code == "import-not-allowed" and (d.span.line, d.span.column) == (1, 1)
    with pytest.raises(KspecError) as info:
        spec.checked  # noqa: B018
    assert "hunter2" not in str(info.value) and "root:x" not in str(info.value)


def test_loads_with_a_base_folder_or_a_resolver(tmp_path: Path) -> None:
    (tmp_path / "sizes.kspec").write_text("units = 5\n")
    text = 'import "sizes.kspec"\n' + MODEL
    assert kspec.loads(text, base=tmp_path).graph().outputs[0].shape == (5,)
    texts = {"sizes.kspec": "units = 7\n"}
    spec = kspec.loads(text, resolver=texts.__getitem__)
    assert spec.graph().outputs[0].shape == (7,)
    assert codes(kspec.loads(text, resolver={}.__getitem__))[0] == "import-missing"
    with pytest.raises(ValueError, match="not both"):
        kspec.loads(text, base=tmp_path, resolver=texts.__getitem__)


def test_a_resolver_sees_paths_relative_to_the_root_text() -> None:
    texts = {"lib/a.kspec": 'import "b.kspec"\n', "lib/b.kspec": "units = 3\n"}
    asked: list[str] = []

    def resolver(path: str) -> str:
        asked.append(path)
        return texts[path]

    spec = kspec.loads('import "lib/a.kspec"\n' + MODEL, resolver=resolver)
    assert spec.check() == [] and asked == ["lib/a.kspec", "lib/b.kspec"]


def test_an_import_is_read_only_from_a_regular_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.kspec")
    (tmp_path / "folder").mkdir()
    main_file = tmp_path / "main.kspec"
    main_file.write_text(
        'import "fifo.kspec"\nimport "/dev/zero"\nimport "folder"\nimport "a\\x00b"\n'
        + MODEL.replace("units", "2")
    )
    diags = kspec.load(main_file).check()  # returns at once: the FIFO is never waited on
    assert [(d.code, d.span.line) for d in diags] == [("import-refused", n) for n in (1, 2, 3, 4)]
    assert "is a FIFO" in diags[0].message and "is a device" in diags[1].message
    assert "is a folder" in diags[2].message and "NUL byte" in diags[3].message
    assert "\x00" not in diags[3].message


def test_an_import_over_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "big.kspec").write_text("units = 1\n" + "# padding\n" * 40)
    (tmp_path / "main.kspec").write_text('import "big.kspec"\n' + MODEL)
    assert kspec.load(tmp_path / "main.kspec").check() == []
    monkeypatch.setattr(limits, "MAX_SPEC_BYTES", 200)  # main.kspec is smaller
    d = kspec.load(tmp_path / "main.kspec").check()[0]  # then `units` is undefined
    assert d.code == "import-refused" and "larger than 200 bytes" in d.message


def test_a_file_that_is_not_a_spec_is_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "passwd").write_text(SECRET)
    (tmp_path / "main.kspec").write_text('import "passwd"\n' + MODEL.replace("units", "2"))
    assert main(["check", str(tmp_path / "main.kspec")]) == 1
    err = capsys.readouterr().err
    assert "cannot import 'passwd': it is not a spec (line 1, column 5" in err
    assert "hunter2" not in err and "root:x" not in err
    assert err.count("error:") == 1


def test_a_use_line_in_text_imports_no_new_package() -> None:
    text = 'use "kspec_never_imported:Scale"\n' + MODEL.replace("units", "2")
    spec = kspec.loads(text)
    assert spec.check() == []  # checking never imports anything
    with pytest.raises(KspecError, match="imports no new package") as info:
        spec._allow_uses()  # the check build() and fit() make before importing anything
    assert info.value.diagnostics[0].code == "use-import"
    kspec.loads(text, base=".")._allow_uses()  # a base folder: the caller trusts the disk
