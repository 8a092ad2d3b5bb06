"""`kspec codegen`: generated scripts build the model the Keras builder builds, read like the spec,
pass ruff, and carry a spec's strings only as data.

Equivalence is checked against Keras itself: the generated build_model() and Spec.build() are
built in fresh Keras sessions and compared layer by layer (class, name, get_config(), inbound
connections, output shapes, weights).
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, ROOT

import kspec
from kspec.backends.codegen import codegen, template_context

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.kspec"))

# One feature each; names ending in _flat are expected to fall back to straight-line code.
INLINE: dict[str, str] = {
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
    h = a -> Dense(4)
    layer d = Dense(8)
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
    """Build in a fresh Keras session, so both builds draw automatic names from zero."""
    import keras

    keras.backend.clear_session()
    return model_facts(build())


def assert_same_model(spec: kspec.Spec, script: Any, model: str | None = None) -> None:
    expected = fresh_build(lambda: spec.build(model))
    got = fresh_build(script.build_model)
    assert got["class"] == expected["class"]
    assert [layer["name"] for layer in got["layers"]] == [
        layer["name"] for layer in expected["layers"]
    ]
    for mine, theirs in zip(got["layers"], expected["layers"], strict=True):
        assert mine == theirs, mine["name"]
    assert got == expected


# -- the model: equivalence with the Keras builder ----------------------------------------------
@pytest.mark.keras
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_script_builds_the_same_model(path: Path, tmp_path: Path) -> None:
    script = import_script(generate(path), tmp_path)
    assert_same_model(kspec.load(path), script)


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
        assert context["flat_models"] == [], key
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
