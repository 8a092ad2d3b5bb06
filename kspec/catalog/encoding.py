"""Lookups and encodings: StringLookup, IntegerLookup, TextVectorization, Hashing, ...

Their output size depends on state (a vocabulary, bin boundaries) that is given as an argument
or learned by adapt() on the training split. The shape rules are Keras's compute_output_shape:
with the state unknown, so is the encoded axis, exactly as Keras reports it before adapt().
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any

from kspec.catalog.base import (
    LayerSpec,
    ParamError,
    Shape,
    ShapeError,
    boolean,
    describe,
    integer,
    number,
    optional,
    param,
    register,
    string,
)
from kspec.catalog.names import NUMERIC_DTYPES as NUMBERS
from kspec.catalog.record import entry
from kspec.catalog.shapes import show

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
STRINGS = ("string",)
# Integer ids first: the dtype the differential tests feed these layers.
IDS = ("int64", *(d for d in NUMBERS if d != "int64"))


def strings(value: Any) -> tuple[str, ...]:
    """A vocabulary of strings, as a list or tuple."""
    if not isinstance(value, tuple | list) or not value:
        raise ParamError(
            f"expected a non-empty list of strings, got {describe(value)}", code="wrong-kind"
        )
    return tuple(string(v) for v in value)


def integers(value: Any) -> tuple[int, ...]:
    """A vocabulary of integers, as a list or tuple."""
    if not isinstance(value, tuple | list) or not value:
        raise ParamError(
            f"expected a non-empty list of integers, got {describe(value)}", code="wrong-kind"
        )
    return tuple(integer(v) for v in value)


def floats(value: Any) -> tuple[float, ...]:
    """A list of numbers (idf_weights, bin_boundaries)."""
    if not isinstance(value, tuple | list):
        raise ParamError(f"expected a list of numbers, got {describe(value)}", code="wrong-kind")
    return tuple(number(v) for v in value)


def salt_value(value: Any) -> int | tuple[int, int]:
    """Hashing's salt: one integer or a pair of integers."""
    if isinstance(value, tuple | list) and len(value) == 2:
        return integer(value[0]), integer(value[1])
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ParamError(f"expected an integer or a pair of integers, got {describe(value)}")


def ngram(value: Any) -> int | tuple[int, ...]:
    """TextVectorization's ngrams: up to n, or the listed sizes."""
    if isinstance(value, tuple | list):
        return tuple(integer(v) for v in value)
    return integer(value)


def encoded(x: Shape, mode: str, depth: int | None, layer: str) -> Shape:
    """Keras's IndexLookup/Hashing output shape: `one_hot` adds an axis (replacing a last axis
    of 1), the other modes encode the last axis into `depth` bins."""
    if mode == "int":
        return x
    if mode == "one_hot":
        return (*x[:-1], depth) if x and x[-1] == 1 else (*x, depth)
    if not x:
        raise ShapeError(
            f"{layer} with output_mode='{mode}' needs at least one axis to encode, got a scalar",
            help="declare the input with one axis, e.g. input tokens: (1,)",
        )
    return (*x[:-1], depth)


