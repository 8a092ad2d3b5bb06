"""`kspec evaluate` and `kspec predict`: the run's data preparation, the test split, formats."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from kspec.cli import main

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare .keras model: 3 softmax classes from 4 features."""
    import keras

    path = tmp_path_factory.mktemp("model") / "m.keras"
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.save(path)
    return path


def scores(model: Path, x: np.ndarray) -> np.ndarray:
    import keras

    return np.asarray(keras.models.load_model(model).predict(x, verbose=0))


@pytest.fixture
def x(tmp_path: Path) -> Path:
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((6, 4)).astype("f4"))
    return tmp_path / "x.npy"


def predict(model: Path, x: Path, out: Path, *extra: str) -> None:
    assert main(["predict", str(model), str(x), "-o", str(out), *extra]) == 0


def test_the_format_follows_the_extension(classifier: Path, x: Path, tmp_path: Path) -> None:
    expected = scores(classifier, np.load(x))
    predict(classifier, x, tmp_path / "p.npy")
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, rtol=1e-6)
    predict(classifier, x, tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as z:
        (name,) = z.files
        np.testing.assert_allclose(z[name], expected, rtol=1e-6)
    predict(classifier, x, tmp_path / "p.csv")
    rows = list(csv.reader((tmp_path / "p.csv").read_text().splitlines()))
    assert rows[0] == [f"{name}_0", f"{name}_1", f"{name}_2"]
    np.testing.assert_allclose(np.array(rows[1:], float), expected, rtol=1e-6)
    predict(classifier, x, tmp_path / "p.json")
    body = json.loads((tmp_path / "p.json").read_text())
    np.testing.assert_allclose(np.array(body[name]), expected, rtol=1e-6)


def test_classes_are_the_index_and_probability(classifier: Path, x: Path, tmp_path: Path) -> None:
    expected = scores(classifier, np.load(x))
    predict(classifier, x, tmp_path / "c.csv", "--classes")
    rows = list(csv.reader((tmp_path / "c.csv").read_text().splitlines()))
    assert rows[0] == ["class", "probability"]
    assert [int(r[0]) for r in rows[1:]] == list(expected.argmax(axis=1))
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], expected.max(axis=1), rtol=1e-6)
    predict(classifier, x, tmp_path / "c.json", "--classes")
    (records,) = json.loads((tmp_path / "c.json").read_text()).values()
    assert [r["class"] for r in records] == list(expected.argmax(axis=1))


def test_an_unknown_extension_is_an_error_before_loading(
    classifier: Path, x: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["predict", str(classifier), str(x), "-o", str(tmp_path / "p.txt")]) == 1
    assert "end the output file's name with one of .npy, .npz, .csv, .json" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "p.txt").exists()


def test_predict_says_what_it_applied(
    classifier: Path, x: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    predict(classifier, x, tmp_path / "p.npy")
    assert "inputs scaled by nothing (a bare model file has no data section" in (
        capsys.readouterr().err
    )
    predict(classifier, x, tmp_path / "s.npy", "--scale", "1/255")
    assert "inputs scaled by 1/255 (--scale)" in capsys.readouterr().err
    np.testing.assert_allclose(
        np.load(tmp_path / "s.npy"), scores(classifier, np.load(x) / 255), rtol=1e-5
    )


def _idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = np.array([0, 0, 8, magic], np.uint8).tobytes() + np.array(array.shape, ">i4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())


SPEC = """model m {
    input image: (28, 28)
    Flatten()
    Dense(10, activation=softmax)
}
data {
    source = idx("mnist")
    scale = 1 / 255
    validation_split = 0.25
}
train {
    loss = sparse_categorical_crossentropy
    metrics = [accuracy]
    epochs = 1
}
"""


@pytest.mark.slow
def test_evaluate_uses_the_test_split_and_the_runs_scale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    for prefix, n in (("train", 128), ("t10k", 40)):
        _idx(
            tmp_path / "mnist" / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), 3
        )
        _idx(tmp_path / "mnist" / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n), 1)
    (tmp_path / "m.kspec").write_text(SPEC)
    run_dir = tmp_path / "run"
    assert main(["run", str(tmp_path / "m.kspec"), "-v", "0", "-o", str(run_dir)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("the source's own test split, 40 examples\n")
    assert "inputs scaled by 1/255 (the run's data section)" in out
    assert main(["evaluate", str(run_dir), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["data"], report["examples"], report["prepared"]["scale"]) == (
        "test",
        40,
        "1/255",
    )

    # a bare model on a source: nothing applied unless --scale says so, and it says which
    model, source = str(run_dir / "model.keras"), f'idx("{tmp_path / "mnist"}")'
    assert main(["evaluate", model, "--data", source, "--format", "json"]) == 0
    bare = json.loads(capsys.readouterr().out)
    assert bare["prepared"]["scale"] is None and "bare model" in bare["prepared"]["from"]
    assert main(["evaluate", model, "--data", source, "--scale", "1/255", "--format", "json"]) == 0
    scaled = json.loads(capsys.readouterr().out)
    assert scaled["loss"] == pytest.approx(report["loss"], rel=1e-5)
