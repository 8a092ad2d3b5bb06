"""Data sources, fitting data to a model, tf.data pipelines, run-folder files and curves.png."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT, SHARED_MNIST

from kspec.check.spec import check_file, check_text
from kspec.diagnostics import KspecError
from kspec.run import files, rundir, sources
from kspec.run.data import Data, fits, load_data, pipeline, signature_of_graph

needs_mnist = pytest.mark.skipif(
    not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists(),
    reason=f"the shared MNIST test set is not at {SHARED_MNIST}",
)
IMAGE_MODEL = """model m {
    input image: (8, 8, 1)
    Flatten()
    Dense(10, activation=softmax)
}
"""
TRAIN_SECTION = """train {
    loss = sparse_categorical_crossentropy
}
"""


def spec_file(
    tmp_path: Path, data: str, model: str = IMAGE_MODEL, train: str = TRAIN_SECTION
) -> Path:
    path = tmp_path / "s.kspec"
    path.write_text(f"{model}\ndata {{\n{data}\n}}\n\n{train}")
    return path


def load(path: Path, overrides: list[str] | None = None) -> Data:
    checked = check_file(path, overrides)
    signature = signature_of_graph(checked.model(), checked.train)
    return load_data(checked.data, checked.sources, signature, spec_path=checked.path,
                     workdir=path.parent)  # fmt: skip


def error_text(path: Path, overrides: list[str] | None = None) -> str:
    with pytest.raises(KspecError) as info:
        load(path, overrides)
    return info.value.render()


# -- IDX -------------------------------------------------------------------------------------
@needs_mnist
def test_idx_reads_the_gzipped_mnist_files_as_keras_does() -> None:
    images = files.read_idx(SHARED_MNIST / "t10k-images-idx3-ubyte.gz")
    labels = files.read_idx(SHARED_MNIST / "t10k-labels-idx1-ubyte.gz")
    # Keras's fashion_mnist loader: skip the 16/8-byte headers, reshape by hand.
    raw_images = gzip.decompress((SHARED_MNIST / "t10k-images-idx3-ubyte.gz").read_bytes())
    raw_labels = gzip.decompress((SHARED_MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes())
    expected_y = np.frombuffer(raw_labels, np.uint8, offset=8)
    expected_x = np.frombuffer(raw_images, np.uint8, offset=16).reshape(len(expected_y), 28, 28)
    assert images.dtype == np.uint8 and labels.dtype == np.uint8
    np.testing.assert_array_equal(images, expected_x)
    np.testing.assert_array_equal(labels, expected_y)


@needs_mnist
def test_idx_folder_splits_like_keras_validation_split(tmp_path: Path) -> None:
    # Raw (not gzipped) copies must read the same.
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(gzip.decompress((SHARED_MNIST / f"{name}.gz").read_bytes()))
    model = IMAGE_MODEL.replace("(8, 8, 1)", "(28, 28, 1)")
    data = load(spec_file(tmp_path, f'source = idx("{tmp_path}")\nvalidation_split = 0.2', model))
    assert data.validation is not None
    assert (data.train.count, data.validation.count) == (8000, 2000)
    full = files.read_idx(SHARED_MNIST / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(data.validation.x["image"], full[8000:])  # the last 2,000


def test_idx_types_and_dimensions(tmp_path: Path) -> None:
    values = (np.arange(24) - 5).astype(">i4").reshape(2, 3, 4)
    header = bytes([0, 0, 0x0C, 3]) + b"".join(d.to_bytes(4, "big") for d in values.shape)
    (tmp_path / "x.idx").write_bytes(gzip.compress(header + values.tobytes()))
    got = files.read_idx(tmp_path / "x.idx")
    np.testing.assert_array_equal(got, values)
    assert got.dtype == np.int32 and got.dtype.isnative


def test_missing_idx_directory_names_the_source_line(tmp_path: Path) -> None:
    path = spec_file(tmp_path, 'source = idx("nowhere")')
    folder = tmp_path / "nowhere"
    assert error_text(path) == (
        f"{path}:8:10: error: idx(): no such directory: {folder}\n"
        '    8 | source = idx("nowhere")\n'
        "      |          ^^^^^^^^^^^^^^\n"
        "      = help: point it at the folder holding *-images-idx3-ubyte[.gz] and "
        "*-labels-idx1-ubyte[.gz]"
    )


def test_missing_idx_file(tmp_path: Path) -> None:
    path = spec_file(tmp_path, 'source = idx(".", images="a.gz", labels="b.gz")')
    assert error_text(path) == (
        f"{path}:8:10: error: idx(): no such file: {tmp_path / 'a.gz'}\n"
        '    8 | source = idx(".", images="a.gz", labels="b.gz")\n'
        "      |          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"
    )


def test_paths_on_the_command_line_are_relative_to_the_working_directory(tmp_path: Path) -> None:
    path = spec_file(tmp_path, "source = digits")
    checked = check_file(path, ['data.source=idx("elsewhere")'])
    signature = signature_of_graph(checked.model(), checked.train)
    with pytest.raises(KspecError) as info:
        load_data(checked.data, checked.sources, signature, spec_path=checked.path,
                  workdir=tmp_path / "cwd")  # fmt: skip
    assert info.value.render().startswith(
        f"--set:1:13: error: idx(): no such directory: {tmp_path / 'cwd' / 'elsewhere'}\n"
        '    1 | data.source=idx("elsewhere")\n'
    )


# -- Keras datasets offline ----------------------------------------------------------------
def test_offline_keras_dataset_fails_before_tensorflow_loads(tmp_path: Path) -> None:
    """No cached copy, no network: a clear error naming the file, without importing TensorFlow."""
    script = (
        "import sys\nfrom kspec.cli import main\n"
        f"code = main(['run', {str(EXAMPLES / 'mnist.kspec')!r}, '-q'])\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\nsys.exit(code)\n"
    )
    env = {**os.environ, "KERAS_HOME": str(tmp_path), "KSPEC_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    spec = EXAMPLES / "mnist.kspec"
    line = next(i for i, t in enumerate(spec.read_text().splitlines(), 1) if "source = mnist" in t)
    text = spec.read_text().splitlines()[line - 1]
    column = text.index("mnist") + 1
    expected = (
        f"{spec}:{line}:{column}: error: mnist is not in Keras's cache and cannot be downloaded "
        "(KSPEC_OFFLINE is set)\n"
        f"{line:>5} | {text}\n"
        f"      | {' ' * (column - 1)}^^^^^\n"
        f"      = help: Keras expects {tmp_path / 'datasets' / 'mnist.npz'} (from "
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz); put the file "
        'there, or train on local files: source = idx("path/to/dir")\n'
    )
    assert (done.returncode, done.stderr) == (1, expected)
    assert not list(tmp_path.glob("runs")), "no run folder for a run that never started"


def test_reachable_never_hangs_on_an_unknown_host() -> None:
    assert sources.reachable("https://no-such-host.invalid/mnist.npz") is not None


def test_a_cached_keras_file_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert not sources.cached("mnist")
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"")
    assert sources.cached("mnist")


# -- csv, npz, digits, synthetic ---------------------------------------------------------
def test_csv_with_a_wrong_label_column(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b,species\n1,2,x\n3,4,y\n")
    source = 'csv("t.csv", label="class")'
    path = spec_file(tmp_path, f"source = {source}")
    assert error_text(path) == (
        f"{path}:8:10: error: csv(): t.csv has no column 'class'\n"
        '    8 | source = csv("t.csv", label="class")\n'
        f"      |          {'^' * len(source)}\n"
        "      = help: columns: a, b, species"
    )


def test_csv_class_names_become_indices(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b,species\n1,2,versicolor\n3,4,setosa\n5,6,versicolor\n")
    model = "model m {\n    input x: (2,)\n    Dense(2, activation=softmax)\n}\n"
    data = load(spec_file(tmp_path, 'source = csv("t.csv", label="species")', model))
    np.testing.assert_array_equal(data.train.x["x"], [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(data.train.y["dense"], [1, 0, 1])


def test_examples_that_do_not_fit_the_input(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 5, 5)), y=np.zeros(4, int))
    path = spec_file(tmp_path, 'source = npz("d.npz")')
    assert error_text(path) == (
        f"{path}:8:10: error: input 'image' has shape (None, 8, 8, 1) but the data's examples "
        "have shape (None, 5, 5)\n"
        '    8 | source = npz("d.npz")\n'
        "      |          ^^^^^^^^^^^^\n"
        "      = help: declare `input image: (5, 5)`, or use data that fits the model"
    )


def test_npz_names_its_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", images=np.zeros((4, 8, 8)), labels=np.zeros(4, int))
    path = spec_file(tmp_path, 'source = npz("d.npz", x="pixels", y="labels")')
    assert "npz(): d.npz has no array 'pixels'" in error_text(path)
    assert "= help: x= names one of: images, labels" in error_text(path)


def test_labels_beyond_the_output_units(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 8, 8)), y=np.array([0, 4, 12]))
    text = error_text(spec_file(tmp_path, 'source = npz("d.npz")'))
    assert "labels run up to 12 but output 'dense' has 10 units (one per class)" in text


def test_reshape_only_when_element_counts_match() -> None:
    assert fits((28, 28, 1), (28, 28)) == "reshape"
    assert fits((28, 28, 1), (28, 28, 1)) == "same"
    assert fits((None, 3), (17, 3)) == "same"
    assert fits((32, 32, 3), (28, 28)) is None


def test_digits(tmp_path: Path) -> None:
    data = load(spec_file(tmp_path, "source = digits\nvalidation_split = 0.2"))
    assert (data.train.count, data.validation.count if data.validation else 0) == (1437, 360)
    assert data.train.x["image"].shape == (1437, 8, 8) and data.train.x["image"].max() == 16


def test_digits_without_scikit_learn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import now raises ImportError
    text = error_text(spec_file(tmp_path, "source = digits"))
    assert "error: the digits source needs scikit-learn, which is not installed" in text
    assert "= help: pip install scikit-learn" in text


def test_synthetic_data_is_shaped_by_the_model_and_seeded() -> None:
    checked, _ = check_text((EXAMPLES / "two_inputs.kspec").read_text(), "two_inputs.kspec")
    assert checked is not None
    signature = signature_of_graph(checked.model(), checked.train)
    a, b = (load_data(checked.data, checked.sources, signature, spec_path=checked.path,
                      workdir=ROOT) for _ in range(2))  # fmt: skip
    assert a.train.x["photo"].shape == (512, 64, 64, 3) and a.train.x["meta"].shape == (512, 12)
    assert a.train.y["category"].dtype == np.int32 and a.train.y["category"].max() < 5
    assert a.train.y["price"].dtype == np.float32 and a.train.y["price"].shape == (512, 1)
    np.testing.assert_array_equal(a.train.x["photo"], b.train.x["photo"])


def test_synthetic_ids_stay_below_the_embedding_vocabulary(tmp_path: Path) -> None:
    model = ("model m {\n    input tokens: (20,) as int32\n    Embedding(50, 4)\n    Flatten()\n"
             "    Dense(1, activation=sigmoid)\n}\n")  # fmt: skip
    train = "train {\n    loss = binary_crossentropy\n}\n"
    data = load(spec_file(tmp_path, "source = synthetic(samples=300)", model, train))
    tokens = data.train.x["tokens"]
    assert tokens.dtype == np.int32 and tokens.max() < 50 and tokens.max() > 40
    assert set(np.unique(data.train.y["dense"])) == {0.0, 1.0}


# -- pipelines ------------------------------------------------------------------------------
def test_pipeline_prepares_arrays_for_fit(tmp_path: Path) -> None:
    """Array sources reach fit as NumPy arrays, cast, scaled and shaped once; Keras batches."""
    data = load(spec_file(tmp_path, "source = digits\nscale = 1 / 16\nvalidation_split = 0.2"))
    assert data.validation is not None and data.validation.count == 360  # as fit's split: floor
    feed = pipeline(data.validation, data.signature, data.options, 100, training=False)
    assert feed.batch_size == 100 and feed.shuffle is False
    assert feed.x.shape == (360, 8, 8, 1) and feed.x.dtype == np.float32
    assert feed.y.dtype == np.int32
    expected = data.validation.x["image"][:, :, :, None].astype(np.float32) * (1 / 16)
    np.testing.assert_array_equal(feed.x, expected)
    assert pipeline(data.train, data.signature, data.options, 100, training=True).shuffle


@pytest.mark.keras
def test_augmented_pipeline_shuffles_alike_for_one_seed_and_feeds_by_name() -> None:
    checked, _ = check_text((EXAMPLES / "two_inputs.kspec").read_text(), "two_inputs.kspec")
    assert checked is not None
    signature = signature_of_graph(checked.model(), checked.train)
    data = load_data(checked.data, checked.sources, signature, spec_path="two_inputs.kspec",
                     workdir=ROOT)  # fmt: skip

    def same(x: Any, training: bool = True) -> Any:
        return x

    def first(seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        feed = pipeline(
            data.train, signature, data.options, 32, training=True, seed=seed, augment=same
        )
        return next(iter(feed.x.as_numpy_iterator()))  # type: ignore[no-any-return]

    (x1, y1), (x2, _), (x3, _) = first(1), first(1), first(2)
    assert set(x1) == {"photo", "meta"} and set(y1) == {"price", "category"}
    np.testing.assert_array_equal(x1["meta"], x2["meta"])
    assert not np.array_equal(x1["meta"], x3["meta"])


# -- run folder and curves.png --------------------------------------------------------------
def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    rundir.write_json(target, {"loss": 1.0})

    def crash(tmp: Path) -> None:
        tmp.write_text('{"loss": 0.')  # half written ...
        raise OSError("disk full")  # ... and then the writer fails

    with pytest.raises(KspecError, match="disk full"):  # a diagnostic, not an internal error
        rundir.atomic_save(target, crash)
    assert json.loads(target.read_text()) == {"loss": 1.0}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_history_files_round_trip(tmp_path: Path) -> None:
    records = [{"loss": 1.5, "val_loss": 2.0}, {"loss": 0.5, "val_loss": float("nan")}]
    rundir.write_history(tmp_path, records)
    assert (tmp_path / "history.csv").read_text() == "epoch,loss,val_loss\n1,1.5,2.0\n2,0.5,nan\n"
    assert json.loads((tmp_path / "history.json").read_text())["val_loss"] == [2.0, None]
    assert rundir.read_history(tmp_path)[0] == {"loss": 1.5, "val_loss": 2.0}


def values(section: dict[str, Any]) -> dict[str, Any]:
    return {name: setting.value for name, setting in section.items()}


def test_resolved_spec_applies_overrides_and_checks_the_same(tmp_path: Path) -> None:
    text = (EXAMPLES / "text_bilstm.kspec").read_text()
    overrides = ["vocab=500", "train.epochs=1", "data.shuffle=false"]
    checked, _ = check_text(text, "text_bilstm.kspec", overrides)
    assert checked is not None
    resolved = rundir.resolved_spec(checked, overrides)
    again, _ = check_text(resolved, "resolved.kspec")
    assert again is not None
    assert again.constants["vocab"] == 500 and again.train["epochs"].value == 1
    assert again.data["shuffle"].value is False
    assert values(again.train) == values(checked.train)


def test_npz_arrays_feed_inputs_by_name_or_in_the_order_data_inputs_gives(tmp_path: Path) -> None:
    model = (EXAMPLES / "two_inputs.kspec").read_text().split("data {")[0]
    train = "train {\n    loss = {price: mse, category: sparse_categorical_crossentropy}\n}\n"
    meta, photo = np.ones((6, 12)), np.zeros((6, 64, 64, 3))
    price, category = np.zeros((6, 1)), np.arange(6) % 5
    np.savez(tmp_path / "d.npz", m=meta, p=photo, price=price, cat=category)
    by_name = (
        'source = npz("d.npz", x={photo: "p", meta: "m"}, y={price: "price", category: "cat"})'
    )
    in_order = 'source = npz("d.npz", x=["m", "p"], y=["price", "cat"])\ninputs = [meta, photo]'
    for data in (by_name, in_order):
        got = load(spec_file(tmp_path, data, model, train))
        np.testing.assert_array_equal(got.train.x["meta"], meta)
        np.testing.assert_array_equal(got.train.x["photo"], photo)
        np.testing.assert_array_equal(got.train.y["category"], category)
    missing = 'source = npz("d.npz", x={photo: "p"}, y={price: "price", category: "cat"})'
    assert "the source does not feed the model's input meta" in error_text(
        spec_file(tmp_path, missing, model, train)
    )


def test_every_keras_dataset_has_its_cache_files_and_nothing_else() -> None:
    from kspec.catalog.datasets import KERAS_DATASETS, LOADERS

    assert set(sources.KERAS_FILES) == set(KERAS_DATASETS)
    assert set(sources.loaders()) == set(LOADERS)  # every loader the checker knows can run