@entry
class _IndexLookup(LayerSpec):
    """StringLookup and IntegerLookup: Keras's IndexLookup with a given or adapted vocabulary."""

    family = "encoding"

    if TYPE_CHECKING:  # declared by each subclass, with its own token type
        max_tokens: int | None
        num_oov_indices: int
        mask_token: Any
        oov_token: Any
        vocabulary: tuple[Any, ...] | None
        idf_weights: tuple[float, ...] | None
        invert: bool
        output_mode: str
        pad_to_max_tokens: bool

    def validate(self) -> None:
        max_tokens = self.max_tokens
        if max_tokens is not None and max_tokens <= 1:
            raise ParamError(f"max_tokens must be > 1, got {max_tokens}", arg="max_tokens")
        if self.pad_to_max_tokens and max_tokens is None:
            raise ParamError("pad_to_max_tokens=true needs max_tokens", arg="pad_to_max_tokens")
        mode = self.output_mode
        if self.invert and mode != "int":
            raise ParamError(
                f"invert=true needs output_mode='int', got '{mode}'", arg="output_mode"
            )
        idf = self.idf_weights
        if idf is not None and mode != "tf_idf":
            raise ParamError(
                "idf_weights is only used with output_mode='tf_idf'", arg="idf_weights"
            )
        vocabulary = self.tokens()
        if vocabulary is None:
            return
        repeated = sorted({t for t in vocabulary if vocabulary.count(t) > 1}, key=str)
        if repeated:
            raise ParamError(
                f"the vocabulary repeats {', '.join(map(repr, repeated))}",
                arg="vocabulary",
                help="list each term once",
            )
        mask = self.mask_token
        if mask is not None and mask in vocabulary:
            raise ParamError(
                f"the vocabulary holds the mask token {mask!r} after its start",
                arg="vocabulary",
                help="leave the mask and OOV tokens out of the vocabulary; Keras adds them",
            )
        if self.invert and self.oov_token in vocabulary:
            raise ParamError(
                f"the vocabulary holds the OOV token {self.oov_token!r}",
                arg="vocabulary",
                help="leave the mask and OOV tokens out of the vocabulary; Keras adds them",
            )
        size = self.vocabulary_size()
        if max_tokens is not None and size is not None and size > max_tokens:
            raise ParamError(
                f"the vocabulary has {size} entries with the mask and OOV indices, more than "
                f"max_tokens={max_tokens}",
                arg="vocabulary",
            )
        if mode == "tf_idf":
            if idf is None:
                raise ParamError(
                    "output_mode='tf_idf' with a vocabulary needs idf_weights",
                    arg="idf_weights",
                    help=f"add idf_weights=[...], one weight for each of the {len(vocabulary)} "
                    "terms",
                )
            if len(idf) != len(vocabulary):
                raise ParamError(
                    f"idf_weights has {len(idf)} values for {len(vocabulary)} vocabulary terms",
                    arg="idf_weights",
                )

    def _token_start(self) -> int:
        """Keras's _token_start_index: the mask index (int mode only), then the OOV indices."""
        mask = self.mask_token is not None and self.output_mode == "int"
        return int(mask) + int(self.num_oov_indices)

    def tokens(self) -> tuple[Any, ...] | None:
        """The vocabulary without a leading [mask, OOV...] prefix, which Keras strips."""
        vocabulary: tuple[Any, ...] | None = self.vocabulary
        if vocabulary is None:
            return None
        start = self._token_start()
        mask = self.mask_token is not None and self.output_mode == "int"
        special = (self.mask_token,) * mask + (self.oov_token,) * (start - mask)
        return vocabulary[start:] if vocabulary[:start] == special else vocabulary

    def vocabulary_size(self) -> int | None:
        tokens = self.tokens()
        return None if tokens is None else len(tokens) + self._token_start()

    def depth(self) -> int | None:
        """The encoded axis: max_tokens when padded to it, else the vocabulary size."""
        if self.pad_to_max_tokens:  # validate() made sure max_tokens is set
            return self.max_tokens
        return self.vocabulary_size()

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return encoded(x, self.output_mode, self.depth(), self.layer_name())

    def needs_adapt(self) -> bool:
        return self.vocabulary is None


@register
@entry
class StringLookup(_IndexLookup):
    """Maps strings to integer indices (or encodings) through a vocabulary, given or adapted."""

    keras_class = "keras.layers.StringLookup"
    examples = (
        ({"vocabulary": ["a", "b", "c"]}, (3,)),
        ({"vocabulary": ["a", "b"], "output_mode": "one_hot"}, (1,)),
        ({"vocabulary": ["a", "b"], "output_mode": "one_hot", "num_oov_indices": 2}, (4,)),
        ({"vocabulary": ["x", "y"], "output_mode": "multi_hot", "mask_token": ""}, (2, 5)),
        ({"vocabulary": ["[UNK]", "x", "y"], "output_mode": "count"}, (6,)),
        (
            {"vocabulary": ["a", "b"], "output_mode": "tf_idf", "idf_weights": [0.5, 0.25]},
            (None,),
        ),
        ({"max_tokens": 10, "output_mode": "multi_hot", "pad_to_max_tokens": True}, (3,)),
        ({"output_mode": "count"}, (3,)),
        ({"max_tokens": 100}, (None, 4)),
        ({"vocabulary": ["a", "b"], "invert": True}, (3,)),
        ({"vocabulary": ["", "[UNK]", "a"], "mask_token": ""}, (2,)),
        ({"vocabulary": ["[UNK]", "a"], "mask_token": "", "output_mode": "multi_hot"}, (2,)),
    )

    max_tokens: int | None = param(None, convert=optional(integer))
    num_oov_indices: int = param(1, convert=integer, minimum=0)
    mask_token: str | None = param(None, convert=optional(string))
    oov_token: str = param("[UNK]", convert=string)
    vocabulary: tuple[str, ...] | None = param(None, convert=optional(strings))
    idf_weights: tuple[float, ...] | None = param(None, convert=optional(floats))
    invert: bool = param(False, convert=boolean)
    output_mode: str = param("int", choices=OUTPUT_MODES)
    pad_to_max_tokens: bool = param(False, convert=boolean)
    encoding: str = param("utf-8", convert=string)

    def input_dtypes(self) -> tuple[str, ...]:
        return IDS if self.invert else STRINGS

    def output_dtype(self, dtype: str | None) -> str | None:
        if self.output_mode != "int":
            return "float32"
        # Keras's compute_output_spec says int64 for invert=true too, but strings come out.
        return "string" if self.invert else "int64"


