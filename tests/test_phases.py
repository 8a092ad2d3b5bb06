"""Training phases: `phase NAME { ... }` sections, their freeze/unfreeze selectors, and the
trainable split in each phase, statically and in Keras."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from test_build import weight_counts

import kspec
from kspec.catalog import Params
from kspec.check.phases import phase_flags, split
from kspec.diagnostics import KspecError

RECIPE = """
model enc {
    input x: (8,)
    Dense(6)
    BatchNormalization()
    Dense(4)
}
model tower {
    input x: (4,)
    a = Dense(3, name="block1_dense")
    b = x -> Dense(3, name="block2_dense")
    [a, b] -> Concatenate() -> BatchNormalization(name="block2_bn")
}
block head(n) {
    input h
    Dense(n)
    BatchNormalization()
}
model m {
    input image: (8,)
    layer base = enc(trainable=false)
    base(training=false)
    tower(trainable=false)
    head(5)
    Dense(2)
}
train {
    model = m
    loss = mse
    epochs = 2
    phase top {
        unfreeze = base.layers[-1:]
        freeze = head1
        epochs = 1
    }
    phase blocks {
        unfreeze = ["block2_*", base.layers[0]]
    }
    phase all {
        unfreeze = [base, tower, head1]
        freeze = "*_bn"
    }
}
"""


def splits(spec: kspec.Spec) -> list[Params | None]:
    checked = spec.checked
    graph = checked.model()
    return [split(graph, flags) for flags in phase_flags(graph, checked.phases)]


def test_splits_per_phase() -> None:
    # enc 54 + 24 + 28, tower 15 + 15 + 24, head1 35 + 20, dense 12; moving statistics 12 + 12
    # + 10. main: head1 and dense train (45 + 12); top: base's last Dense, head1 frozen (28 +
    # 12); blocks: + block2_dense, block2_bn's gamma/beta, base's first Dense (15 + 12 + 54);
    # all: everything but the moving statistics, block2_bn frozen (227 - 34 - 12).
    got = splits(kspec.loads(RECIPE, "phases.kspec"))
    assert [p.trainable for p in got if p is not None] == [57, 40, 121, 181]
    assert {p.total for p in got if p is not None} == {227}


@pytest.mark.keras
def test_phase_splits_equal_keras() -> None:
    from kspec.keras.freeze import apply_flags

    spec = kspec.loads(RECIPE, "phases.kspec")
    checked = spec.checked
    graph = checked.model()
    model = spec.build()
    for flags in phase_flags(graph, checked.phases):
        apply_flags(model, flags)
        assert weight_counts(model) == split(graph, flags)


def error_of(train: str) -> tuple[str, str | None, int]:
    text = RECIPE[: RECIPE.index("train {")] + train
    with pytest.raises(KspecError) as err:
        kspec.loads(text, "phases.kspec").checked  # noqa: B018
    d = next(d for d in err.value.diagnostics if d.severity == "error")
    return d.message, d.help, d.span.line - text[: text.index("train {")].count("\n")


@pytest.mark.parametrize(
    ("train", "message", "help_"),
    [
        (
            "train {\n    loss = mse\n    phase p {\n        unfreeze = bse\n    }\n}\n",
            "'bse' selects no layer: the model has no step 'bse'; did you mean 'base'?",
            None,
        ),
        (
            "train {\n    loss = mse\n    phase p {\n"
            "        unfreeze = base.layers[7:]\n    }\n}\n",
            "'base.layers[7:]' selects no layer: 'enc' has 3 layers, so this slice is empty",
            None,
        ),
        (
            'train {\n    loss = mse\n    phase p {\n        freeze = "blok*"\n    }\n}\n',
            """'"blok*"' selects no layer: no layer name matches "blok*\"""",
            None,
        ),
        (
            "train {\n    loss = mse\n    phase p {\n        epoch = 3\n    }\n}\n",
            "unknown phase field 'epoch'",
            "did you mean 'epochs'?",
        ),
        (
            "train {\n    loss = mse\n    phase p {\n        seed = 3\n    }\n}\n",
            "unknown phase field 'seed'",
            "seed is set once for the whole run, in train",
        ),
    ],
)
def test_phase_errors(train: str, message: str, help_: str | None) -> None:
    got, got_help, line = error_of(train)
    assert got == message
    if help_ is not None:
        assert got_help == help_
    assert line == 4  # the line of the culprit: train { is line 1


