"""The state of one function body while the code generator writes it (model.py and steps.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kspec.check.evaluate import Scope
from kspec.check.graph import Tensor
from kspec.codegen.pycode import For, Function
from kspec.codegen.pynames import Names


@dataclass
class Frame:
    """One execution of a function body: the model's, or one block instance's."""

    fn: Function
    names: Names
    prefix: str
    scope: Scope
    chain_var: str
    sequential: str | None = None  # the variable listing a Sequential model's layers
    vars: dict[int, list[str]] = field(default_factory=dict)  # id(Tensor) -> variables holding it
    current: Any = None
    current_code: str | None = None  # the variable an implicit step reads
    outputs: list[tuple[str | None, Any, str]] = field(default_factory=list)
    loops: list[tuple[For, int]] = field(default_factory=list)
    into: list[list[Any]] = field(default_factory=list)
    block_inputs: list[Tensor] | None = None
    stmt: Any = None
