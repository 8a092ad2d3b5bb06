"""`kspec codegen`: generated scripts build the model the Keras builder builds, read like the spec,
pass ruff, and carry a spec's strings only as data.

Equivalence is checked against Keras itself: the generated build_model() and Spec.build() are
built in fresh Keras sessions and compared layer by layer (class, name, get_config(), inbound
connections, output shapes, weights).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_OFFLINE, EXAMPLES, GOLDEN, ROOT
from hypothesis import given
from hypothesis import strategies as st

import kspec
from kspec.codegen.generate import codegen, template_context

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.kspec"))

# One feature each; names ending in _flat are expected to fall back to straight-line code.
INLINE: dict[str, str] = {
    # The first Dense of each instance is `stack1_dense`, the next `stack1_dense_1`: numbered().
    "numbered_in_block": """
block stack(n) {
    input x
    for i in range(n) {
        x = x -> Dense(4) -> Dropout(0.1)
    }
    output [x, x] -> Add()
}
model b {
    input x: (8,)
    for i in range(3) {
        Dense(4)
    }
    stack(2)
    stack(3)
    Dense(1)
}
""",
    "frozen": """
model enc {
    input x: (8,)
    Dense(4)
    BatchNormalization()
}
block head(n) {
    input h
    Dense(n)
    BatchNormalization()
}
model m {
    input image: (8,)
    layer d = Dense(8, trainable=false)
    d(training=false)
    enc(trainable=false, training=false)
    for n in [3, 2] {
        head(n, trainable=false)
    }
    Dropout(0.2, training=true)
    Dense(2)
}""",
    "call_arguments": """
model m {
    input q: (5, 8)
    input v: (7, 8)
    out, scores = [q, v] -> MultiHeadAttention(2, 4, return_attention_scores=true)
    c = [q, q] -> MultiHeadAttention(2, 4, use_causal_mask=true)
    output a = [out, c] -> Concatenate()
    output s = scores -> Dropout(0.1, training=false)
}""",
    "loops": """
widths = [64, 32]
model mlp {
    input x: (20,)
    for u in widths {
        Dense(u, activation=relu)
        Dropout(0.1)
    }
    for i in range(2) {
        Dense(16 * (i + 1))
    }
    Dense(3, activation=softmax)
}""",
    "shared_layer": """
model shared {
    input a: (16,)
    input b: (16,)
    layer d = Dense(8)
    h = a -> Dense(4)
    x = a -> d
    y = b -> d
    output [x, y] -> Add()
}""",
    "lstm_states": """
model seq2seq {
    input src: (12, 5)
    input tgt: (9, 7)
    enc, h, c = src -> LSTM(16, return_state=true)
    dec = tgt -> LSTM(16, return_sequences=true, initial_state=[h, c])
    output [dec, enc -> RepeatVector(9)] -> Concatenate() -> Dense(3)
}""",
    "attention": """
model attn {
    input q: (6, 16)
    input v: (9, 16)
    a = [q, v] -> MultiHeadAttention(num_heads=2, key_dim=8)
    b = q -> MultiHeadAttention(num_heads=2, key_dim=4, value=v)
    [a, b] -> Add()
}""",
    "nested_twice": """
model tower {
    input x: (10,)
    Dense(4, activation=relu)
    BatchNormalization()
}

model twin {
    input left: (10,)
    input right: (10,)
    l = left -> tower
    r = right -> tower
    [l, r] -> Concatenate() -> Dense(1)
}""",
    "generic_layer": """
model masked {
    input x: (7, 3)
    Masking(mask_value=0.0)
    LSTM(4)
    Dense(2)
}""",
    "blocks_loops_ifs": """
deep = true
block stack(n, units=8) {
    input x
    for i in range(n) {
        x = x -> Dense(units * (i + 1), activation=relu)
    }
    if n > 1 {
        x -> Dropout(0.5)
    } else {
        x -> BatchNormalization()
    }
}
model m {
    input x: (5,)
    if deep {
        stack(2)
        stack(1, units=4)
        stack(3)
    } else {
        Dense(3)
    }
    Dense(1, name="head")
}""",
    "functional_blocks": """