def test_set_overrides_a_phase_field() -> None:
    spec = kspec.loads(RECIPE, "phases.kspec", {"train.top.epochs": 3})
    top = spec.checked.phases[0]
    assert top.fields["epochs"].value == 3
    with pytest.raises(KspecError) as err:
        kspec.loads(RECIPE, "phases.kspec", {"train.tp.epochs": 3}).checked  # noqa: B018
    assert err.value.diagnostics[0].help == "did you mean 'top'?"


APPLICATION_PHASES = """
model m {
    input image: (IMAGE, IMAGE, 3)
    layer base = BASE(include_top=false, weights=none, trainable=false)
    base(training=false)
    GlobalAveragePooling2D()
    Dense(5)
}
train {
    loss = mse
    phase top {
        unfreeze = base.layers[100:]
    }
    phase named {
        freeze = "PATTERN"
    }
    phase all {
        unfreeze = base
    }
}
"""


@pytest.mark.keras
@pytest.mark.parametrize(
    ("base", "image", "pattern"), [("MobileNetV2", 96, "block_1*"), ("DenseNet121", 64, "conv5_*")]
)
def test_application_layer_selectors_equal_keras(base: str, image: int, pattern: str) -> None:
    """`base.layers[100:]` and name patterns reach inside an application, in Keras's
    model.layers order, and the split in each phase is the one Keras counts."""
    from kspec.keras.freeze import apply_flags

    text = APPLICATION_PHASES.replace("BASE", base).replace("IMAGE", str(image))
    text = text.replace("PATTERN", pattern)
    spec = kspec.loads(text, "apps.kspec")
    checked = spec.checked
    graph = checked.model()
    model = spec.build()
    got = []
    for flags in phase_flags(graph, checked.phases):
        apply_flags(model, flags)
        got.append(split(graph, flags))
        assert weight_counts(model) == got[-1]
    assert len({p.trainable for p in got if p is not None}) == 4  # each phase changes the split


@pytest.mark.keras
@pytest.mark.parametrize("case", ["recipe", "application"])
def test_generated_flag_statements_give_keras_the_phase_flags(case: str) -> None:
    """The script's `layer.trainable = ...` lines between phases, run on the built model, give
    every layer at every depth the flag `kspec run` gives it."""
    import keras

    from kspec.codegen.phases import flag_statements
    from kspec.keras.freeze import apply_flags

    if case == "recipe":
        spec = kspec.loads(RECIPE, "phases.kspec")
    else:
        text = APPLICATION_PHASES.replace("BASE", "MobileNetV2").replace("IMAGE", "96")
        spec = kspec.loads(text.replace("PATTERN", "block_1*"), "apps.kspec")
    checked = spec.checked
    graph = checked.model()
    every = phase_flags(graph, checked.phases)
    script_model, run_model = spec.build(), spec.build()

    def trainable(model: Any) -> list[tuple[str, bool]]:
        out = []
        for layer in model.layers:
            out.append((layer.name, layer.trainable))
            if isinstance(layer, keras.Model):
                out += [(f"{layer.name}/{i}", t) for i, (_, t) in enumerate(trainable(layer))]
        return out

    apply_flags(run_model, every[0])
    assert trainable(script_model) == trainable(run_model)  # as built
    for before, after in itertools.pairwise(every):
        lines = flag_statements(graph, before, after)
        assert lines  # every phase here changes something
        exec("\n".join(lines), {"model": script_model})
        apply_flags(run_model, after)
        assert trainable(script_model) == trainable(run_model)
        assert weight_counts(script_model) == split(graph, after)
