"""`@entry` classes behave as the `@dataclass(frozen=True, kw_only=True)` they replace.

Each catalog entry (layers, applications, kspec's own steps, keras.ops) is compared with a twin
made by `dataclasses.make_dataclass` from the same fields: repr, equality and hashing agree on
the entry's own examples, and the frozen and keyword rules hold.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from kspec.catalog import APPLICATIONS, CATALOG, KSPEC_STEPS, ParamError
from kspec.catalog.core import Dense
from kspec.catalog.opbase import OPS
from kspec.catalog.record import Record, entry

ENTRIES: dict[str, type[Any]] = {
    **CATALOG,
    **APPLICATIONS,
    **KSPEC_STEPS,
    **{f"ops.{name}": cls for name, cls in OPS.items()},
}


def _twin(cls: type[Any]) -> type[Any]:
    fields = [
        (
            f.name,
            f.type,
            dataclasses.field(default=None, compare=f.compare, hash=f.hash, repr=f.repr),
        )
        for f in dataclasses.fields(cls)
    ]
    twin = dataclasses.make_dataclass(cls.__name__, fields, frozen=True, kw_only=True)
    twin.__qualname__ = cls.__qualname__
    return twin


def _instances(cls: type[Any]) -> list[Any]:
    examples = [kwargs for kwargs, _ in getattr(cls, "op_examples", ())]
    examples += [kwargs for kwargs, _ in cls.examples]
    out = []
    for kwargs in examples or [{}]:
        try:
            out.append(cls.create((), kwargs))
        except ParamError:  # an op example's keyword may be an operand, not an argument
            continue
    return out


def _hash(x: Any) -> Any:
    try:
        return hash(x)
    except TypeError as e:
        return type(e)


def _values(x: Any) -> dict[str, Any]:
    return {f.name: getattr(x, f.name) for f in dataclasses.fields(x)}


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_an_entry_behaves_as_its_dataclass_twin(name: str) -> None:
    cls = ENTRIES[name]
    twin = _twin(cls)
    made = _instances(cls)
    assert made or cls.required(), f"{name}: no example could be created"
    twins = [twin(**_values(x)) for x in made]
    for x, t in zip(made, twins, strict=True):
        assert repr(x) == repr(t)
        again = dataclasses.replace(x)
        assert again == x and again is not x
        assert _hash(again) == _hash(x)
        with pytest.raises(dataclasses.FrozenInstanceError):
            x.name_of_nothing = 1
        with pytest.raises(dataclasses.FrozenInstanceError):
            del x.name_of_nothing
    for i, (a, ta) in enumerate(zip(made, twins, strict=True)):
        for b, tb in zip(made[i:], twins[i:], strict=True):
            assert (a == b) == (ta == tb)
            if ta == tb:
                assert _hash(a) == _hash(b)


def test_defaults_are_converted_and_arguments_checked() -> None:
    dense = Dense(units=3)
    assert dense.kernel_initializer == Dense.create((), {"units": 3}).kernel_initializer
    assert repr(dense).startswith("Dense(units=3, activation=None, use_bias=True")
    assert dense != Dense(units=4) and dense == Dense(units=3)
    assert hash(dense) == hash(Dense(units=3))
    assert dense != (3,) and not dense == "Dense"
    with pytest.raises(TypeError, match="missing required keyword argument 'units'"):
        Dense()
    with pytest.raises(TypeError, match="unexpected argument 'unit'"):
        Dense(units=3, unit=4)
    with pytest.raises(dataclasses.FrozenInstanceError, match="units"):
        dense.units = 5


def test_a_field_left_out_of_comparison_is_left_out() -> None:
    add = OPS["add"]
    a = add(scalars=((1, 3),), written_as_operator=True)
    b = add(scalars=((1, 3),), written_as_operator=False)
    assert a == b and hash(a) == hash(b)
    assert a != add(scalars=((1, 4),))


def test_defaults_from_factories_and_entries_made_at_run_time() -> None:
    from kspec.catalog.record import make_entry

    made = make_entry(
        "Made",
        [("items", list, dataclasses.field(default_factory=list)), ("n", int, 2)],
        Record,
        {"__module__": __name__},
    )
    one, two = made(), made()
    assert one.items == [] and one.items is not two.items and one.n == 2
    assert repr(made(n=3)) == "Made(items=[], n=3)"
    assert [f.name for f in dataclasses.fields(made)] == ["items", "n"]


def test_entry_refuses_a_class_that_is_not_a_record() -> None:
    class Plain:
        x: int = 1

    with pytest.raises(TypeError, match="Record"):
        entry(Plain)