@register
@entry
class IntegerLookup(_IndexLookup):
    """Maps integer ids to contiguous indices (or encodings) through a vocabulary."""

    keras_class = "keras.layers.IntegerLookup"
    examples = (
        ({"vocabulary": [12, 36, 1138, 42]}, (3,)),
        ({"vocabulary": [1, 2, 3], "output_mode": "one_hot", "mask_token": 0}, (3,)),
        ({"vocabulary": [1, 2, 3], "output_mode": "multi_hot", "num_oov_indices": 0}, (4,)),
        ({"vocabulary": [-1, 5, 6], "output_mode": "count"}, (2, 3)),
        ({"max_tokens": 8, "output_mode": "one_hot", "pad_to_max_tokens": True}, (1,)),
        ({"vocabulary": [7, 8], "invert": True}, (None,)),
        ({}, (5,)),
    )

    max_tokens: int | None = param(None, convert=optional(integer))
    num_oov_indices: int = param(1, convert=integer, minimum=0)
    mask_token: int | None = param(None, convert=optional(integer))
    oov_token: int = param(-1, convert=integer)
    vocabulary: tuple[int, ...] | None = param(None, convert=optional(integers))
    idf_weights: tuple[float, ...] | None = param(None, convert=optional(floats))
    invert: bool = param(False, convert=boolean)
    output_mode: str = param("int", choices=OUTPUT_MODES)
    pad_to_max_tokens: bool = param(False, convert=boolean)
    oov_method: str = param("floormod", choices=("floormod", "farmhash"))

    def input_dtypes(self) -> tuple[str, ...]:
        return IDS

    def output_dtype(self, dtype: str | None) -> str | None:
        return "int64" if self.output_mode == "int" else "float32"