block branch(width, depth=2) {
    input x
    for i in range(depth) {
        x = x -> Dense(width // (i + 1), activation=relu, name="d" + str(i))
    }
    output x
}
block merge(units) {
    input a
    input b
    [a -> branch(units), b -> branch(units, depth=1)] -> Concatenate() -> Dense(units)
}
model two {
    input a: (6,)
    input b: (7,)
    m = [a, b] -> merge(16)
    n = [a, b] -> merge(8, name="second")
    [m, n] -> Concatenate() -> Dense(1, activation=sigmoid)
}""",
    "sequential_loop_of_blocks": """
block pair(f) {
    input x
    x -> Dense(f) -> ReLU()
}
model s {
    input x: (5,)
    for f in [8, 16] {
        pair(f)
    }
    Dense(1)
}""",
    "odd_names": """
model weird {
    input x: (4,)
    Dense(3, name="x'); import os; os.system('touch PWNED') #")
    Dense(3, name="a\\"b\\\\c\\n\\"\\"\\"{{ }}#")
    Dense(2, name="ok")
}""",
    "python_names": """
model lambda {
    input class: (4,)
    layers = class -> Dense(3)
    keras = layers -> Dense(3)
    range = [layers, keras] -> Concatenate()
    output range
}""",
    "nested_loops_se": """
block se(ratio=4) {
    input x
    c = x.shape[-1]
    s = x -> GlobalAveragePooling2D() -> Dense(c // ratio, activation=relu)
          -> Dense(c, activation=sigmoid) -> Reshape((1, 1, c))
    output [x, s] -> Multiply()
}
block stage(filters, n) {
    input x
    for i in range(n) {
        x = x -> Conv2D(filters, 3, padding=same, strides=2 if i == 0 else 1)
              -> BatchNormalization() -> ReLU()
        if i % 2 == 1 {
            x = x -> se()
        }
    }
    output x
}
model net {
    input image: (32, 32, 3)
    for f, n in [(8, 2), (16, 3)] {
        stage(f, n)
    }
    for j in range(1, 3) {
        Conv2D(4 * j, 1)
        Dropout(0.1 * j)
    }
    GlobalAveragePooling2D()
    Dense(10, activation=softmax)
}""",
    "multi_output_blocks": """
block two_heads(units) {
    input x
    a = x -> Dense(units)
    b = x -> Dense(units * 2)
    output a
    output b
}
model m {
    input x: (8,)
    p, q = x -> two_heads(4)
    r, s = q -> two_heads(2)
    layer shared = Dense(3, name="shared")
    for t in [p, r, s] {
        t -> Dense(6) -> shared
    }
    out = [p -> Dense(3), q -> Dense(3)] -> Add()
    output out -> (Dropout(0.5) if 1 > 2 else Identity())
}""",
    "nested_model_in_loop_flat": """
model inner {
    input x: (6,)
    Dense(6, activation=tanh)
}
model outer {
    input x: (6,)
    for i in range(3) {
        x = x -> inner -> Dense(6, name="after" + str(i))
    }
    x -> Dense(1)
}""",
    "dict_and_nested_loops": """
sizes = {small: 8, large: 32}
model m {
    input x: (10,)
    width = sizes["large"]
    Dense(width)
    for k in sizes {
        Dense(sizes[k], name=k)
    }
    for i in range(2) {
        for j in range(3) {
            Dense(2 + i + j)
        }
    }
    Dense(1)
}""",
    "lstm_state_loop": """
model lstm2 {
    input src: (10, 4)
    seq, h, c = src -> LSTM(8, return_sequences=true, return_state=true)
    for i in range(2) {
        seq, h, c = seq -> LSTM(8, return_sequences=true, return_state=true, initial_state=[h, c])
    }
    [seq -> GlobalAveragePooling1D(), h] -> Concatenate() -> Dense(1)
}""",
    "use_class": """
use "kspec_test_layers:Scale"
model scaled {
    input x: (4,)
    Scale(factor=2.0)
    Dense(2)
}""",
}


# -- helpers ----------------------------------------------------------------------------------
def generate(path: Path, **options: Any) -> str:
    return codegen(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)), **options)


def import_script(text: str, folder: Path) -> Any:
    """Import generated code as a module from a file, as `python -c 'import train'` would."""
    name = f"generated_{uuid.uuid4().hex}"
    path = folder / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as `import train` would, so AutoGraph can read its functions
    spec.loader.exec_module(module)
    return module


def model_facts(model: Any) -> dict[str, Any]:
    """What two builds of one model must agree on, read from Keras."""
    import numpy as np

    def count(ws: list[Any]) -> int:
        return int(sum(np.prod(w.shape) for w in ws))

    layers = []
    for layer in model.layers:
        nodes = []
        for node in layer._inbound_nodes:
            history = [t._keras_history for t in node.input_tensors]
            nodes.append(
                {
                    "inputs": [(h.operation.name, h.node_index, h.tensor_index) for h in history],
                    "outputs": [tuple(t.shape) for t in node.output_tensors],
                }
            )
        layers.append(
            {
                "name": layer.name,
                "class": type(layer).__name__,
                "config": layer.get_config(),
                "nodes": nodes,
                "trainable": count(layer.trainable_weights),
                "non_trainable": count(layer.non_trainable_weights),
            }
        )
    return {
        "class": type(model).__name__,
        "name": model.name,
        "params": model.count_params(),
        "inputs": [tuple(t.shape) for t in model.inputs],
        "outputs": [tuple(t.shape) for t in model.outputs],
        "layers": layers,
    }


def fresh_build(build: Any) -> dict[str, Any]:
    """Build in a fresh, seeded Keras session: both builds draw automatic names from zero, and
    layers made in the same order get the same initial weights."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(1234)
    model = build()
    facts = model_facts(model)
    # A digest per weight, not the values: a failing comparison of a MobileNetV2 as nested lists
    # makes pytest's diff run for minutes.
    facts["weights"] = [
        (w.path, tuple(w.shape), hashlib.sha256(w.numpy().tobytes()).hexdigest()[:16])
        for w in model.weights
    ]
    return facts


def assert_same_model(spec: kspec.Spec, script: Any, model: str | None = None) -> None:
    expected = fresh_build(lambda: spec.build(model))
    got = fresh_build(script.build_model)
    assert got["class"] == expected["class"]
    assert [layer["name"] for layer in got["layers"]] == [
        layer["name"] for layer in expected["layers"]
    ]
    for mine, theirs in zip(got["layers"], expected["layers"], strict=True):
        assert mine == theirs, mine["name"]
    for mine, theirs in zip(got["weights"], expected["weights"], strict=True):
        assert mine == theirs, f"weight {mine[0]} differs"
    assert got == expected


# -- the model: equivalence with the Keras builder ----------------------------------------------
@pytest.mark.keras
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_script_builds_the_same_model(path: Path, tmp_path: Path) -> None:
    offline = EXAMPLE_OFFLINE.get(path.stem)
    script = import_script(generate(path, overrides=offline), tmp_path)
    assert_same_model(kspec.load(path, offline), script)


@pytest.mark.keras
@pytest.mark.parametrize("key", sorted(INLINE))
def test_inline_model_builds_the_same_model(key: str, tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))  # kspec_test_layers, for `use`
    try:
        text = codegen(INLINE[key], f"{key}.kspec", only="model")
        script = import_script(text, tmp_path)
        assert_same_model(kspec.loads(INLINE[key], f"{key}.kspec"), script)
    finally:
        sys.path.remove(str(ROOT / "tests"))


def test_structure_is_kept() -> None:
    """Blocks become functions and loops stay loops: the script reads like the spec."""
    resnet = generate(EXAMPLES / "resnet_tiny.kspec", only="model")
    assert "def residual(x, filters, stride=1, *, name):" in resnet
    assert (
        "    for i in range(3):\n        x = residual(x, 32 * 2**i, stride=1 if i == 0 else 2, "
        'name=f"residual{i + 1}")' in resnet
    )
    assert "    if stride != 1:\n" in resnet
    unet = generate(EXAMPLES / "unet.kspec", only="model")
    assert "LEVELS = [16, 32, 64]" in unet and "conv_pair(image, LEVELS[0]" in unet
    for key, text in INLINE.items():
        context = template_context(text, f"{key}.kspec", only="model")
        assert bool(context["flat_models"]) == key.endswith("_flat"), key
        if key.endswith("_flat"):
            continue
        blocks = {
            line.split()[1].split("(")[0] for line in text.splitlines() if line.startswith("block ")
        }
        assert blocks <= {fn["name"] for fn in context["functions"]}, key
        script = codegen(text, f"{key}.kspec", only="model")
        loops = [line for line in script.splitlines() if line.lstrip().startswith("for ")]
        assert len(loops) == text.count("for "), key


def test_linear_spec_is_a_sequential_list() -> None:
    script = generate(EXAMPLES / "mnist.kspec", only="model")
    assert (
        "return keras.Sequential(\n        [\n            keras.Input(shape=(28, 28, 1)" in script
    )


# -- golden files -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_codegen_golden(path: Path, update_golden: bool) -> None:
    got = generate(path)
    expected = GOLDEN / "codegen" / f"{path.stem}.py"
    if update_golden:
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")


def test_every_example_has_a_golden() -> None:
    assert {p.stem for p in (GOLDEN / "codegen").glob("*.py")} == {p.stem for p in EXAMPLE_FILES}


def test_tutorial_scripts_stay_short() -> None:
    """The MNIST and digits scripts read like a keras.io example: at most 70 non-blank lines."""
    for name in ("mnist", "digits"):
        script = generate(EXAMPLES / f"{name}.kspec")
        lines = [line for line in script.splitlines() if line.strip()]
        assert len(lines) <= 70, (name, len(lines))
        assert "model.summary()" in script and "def main(argv=None):" in script


def test_names_only_where_they_carry_meaning() -> None:
    """Layers Keras names as kspec does get no name=; inputs, outputs and the model keep theirs,
    and no name is a conditional expression: Keras's numbering in a loop is `numbered()`."""
    mnist = generate(EXAMPLES / "mnist.kspec")
    assert mnist.count("name=") == 2  # the input and the model
    listing = generate(EXAMPLES / "two_inputs.kspec")
    assert 'layers.Dense(1, name="price")' in listing and "layers.Dense(32, activation" in listing
    for param in all_scripts():
        assert not re.search(r'name=f?"[^"]*" if ', param.values[0]), param.id
    numbered = codegen(INLINE["numbered_in_block"], "numbered.kspec", only="model")
    assert 'layers.Dense(4, name=numbered(f"{name}_dense", i))(x)' in numbered
    assert numbered.count("def numbered(name, n):") == 1
    assert "numbered(" not in generate(EXAMPLES / "resnet_tiny.kspec")  # defined only when used


def test_array_sources_need_no_tensorflow() -> None:
    """Without augmentation, directories, distribution or mixed precision: backend-neutral."""
    for path in EXAMPLE_FILES:
        script = generate(path)
        tf = "import tensorflow" in script
        text = path.read_text(encoding="utf-8")
        assert tf == ("augment" in text or "images(" in text), path.stem
        if not tf:
            assert "tf." not in script and "tensorflow" not in script, path.stem


@pytest.mark.keras
def test_sublayer_names_are_what_keras_draws() -> None:
    """autonames.SUBLAYER_NAMES, measured: the automatic names a layer draws for what it makes."""
    import keras
    from keras.src.backend.common import global_state
    from test_catalog_keras import catalog_examples, keras_inputs

    from kspec.check.naming import to_snake_case
    from kspec.codegen.autonames import SUBLAYER_NAMES, _class, _layer_args
    from kspec.keras import build as keras_build

    keras.backend.clear_session()
    for param in catalog_examples():
        cls, kwargs, shape = param.values
        # What this example draws: the name counters it moved (clear_session per example
        # costs minutes).
        before = dict(global_state.get_global_attribute("object_name_uids", {}) or {})
        spec = cls.create((), kwargs)
        x = keras_inputs(keras, shape, spec.input_dtypes()[0])
        layer = keras_build.make_layer(spec)
        if spec.is_step:
            keras_build.call_layer(layer, spec, x)
        assert to_snake_case(type(layer).__name__) == to_snake_case(_class(spec)), param.id
        uids = global_state.get_global_attribute("object_name_uids", {}) or {}
        moved = {k for k, v in uids.items() if v != before.get(k)}
        drawn = moved - {"keras_tensor", "seed_generator", "input_layer"}
        inner = list(_layer_args(spec))
        expected = {to_snake_case(_class(spec))} | {to_snake_case(_class(i)) for i in inner}
        for one in [spec, *inner]:
            expected |= set(SUBLAYER_NAMES.get(_class(one), ()))
        assert drawn <= expected, (param.id, sorted(drawn - expected))


@pytest.mark.keras
@pytest.mark.slow
def test_scripts_train_under_jax(tmp_path: Path) -> None:
    """Every example's script, on small synthetic data, trains one epoch with KERAS_BACKEND=jax
    and builds the model kspec counts (JAX is not a dependency: skipped without it)."""
    pytest.importorskip("jax")
    folder = tmp_path / "scripts"
    folder.mkdir()
    counts, epochs = {}, {}
    for path in EXAMPLE_FILES:
        offline = [f"{k}={v}" for k, v in (EXAMPLE_OFFLINE.get(path.stem) or {}).items()]
        phases = re.findall(r"^\s*phase (\w+)", path.read_text(encoding="utf-8"), re.M)
        overrides = [*SMALL_RUN, *[o.replace("None", "none") for o in offline]]
        overrides += [f"train.{name}.epochs=1" for name in phases]  # one epoch per phase too
        (folder / f"{path.stem}.py").write_text(generate(path, overrides=overrides))
        spec = kspec.load(path, EXAMPLE_OFFLINE.get(path.stem))
        counts[path.stem] = spec.summary()["total_params"]
        epochs[path.stem] = 1 + len(phases)
    probe = (
        "import importlib, json, sys, keras\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "out = {}\n"
        "for name in json.loads(sys.argv[2]):\n"
        "    keras.backend.clear_session()\n"
        "    script = importlib.import_module(name)\n"
        "    history = script.main(['--output', f'{sys.argv[1]}/{name}.keras'])\n"
        "    out[name] = [keras.backend.backend(), script.build_model().count_params(),\n"
        "                 len(history.history['loss'])]\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run(
        [sys.executable, "-c", probe, str(folder), json.dumps(sorted(counts))],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got == {name: ["jax", n, epochs[name]] for name, n in counts.items()}
    assert epochs["transfer"] == 2


# -- the script is clean Python -------------------------------------------------------------------
def ruff(args: list[str], text: str) -> subprocess.CompletedProcess[str]:
    """ruff with the project's configuration, on text as if it were a file in the checkout."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", "generated.py", "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def all_scripts() -> list[Any]:
    out = [pytest.param(generate(p), id=p.stem) for p in EXAMPLE_FILES]
    out += [pytest.param(generate(p, only="model"), id=f"{p.stem}-model") for p in EXAMPLE_FILES]
    out += [pytest.param(codegen(t, f"{k}.kspec"), id=k) for k, t in sorted(INLINE.items())]
    return out


@pytest.mark.parametrize("script", all_scripts())
def test_script_passes_ruff_and_compiles(script: str) -> None:
    compile(script, "generated.py", "exec")
    checked = ruff(["check", "--no-cache"], script)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = ruff(["format", "--check", "--no-cache"], script)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_script_never_imports_kspec() -> None:
    for param in all_scripts():
        script = param.values[0]
        tree = ast.parse(script)
        modules = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        modules += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if m.split(".")[0] == "kspec"], param.id


# -- any spec gives Python: generated specs -------------------------------------------------------
def _one_tensor_examples() -> list[tuple[Any, tuple[Any, ...]]]:
    from kspec.catalog import CATALOG

    out = []
    for _, cls in sorted(CATALOG.items()):
        if not (cls.takes_list or cls.call_inputs):
            out += [(cls.create((), p), s) for p, s in cls.examples if isinstance(s, tuple) and s]
    return out


EXAMPLE_LAYERS = _one_tensor_examples()
ODD = ['x"); import os #', "a'b", 'q"""q', "back\\slash", "new\nline", "{{ x }}", "# not code", "é"]
IDENTIFIERS = ["x", "lambda", "class", "layers", "keras", "np", "name", "range", "build_model", "l"]


def spec_literal(value: Any) -> str:
    """A value in spec syntax (strings quoted, so that no name can capture them)."""
    from kspec.catalog import KerasObject, LayerSpec

    if value is None or isinstance(value, bool):
        return {None: "none", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, tuple):
        inner = ", ".join(spec_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(spec_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{spec_literal(k)}: {spec_literal(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, LayerSpec):
        return layer_text(value)
    if isinstance(value, KerasObject):
        args = [spec_literal(a) for a in value.args]
        kwargs = [f"{k}={spec_literal(v)}" for k, v in value.kwargs]
        return f"{value.name}({', '.join([*args, *kwargs])})"
    raise TypeError(f"no spec spelling for {value!r}")


def layer_text(spec: Any, name: str | None = None) -> str:
    args = [f"{k}={spec_literal(v)}" for k, v in spec.keras_kwargs().items()]
    if name is not None:
        args.append(f"name={spec_literal(name)}")
    return f"{spec.layer_name()}({', '.join(args)})"


@st.composite
def specs(draw: st.DrawFn) -> str:
    """A chain of catalog examples, each accepting what the one before gives, under odd names."""
    first, shape = draw(st.sampled_from(EXAMPLE_LAYERS))
    chain = [first]
    current = first.compute_output_shape(shape)
    for _ in range(draw(st.integers(0, 4))):
        if not isinstance(current, tuple):
            break
        fitting = []
        for spec, _ in EXAMPLE_LAYERS:
            try:
                fitting.append((spec, spec.compute_output_shape(current)))
            except Exception:
                continue
        if not fitting:
            break
        spec, current = draw(st.sampled_from(fitting))
        chain.append(spec)
    names = draw(
        st.lists(
            st.one_of(st.sampled_from(ODD), st.text(max_size=8)),
            min_size=len(chain),
            max_size=len(chain),
            unique=True,
        )
    )
    given = draw(st.lists(st.booleans(), min_size=len(chain), max_size=len(chain)))
    model, tensor, constant = draw(
        st.lists(st.sampled_from(IDENTIFIERS), min_size=3, max_size=3, unique=True)
    )
    steps = "\n".join(
        f"    {layer_text(s, n if g else None)}"
        for s, n, g in zip(chain, names, given, strict=True)
    )
    return (
        f"{constant} = {spec_literal(draw(st.sampled_from(ODD)))}\n"
        f"model {model} {{\n    input {tensor}: {spec_literal(shape)}\n{steps}\n}}\n"
    )


@given(specs())
def test_generated_specs_give_python(text: str) -> None:
    try:
        script = codegen(text, "generated.kspec")
    except kspec.KspecError:
        return  # the spec itself is wrong (a name Keras keywords reserve, say): reported, not code
    ast.parse(script)
    ast.parse(codegen(text, "generated.kspec", only="model"))


# -- a spec's strings are data, never code -------------------------------------------------------
INJECTIONS = [
    "x'); import os; os.system('touch PWNED') #",
    'y"); import os; os.system("touch PWNED") #',
    '"""; import os; os.system("touch PWNED"); """',
    "z\\'); import os; os.system('touch PWNED') #",
    "w\n__import__('os').system('touch PWNED')\n#",
    "{{ __import__('os').system('touch PWNED') }}",
    "{__import__('os').system('touch PWNED')}",
    "# coding: evil \\ end",
]


def injection_spec() -> str:
    names = [spec_literal(s) for s in INJECTIONS]
    layers = "\n".join(f"    Dense(2, name={n})" for n in names[1:])
    return f"""
note = {names[0]}
notes = [{", ".join(names)}]
block tower(units) {{
    input x
    x -> Dense(units, name={names[0]}) -> Dense(units, name={names[2]})
}}
model evil {{
    input x: (3,)
    tower(4)
    tower(4, name={names[6]})
{layers}
}}
data {{
    source = npz({names[0]}, x={names[1]}, y={names[2]})
}}
train {{
    optimizer = Adam()
    loss = mse
    callbacks = [CSVLogger({names[3]})]
}}
"""


@pytest.mark.keras
def test_spec_strings_stay_data(tmp_path: Path) -> None:
    """A script made from hostile strings runs build_model() and executes none of them."""
    text = injection_spec()
    script = codegen(text, 'x"""; import os #.kspec')
    assert "PWNED" in script  # carried, as data
    ast.parse(script)
    (tmp_path / "evil_script.py").write_text(script, encoding="utf-8")
    probe = (
        "import json, evil_script\n"
        "model = evil_script.build_model()\n"
        "print(json.dumps({'names': [layer.name for layer in model.layers],\n"
        "                  'note': evil_script.NOTE, 'notes': evil_script.NOTES}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.rglob("PWNED")) and not (ROOT / "PWNED").exists()
    import json

    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["note"] == INJECTIONS[0] and got["notes"] == INJECTIONS
    expected = (
        [layer.name for layer in kspec.loads(text).graph().keras_layers() if not layer.is_input]
        if hasattr(kspec.loads(text).graph(), "keras_layers")
        else None
    )
    assert set(INJECTIONS[1:]) <= set(got["names"])
    if expected is not None:
        assert got["names"] == expected


def test_codegen_parses_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kspec.check.spec as spec_module

    blocks = "block dense2(n) {\n    input x\n    output x -> Dense(n) -> Dense(n)\n}\n"
    (tmp_path / "blocks.kspec").write_text(blocks)
    main = tmp_path / "main.kspec"
    main.write_text('import "blocks.kspec"\nmodel m {\n    input x: (3,)\n    dense2(4)\n}\n')
    real = spec_module.parse
    parsed: list[str] = []

    def counting(text: str, path: str) -> Any:
        parsed.append(Path(path).name)
        return real(text, path)

    monkeypatch.setattr(spec_module, "parse", counting)
    script = codegen(main.read_text(), str(main))
    assert sorted(parsed) == ["blocks.kspec", "main.kspec"]
    assert "def dense2(" in script


def test_use_target_must_be_importable_names() -> None:
    text = 'use "os; import os #:Layer"\nmodel m {\n    input x: (3,)\n    Layer()\n}\n'
    with pytest.raises(kspec.KspecError, match="does not name a Python class"):
        codegen(text, "use.kspec")


# -- templates ------------------------------------------------------------------------------------
def test_user_templates_replace_kspecs(tmp_path: Path) -> None:
    (tmp_path / "model.py.j2").write_text(
        "# {{ model_name }}: {{ functions | map(attribute='name') | join(', ') }}\n"
        '{% include "_functions.py.j2" %}',
        encoding="utf-8",
    )
    text = generate(EXAMPLES / "resnet_tiny.kspec", only="model", template_dir=tmp_path)
    assert text.startswith("# resnet_tiny: residual, build_model\n")
    assert "def residual(x, filters, stride=1, *, name):" in text  # kspec's include, found


def test_template_variables_are_strict(tmp_path: Path) -> None:
    from kspec.codegen.generate import TemplateError

    (tmp_path / "script.py.j2").write_text("{{ no_such_variable }}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="no_such_variable"):
        generate(EXAMPLES / "mnist.kspec", template_dir=tmp_path)
    with pytest.raises(TemplateError, match="no such directory"):
        generate(EXAMPLES / "mnist.kspec", template_dir=tmp_path / "missing")


def test_templates_ship_in_the_wheel() -> None:
    """Every file under templates/ is matched by pyproject's package-data globs (setuptools's
    glob: `*` stops at a folder), so an installed kspec has the includes too."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    assert config["package-dir"]["kspec.templates"] == "templates"
    folder = ROOT / "templates"
    shipped = {
        p for pattern in config["package-data"]["kspec.templates"] for p in folder.glob(pattern)
    }
    assert set(folder.rglob("*.j2")) <= shipped


# -- the command line and the API -----------------------------------------------------------------
def test_cli_writes_the_script(tmp_path: Path) -> None:
    from kspec.cli import main

    out = tmp_path / "train.py"
    assert (
        main(
            ["codegen", str(EXAMPLES / "unet.kspec"), "-o", str(out), "--set", "levels=[8, 16, 32]"]
        )
        == 0
    )
    script = out.read_text(encoding="utf-8")
    assert "LEVELS = [8, 16, 32]" in script and "def main(argv=None):" in script
    assert not [p for p in tmp_path.iterdir() if p.name != "train.py"]  # no temporary file left
    assert main(["codegen", str(EXAMPLES / "unet.kspec"), "--model", "nope"]) == 1
    assert main(["codegen", str(EXAMPLES / "unet.kspec"), "--template", str(tmp_path / "x")]) == 2


def test_api_matches_cli() -> None:
    spec = kspec.load(EXAMPLES / "mnist.kspec")
    assert spec.codegen(only="model") == codegen(spec.text, spec.filename, only="model")
    assert "EPOCHS = 1" in spec.with_overrides({"train.epochs": 1}).codegen()


@pytest.mark.slow
def test_installed_wheel_renders_with_its_own_templates(tmp_path: Path) -> None:
    """Built and installed elsewhere, kspec finds its templates without the checkout."""
    pytest.importorskip("setuptools")
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        str(ROOT),
        "-w",
        str(tmp_path / "wheel"),
    ]
    subprocess.run(build, check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "wheel").glob("kspec-*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(tmp_path / "site"),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "import kspec, kspec.resources as r, sys\n"
        "print(r.resource_dir('templates'))\n"
        "sys.stdout.write(kspec.load(sys.argv[1]).codegen())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(EXAMPLES / "resnet_tiny.kspec")],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    where, script = done.stdout.split("\n", 1)
    assert Path(where).is_relative_to(tmp_path / "site")
    assert script == generate(EXAMPLES / "resnet_tiny.kspec").replace(
        "examples/resnet_tiny.kspec", str(EXAMPLES / "resnet_tiny.kspec")
    )


# -- training: the script does what `kspec run` does ----------------------------------------------
SMALL_RUN = ["data.source=synthetic(samples=64)", "train.epochs=1", "train.batch_size=16"]


@pytest.mark.keras
@pytest.mark.slow
def test_one_epoch_gives_kspec_runs_loss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same seed, same synthetic data: the generated script and `kspec run` train alike (digits
    has augmentation and dropout, so the random streams must line up too)."""
    import keras

    from kspec.check.spec import check_text
    from kspec.run.train import RunOptions, run

    path = EXAMPLES / "digits.kspec"
    monkeypatch.chdir(tmp_path)
    checked, _ = check_text(path.read_text(encoding="utf-8"), str(path), SMALL_RUN)
    assert checked is not None
    keras.backend.clear_session()
    expected = run(
        checked, RunOptions(epochs=1, output=tmp_path / "run", quiet=True, workdir=tmp_path)
    ).history
    script = import_script(
        codegen(path.read_text(encoding="utf-8"), str(path), SMALL_RUN), tmp_path
    )
    keras.backend.clear_session()
    got = script.main(["--output", str(tmp_path / "script.keras")]).history
    assert (tmp_path / "script.keras").exists()
    for key in ("loss", "val_loss", "accuracy"):
        assert abs(got[key][0] - expected[key][0]) <= 1e-5, (key, got[key], expected[key])


@pytest.mark.keras
@pytest.mark.slow
def test_digits_script_trains_end_to_end(tmp_path: Path) -> None:
    """`python train.py --epochs 1` on the digits example, in its own process."""
    (tmp_path / "train.py").write_text(generate(EXAMPLES / "digits.kspec"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "train.py", "--epochs", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "digits.keras").stat().st_size > 0
    assert "val_loss" in done.stdout and "Total params" in done.stdout  # fit's log, summary()


def test_every_context_variable_is_documented() -> None:
    """docs/codegen.md names every variable templates receive."""
    doc = (ROOT / "docs" / "codegen.md").read_text(encoding="utf-8")
    for path in (EXAMPLES / "mnist.kspec", EXAMPLES / "two_inputs.kspec"):
        context = template_context(path.read_text(encoding="utf-8"), path.name)
        keys = [*context, *context["train"], *context["data"]]
        missing = [k for k in keys if f"`{k}`" not in doc]
        assert not missing, missing


# -- the data: what load_data() and make_dataset() feed is what kspec run feeds -------------------
def _write_idx(path: Path, array: Any) -> None:
    import gzip

    import numpy as np

    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    path.write_bytes(gzip.compress(header + np.asarray(array, np.uint8).tobytes()))


def _data_files(folder: Path) -> None:
    """Small files for every file source, written with a fixed seed."""
    import numpy as np

    rng = np.random.default_rng(7)
    np.savez(
        folder / "data.npz",
        x=rng.standard_normal((40, 6)).astype(np.float32),
        y=rng.integers(0, 3, 40).astype(np.int64),
        extra=np.zeros(40),
    )
    rows = ["f1,f2,f3,kind"] + [
        f"{a:.3f},{b:.3f},{c},{k}"
        for a, b, c, k in zip(
            rng.standard_normal(30),
            rng.standard_normal(30),
            range(30),
            rng.choice(["cat", "dog", "emu"], 30),
            strict=True,
        )
    ]
    (folder / "data.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    import tensorflow as tf

    for label in ("cat", "dog"):
        (folder / "images" / label).mkdir(parents=True)
        (folder / "text" / label).mkdir(parents=True)
        for i in range(6):
            pixels = tf.constant(rng.integers(0, 256, (8, 8, 3)), tf.uint8)
            (folder / "images" / label / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())
            words = " ".join(rng.choice(["a", "good", "bad", "film", "plot", "fine"], 7))
            (folder / "text" / label / f"{i}.txt").write_text(words, encoding="utf-8")
    (folder / "idx").mkdir()
    for prefix, n in (("train", 36), ("t10k", 12)):
        _write_idx(
            folder / "idx" / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 4, 4))
        )
        _write_idx(folder / "idx" / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 3, n))


DATA_SPECS = {
    "npz": ('npz("data.npz")', "(6,)", "scale = 0.5\n    validation_split = 0.25"),
    "csv": ('csv("data.csv", label=kind)', "(3,)", "validation_split = 0.2\n    shuffle = false"),
    "idx": ('idx("idx")', "(4, 4, 1)", "scale = 1 / 255"),
    "digits": (
        "digits",
        "(8, 8, 1)",
        "scale = 1 / 16\n    validation_split = 0.1\n    cache = true",
    ),
    "synthetic": ("synthetic(samples=50, seed=3)", "(5, 2)", "validation_split = 0.2"),
    "images": ('images("images", size=(8, 8))', "(8, 8, 3)", "validation_split = 0.25"),
    "text": ('text("text", max_tokens=20, sequence_length=5)', "(5,)", "scale = 1 / 4"),
}


def _feed_case(kind: str, tmp_path: Path, extra: str = "") -> tuple[str, Path, Any, Any]:
    """A one-input spec reading DATA_SPECS[kind] (plus `extra` data fields), written beside its
    data files, checked and loaded as kspec run loads it: (text, path, signature, loaded)."""
    from kspec.check.spec import check_text
    from kspec.run import data as kdata

    source, shape, fields = DATA_SPECS[kind]
    _data_files(tmp_path)
    model = f"input features: {shape}\n    Flatten()\n    Dense(10, activation=softmax)"
    train = "loss = sparse_categorical_crossentropy\n    batch_size = 8\n    seed = 11"
    data = f"source = {source}\n    {fields}" + (f"\n    {extra}" if extra else "")
    text = f"model m {{\n    {model}\n}}\ndata {{\n    {data}\n}}\n"
    text += f"train {{\n    {train}\n}}\n"
    spec_path = tmp_path / "m.kspec"
    spec_path.write_text(text, encoding="utf-8")
    checked, _ = check_text(text, str(spec_path))
    assert checked is not None
    signature = kdata.signature_of_graph(checked.model(), checked.train)
    loaded = kdata.load_data(
        checked.data, checked.sources, signature, spec_path=str(spec_path), workdir=tmp_path,
        seed=11,
    )  # fmt: skip
    return text, spec_path, signature, loaded


@pytest.mark.keras
@pytest.mark.parametrize("kind", sorted(DATA_SPECS))
def test_script_feeds_what_kspec_run_feeds(kind: str, tmp_path: Path) -> None:
    """What main() passes to fit is what `kspec run` passes: the same arrays (split as fit's
    validation_split splits), or the same batches of a tf.data pipeline, value for value."""
    import numpy as np
    import tensorflow as tf
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    from kspec.run import data as kdata

    fields = DATA_SPECS[kind][2]
    text, spec_path, signature, loaded = _feed_case(kind, tmp_path)
    expected = kdata.pipeline(loaded.train, signature, loaded.options, 8, training=True, seed=11)
    val = None
    if loaded.validation is not None:
        val = kdata.pipeline(loaded.validation, signature, loaded.options, 8, training=False)
    script = import_script(codegen(text, str(spec_path)), tmp_path)
    fit = kdata.fit_args(expected, val)

    def same(a: Any, b: Any) -> None:
        left, right = tf.nest.flatten(a), tf.nest.flatten(b)
        assert len(left) == len(right) > 0
        for u, v in zip(left, right, strict=True):
            assert u.dtype == v.dtype and u.shape == v.shape and np.array_equal(u, v)

    def batches(dataset: Any) -> list[Any]:
        return [tf.nest.map_structure(lambda t: t.numpy(), b) for b in dataset]

    if kind in ("images", "text"):
        train_ds, validation = script.load_data()
        same(batches(script.make_dataset(train_ds, 8, training=True, seed=11)), batches(fit["x"]))
        assert (validation is None) == (val is None)
        if val is not None:
            same(batches(script.make_dataset(validation, 8, training=False)), batches(val.x))
        return
    loaded_arrays = script.load_data()
    assert fit["batch_size"] == 8 and fit["shuffle"] == ("shuffle = false" not in fields)
    if "validation_split" in fields:  # main() passes validation_split=VALIDATION_SPLIT to fit
        (x, y), validation = train_validation_split(loaded_arrays, script.VALIDATION_SPLIT)
    elif isinstance(loaded_arrays[1], tuple) or loaded_arrays[1] is None:
        (x, y), validation = loaded_arrays
    else:
        (x, y), validation = loaded_arrays, None
    same((x, y), (fit["x"], fit["y"]))
    assert (validation is None) == ("validation_data" not in fit)
    if validation is not None:
        same(validation, fit["validation_data"])


@pytest.mark.keras
def test_augmented_batches_are_kspec_runs(tmp_path: Path) -> None:
    """With augmentation both feed fit one tf.data pipeline: the same batches for one seed."""
    import numpy as np
    import tensorflow as tf

    from kspec.check.spec import check_text
    from kspec.run import data as kdata

    path = EXAMPLES / "digits.kspec"
    checked, _ = check_text(path.read_text(encoding="utf-8"), str(path), SMALL_RUN)
    assert checked is not None
    signature = kdata.signature_of_graph(checked.model(), checked.train)
    loaded = kdata.load_data(
        checked.data, checked.sources, signature, spec_path=str(path), workdir=ROOT, seed=42
    )
    script = import_script(
        codegen(path.read_text(encoding="utf-8"), str(path), SMALL_RUN), tmp_path
    )
    (x, y), validation = script.load_data()

    def first_batches(make: Any) -> list[Any]:
        tf.random.set_seed(42)
        return [tf.nest.map_structure(lambda t: t.numpy(), b) for b in make()]

    def kspec_feed() -> Any:
        augment = kdata.augmenter(loaded.options.augment, signature)
        feed = kdata.pipeline(
            loaded.train, signature, loaded.options, 16, training=True, seed=42, augment=augment
        )
        return feed.x

    got = first_batches(lambda: script.augmented(x, y, 16))
    expected = first_batches(kspec_feed)
    assert len(got) == len(expected) == 4
    for (a, b), (c, d) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(b, d)
        assert a.shape == c.shape and a.dtype == c.dtype
    np.testing.assert_array_equal(
        validation[0], kdata.prepared(loaded.validation, signature, loaded.options.scale)[0]
    )  # type: ignore[arg-type]


def test_constants_keep_their_spelling() -> None:
    """Constants and fields read as the spec wrote them, unless --set replaced the value."""
    text = "units = 64\nhidden = units * 2\nmodel m {\n    input x: (4,)\n    Dense(hidden)\n}\n"
    text += "data {\n    scale = 1 / 255\n}\n"
    script = codegen(text, "c.kspec", only="model")
    assert "UNITS = 64\nHIDDEN = UNITS * 2\n" in script  # UNITS kept: HIDDEN reads it
    full = codegen(text, "c.kspec", ["units=8", "data.scale=0.5"])
    assert "UNITS = 8\nHIDDEN = UNITS * 2\n" in full and "SCALE = 0.5\n" in full
    assert "SCALE = 1 / 255\n" in codegen(text, "c.kspec")


@pytest.mark.keras
def test_imported_blocks_and_constants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block from an imported file is a function; its default's constant comes along."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.kspec").write_text(
        "width = 12\nblock mlp(units=width) {\n    input x\n"
        "    x -> Dense(units, activation=relu) -> Dense(units)\n}\n",
        encoding="utf-8",
    )
    main = 'import "lib/blocks.kspec"\nmodel m {\n    input x: (4,)\n    mlp()\n    Dense(1)\n}\n'
    (tmp_path / "main.kspec").write_text(main, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    script = codegen(main, "main.kspec", only="model")
    assert "WIDTH = 12\n" in script and "def mlp(model_layers, units=WIDTH, *, name):" in script
    assert_same_model(kspec.load("main.kspec"), import_script(script, tmp_path))


PHASED = """
model m {
    input x: (8,)
    layer base = Dense(16, activation=relu, trainable=false)
    base
    Dropout(0.1)
    Dense(4, activation=softmax)
}
data {
    source = synthetic(samples=64)
    validation_split = 0.25
}
train {
    loss = sparse_categorical_crossentropy
    metrics = [accuracy]
    seed = 3
    epochs = 1
    batch_size = 16
    phase finetune {
        unfreeze = base
        optimizer = SGD(learning_rate=0.05)
        epochs = 1
        batch_size = 8
    }
}
"""


@pytest.mark.keras
@pytest.mark.slow
def test_phases_give_kspec_runs_losses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A phase in the script (flags, recompile, a new batch size, fit on from the epoch reached)
    trains as `kspec run` does: the same loss in each of the 1 + 1 epochs."""
    import keras

    from kspec.check.spec import check_text
    from kspec.run.train import RunOptions, run

    monkeypatch.chdir(tmp_path)
    checked, _ = check_text(PHASED, "phased.kspec")
    assert checked is not None
    keras.backend.clear_session()
    expected = run(checked, RunOptions(output=tmp_path / "run", quiet=True, workdir=tmp_path))
    script_text = codegen(PHASED, "phased.kspec")
    assert "    base.trainable = True\n" in script_text or "trainable = True" in script_text
    script = import_script(script_text, tmp_path)
    keras.backend.clear_session()
    got = script.main(["--output", str(tmp_path / "script.keras")])
    assert got.epoch == [0, 1]
    for key in ("loss", "val_loss", "accuracy"):
        assert len(got.history[key]) == 2
        for mine, theirs in zip(got.history[key], expected.history[key], strict=True):
            assert abs(mine - theirs) <= 1e-5, (key, got.history[key], expected.history[key])


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["digits", "idx", "npz"])
def test_batches_feed_is_kspec_runs(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`feed = batches`: main() hands fit the Batches kspec run hands it, drawing the same
    batches, uint8 kept until each batch is prepared, in the same order for two epochs."""
    import keras
    import numpy as np

    from kspec.run import data as kdata

    text, spec_path, signature, loaded = _feed_case(kind, tmp_path, "feed = batches")
    expected = kdata.pipeline(loaded.train, signature, loaded.options, 8, training=True, seed=11)
    assert loaded.validation is not None
    val = kdata.pipeline(loaded.validation, signature, loaded.options, 8, training=False)
    fit = kdata.fit_args(expected, val)
    assert set(fit) == {"x", "y", "shuffle", "validation_data", "validation_batch_size"}
    assert fit["y"] is None and fit["validation_batch_size"] is None
    script = import_script(codegen(text, str(spec_path)), tmp_path)
    given: dict[str, Any] = {}

    def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
        given.update(kwargs, x=args[0])
        return keras.callbacks.History()

    monkeypatch.setattr(keras.Model, "fit", recorded)
    script.main(["--output", str(tmp_path / "m.keras")])
    assert type(given["x"]).__name__ == type(fit["x"]).__name__ == "Batches"
    assert given["shuffle"] is fit["shuffle"] is False  # else Keras reorders the batches too
    raw = next(iter(loaded.train.x.values()))
    assert raw.dtype == np.uint8 or kind != "idx"  # kept as loaded, not as float32

    def drawn(batches: Any, epochs: int) -> list[Any]:
        out = []
        for _ in range(epochs):
            out += [batches[i] for i in range(len(batches))]
            batches.on_epoch_end()
        return out

    for mine, theirs in (
        (given["x"], fit["x"]),
        (given["validation_data"], fit["validation_data"]),
    ):
        left, right = drawn(mine, 2), drawn(theirs, 2)
        assert len(left) == len(right) > 1
        for (x1, y1), (x2, y2) in zip(left, right, strict=True):
            assert x1.dtype == x2.dtype == np.float32 and np.array_equal(x1, x2)
            assert y1.dtype == y2.dtype and np.array_equal(y1, y2)
    epoch = len(fit["x"])  # shuffled anew each epoch: the second epoch's first batch differs
    train = drawn(fit["x"], 2)
    assert not np.array_equal(train[0][1], train[epoch][1])


def test_batches_feed_is_refused_where_it_means_nothing() -> None:
    from kspec.check.spec import check_text
    from kspec.diagnostics import KspecError

    base = "model m {\n    input x: (8, 8, 3)\n    Flatten()\n    Dense(2)\n}\n"
    for fields, words in (
        ('source = images("d", size=(8, 8))\n    feed = batches', "images() already reads"),
        ("source = digits\n    augment = [RandomFlip()]\n    feed = batches", "augment"),
        ("source = digits\n    feed = batched", "expected one of arrays, batches"),
    ):
        text = f"{base}data {{\n    {fields}\n}}\n"
        with pytest.raises(KspecError) as caught:
            check_text(text, "f.kspec")
        message = str(caught.value)
        assert words in message and "f.kspec:" in message, message