@register
@entry
class TextVectorization(LayerSpec):
    """Splits strings into tokens and maps them to indices or bag-of-words encodings."""

    keras_class = "keras.layers.TextVectorization"
    family = "encoding"
    examples = (
        ({"vocabulary": ["the", "cat"]}, (1,)),
        ({"vocabulary": ["the", "cat"], "output_sequence_length": 7}, ()),
        ({"vocabulary": ["a", "b"], "output_mode": "multi_hot"}, (1,)),
        ({"vocabulary": ["a", "b"], "output_mode": "multi_hot"}, ()),
        ({"vocabulary": ["a", "b"], "output_mode": "count", "split": None}, (1,)),
        (
            {"vocabulary": ["a", "b"], "ngrams": 2, "output_mode": "tf_idf", "idf_weights": [1, 2]},
            (1,),
        ),
        ({"max_tokens": 20, "output_sequence_length": 5, "standardize": "lower"}, (1,)),
        ({"max_tokens": 20, "output_mode": "count", "pad_to_max_tokens": True}, (1,)),
        ({"split": "character", "standardize": None}, ()),
    )

    max_tokens: int | None = param(None, convert=optional(integer))
    standardize: str | None = param(
        "lower_and_strip_punctuation",
        choices=("lower_and_strip_punctuation", "lower", "strip_punctuation"),
    )
    split: str | None = param("whitespace", choices=("whitespace", "character"))
    ngrams: int | tuple[int, ...] | None = param(None, convert=optional(ngram))
    output_mode: str = param("int", choices=OUTPUT_MODES[:1] + OUTPUT_MODES[2:])
    output_sequence_length: int | None = param(None, convert=optional(integer), minimum=1)
    pad_to_max_tokens: bool = param(False, convert=boolean)
    vocabulary: tuple[str, ...] | None = param(None, convert=optional(strings))
    idf_weights: tuple[float, ...] | None = param(None, convert=optional(floats))
    encoding: str = param("utf-8", convert=string)

    def validate(self) -> None:
        if self.max_tokens is not None and self.max_tokens <= 1:
            raise ParamError(f"max_tokens must be > 1, got {self.max_tokens}", arg="max_tokens")
        if self.output_sequence_length is not None and self.output_mode != "int":
            raise ParamError(
                "output_sequence_length is only used with output_mode='int'",
                arg="output_sequence_length",
            )
        if self.pad_to_max_tokens and self.max_tokens is None:
            raise ParamError("pad_to_max_tokens=true needs max_tokens", arg="pad_to_max_tokens")
        if self.idf_weights is not None and self.output_mode != "tf_idf":
            raise ParamError(
                "idf_weights is only used with output_mode='tf_idf'", arg="idf_weights"
            )
        if self.vocabulary is not None:
            size = self.vocabulary_size()
            if self.max_tokens is not None and size is not None and size > self.max_tokens:
                raise ParamError(
                    f"the vocabulary has {size} entries with the mask and OOV indices, more "
                    f"than max_tokens={self.max_tokens}",
                    arg="vocabulary",
                )
            if self.output_mode == "tf_idf" and (
                self.idf_weights is None or len(self.idf_weights) != len(self.vocabulary)
            ):
                raise ParamError(
                    "output_mode='tf_idf' with a vocabulary needs one idf_weights value per term",
                    arg="idf_weights",
                )

    def vocabulary_size(self) -> int | None:
        """Keras's inner StringLookup: mask token '' in int mode, one OOV index."""
        if self.vocabulary is None:
            return None
        special = ("", "[UNK]") if self.output_mode == "int" else ("[UNK]",)
        tokens = self.vocabulary
        if tokens[: len(special)] == special:
            tokens = tokens[len(special) :]
        return len(tokens) + len(special)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        if self.split is not None and x not in ((), (1,)):
            raise ShapeError(
                f"TextVectorization splits one string per example: the input must be () or "
                f"(1,), got {show(x)}",
                help="declare the input as input text: (1,) as string",
            )
        if self.output_mode == "int":
            return (self.output_sequence_length,)
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        if self.split is None:
            return encoded(x or (1,), self.output_mode, depth, "TextVectorization")
        return encoded((*x, None), self.output_mode, depth, "TextVectorization")

    def input_dtypes(self) -> tuple[str, ...]:
        return STRINGS

    def output_dtype(self, dtype: str | None) -> str | None:
        return "int64" if self.output_mode == "int" else "float32"

    def needs_adapt(self) -> bool:
        return self.vocabulary is None


@register
@entry
class CategoryEncoding(LayerSpec):
    """Encodes integer ids below num_tokens as one-hot, multi-hot or count vectors."""

    keras_class = "keras.layers.CategoryEncoding"
    family = "encoding"
    positional = ("num_tokens", "output_mode")
    examples = (
        ({"num_tokens": 5}, (3,)),
        ({"num_tokens": 4, "output_mode": "one_hot"}, (1,)),
        ({"num_tokens": 4, "output_mode": "one_hot"}, (3,)),
        ({"num_tokens": 4, "output_mode": "one_hot"}, ()),
        ({"num_tokens": 6, "output_mode": "count"}, (2, 3)),
    )

    num_tokens: int | None = param(None, convert=optional(integer), minimum=1)
    output_mode: str = param("multi_hot", choices=("multi_hot", "one_hot", "count"))

    def validate(self) -> None:
        if self.num_tokens is None:  # Keras's default, which its constructor then refuses
            raise ParamError(
                "CategoryEncoding needs num_tokens, the number of ids it encodes",
                help="e.g. CategoryEncoding(num_tokens=10)",
                code="missing-argument",
            )

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return encoded(x, self.output_mode, self.num_tokens, "CategoryEncoding")

    def input_dtypes(self) -> tuple[str, ...]:
        return IDS


@register
@entry
class Hashing(LayerSpec):
    """Hashes strings or integers into num_bins bins (FarmHash64, or SipHash64 with a salt)."""

    keras_class = "keras.layers.Hashing"
    family = "encoding"
    positional = ("num_bins", "mask_value", "salt", "output_mode")
    examples = (
        ({"num_bins": 4}, (3,)),
        ({"num_bins": 4, "mask_value": "", "salt": 133}, (2,)),
        ({"num_bins": 8, "output_mode": "one_hot"}, (1,)),
        ({"num_bins": 8, "output_mode": "one_hot"}, (3,)),
        ({"num_bins": 3, "output_mode": "multi_hot", "salt": (1, 2)}, (2, 3)),
        ({"num_bins": 5, "output_mode": "count"}, (None,)),
    )

    num_bins: int = param(convert=integer, minimum=1)
    mask_value: Any = param(None)
    salt: int | tuple[int, int] | None = param(None, convert=optional(salt_value))
    output_mode: str = param("int", choices=("int", "one_hot", "multi_hot", "count"))

    def validate(self) -> None:
        if self.mask_value is not None and not isinstance(self.mask_value, str | int):
            raise ParamError(
                f"mask_value must be a string or an integer, got {describe(self.mask_value)}",
                arg="mask_value",
            )

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        # Keras's compute_output_spec: every encoding replaces the last axis, one_hot included.
        if self.output_mode == "int":
            return x
        return (*x[:-1], self.num_bins)

    def input_dtypes(self) -> tuple[str, ...]:
        return (*STRINGS, *NUMBERS)

    def output_dtype(self, dtype: str | None) -> str | None:
        return "int64" if self.output_mode == "int" else "float32"


@register
@entry
class HashedCrossing(LayerSpec):
    """Crosses two categorical features by hashing each pair of values into num_bins bins."""

    keras_class = "keras.layers.HashedCrossing"
    family = "encoding"
    takes_list = True
    positional = ("num_bins", "output_mode")
    examples = (
        ({"num_bins": 4}, [(1,), (1,)]),
        ({"num_bins": 6, "output_mode": "one_hot"}, [(1,), (1,)]),
    )

    num_bins: int = param(convert=integer, minimum=1)
    output_mode: str = param("int", choices=("int", "one_hot"))

    def compute_output_shape(self, x: Any, **tensors: Any) -> Shape:
        if len(x) != 2:
            raise ShapeError(f"HashedCrossing crosses two tensors, got {len(x)}")
        if any(s != (1,) for s in x):
            raise ShapeError(
                f"HashedCrossing inputs must each be (1,), got {', '.join(show(s) for s in x)}",
                help="declare each feature as input f: (1,) as string (or as int64)",
            )
        return (self.num_bins,) if self.output_mode == "one_hot" else (1,)

    def input_dtypes(self) -> tuple[str, ...]:
        return (*STRINGS, *(d for d in IDS if d.startswith(("int", "uint"))))

    def output_dtype(self, dtype: str | None) -> str | None:
        return "int64" if self.output_mode == "int" else "float32"


@register
@entry
class Discretization(LayerSpec):
    """Buckets numbers by bin_boundaries, given or adapted (num_bins quantiles)."""

    keras_class = "keras.layers.Discretization"
    family = "encoding"
    positional = ("bin_boundaries", "num_bins", "epsilon", "output_mode")
    examples = (
        ({"bin_boundaries": [0.0, 1.0, 2.0]}, (3,)),
        ({"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}, (1,)),
        ({"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}, (4,)),
        ({"bin_boundaries": [-1.0, 1.0], "output_mode": "multi_hot"}, (5,)),
        ({"bin_boundaries": [0.5], "output_mode": "count"}, (2, 3)),
        ({"num_bins": 4}, (3,)),
        ({"num_bins": 4, "epsilon": 0.001, "output_mode": "count"}, (6,)),
    )

    bin_boundaries: tuple[float, ...] | None = param(None, convert=optional(floats))
    num_bins: int | None = param(None, convert=optional(integer), minimum=0)
    epsilon: float = param(0.01, convert=number, minimum=0)
    output_mode: str = param("int", choices=("int", "one_hot", "multi_hot", "count"))

    def validate(self) -> None:
        if (self.bin_boundaries is None) == (self.num_bins is None):
            raise ParamError(
                "Discretization takes bin_boundaries or num_bins (to adapt), exactly one",
                arg="num_bins" if self.num_bins is not None else None,
                help="e.g. Discretization(bin_boundaries=[0.0, 1.0]) or Discretization(num_bins=4)",
            )
        b = self.bin_boundaries
        if b is not None and any(lo > hi for lo, hi in pairwise(b)):
            raise ParamError("bin_boundaries must be sorted", arg="bin_boundaries")

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        if self.output_mode == "int":
            return x
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        if self.output_mode == "one_hot":
            return (*x[:-1], depth) if x and x[-1] == 1 else (*x, depth)
        if not x:
            raise ShapeError(
                f"Discretization with output_mode='{self.output_mode}' needs at least one axis "
                "to encode, got a scalar"
            )
        # Keras drops the first axis after the batch, not the last (discretization.py).
        return (*x[1:], depth)

    def output_dtype(self, dtype: str | None) -> str | None:
        return "int32" if self.output_mode == "int" else "float32"

    def needs_adapt(self) -> bool:
        return self.bin_boundaries is None
