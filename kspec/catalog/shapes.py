"""Shape rules shared by several catalog entries, written once."""

from __future__ import annotations

from collections.abc import Sequence

from kspec.catalog.base import Dim, Shape, ShapeError


def show(shape: Shape | None) -> str:
    """A shape as Keras prints it, with the batch axis: (None, 28, 28, 1)."""
    if shape is None:
        return "?"
    dims = ", ".join("None" if d is None else str(d) for d in (None, *shape))
    return f"({dims})"


def rank_words(rank: int) -> str:
    return "a scalar" if rank == 0 else f"a {rank}-D input"


def expect_rank(x: Shape, rank: int, layout: str, layer: str = "") -> Shape:
    """Return `x` if it has `rank` axes (batch excluded), else raise a ShapeError naming the layout."""
    if len(x) != rank:
        who = f"{layer} " if layer else ""
        raise ShapeError(
            f"{who}expects a {rank + 1}-D input {layout}, got {show(x)}",
            help=_rank_help(len(x), rank),
        )
    return x


def expect_min_rank(x: Shape, rank: int, layer: str = "") -> Shape:
    if len(x) < rank:
        who = f"{layer} " if layer else ""
        got = "a scalar" if not x else show(x)
        raise ShapeError(f"{who}expects a {rank + 1}-D or higher input, got {got}",
                         help=_rank_help(len(x), rank))  # fmt: skip
    return x


def _rank_help(got: int, want: int) -> str | None:
    if got > want:
        return "add Flatten() or a global pooling layer before it" if want == 1 else None
    if got < want:
        return "add Reshape(...) before it to add the missing axes"
    return None


def expect_known(dim: Dim, what: str) -> int:
    if dim is None:
        raise ShapeError(f"{what} must be known statically, got None")
    return dim


def conv_length(size: Dim, kernel: int, stride: int, dilation: int, padding: str) -> Dim:
    """Output length along one axis of a convolution or pooling window."""
    if size is None:
        return None
    if padding == "same":
        return -(-size // stride)
    span = dilation * (kernel - 1) + 1
    length = (size - span) // stride + 1
    if length <= 0:
        extent = f"window {kernel}" + (f" (dilation {dilation}, spanning {span})" if dilation > 1 else "")
        raise ShapeError(
            f"{extent} is larger than the input ({size})",
            help="use padding=same, a smaller kernel, or fewer downsampling steps before it",
        )
    return length


def deconv_length(size: Dim, kernel: int, stride: int, dilation: int, padding: str,
                  output_padding: int | None) -> Dim:  # fmt: skip
    """Output length of a transposed convolution (Keras's compute_conv_transpose_output_shape)."""
    if size is None:
        return None
    kernel = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return size * stride + max(kernel - stride, 0)
        return size * stride
    pad = kernel // 2 if padding == "same" else 0
    return (size - 1) * stride + kernel - 2 * pad + output_padding


def broadcast_equal(shapes: Sequence[Shape], layer: str) -> Shape:
    """The common shape of element-wise merge inputs (Add, Multiply, ...), None where unknown."""
    first = shapes[0]
    for other in shapes[1:]:
        if len(other) != len(first):
            raise ShapeError(
                f"{layer} inputs must have the same rank, got {show(first)} and {show(other)}"
            )
    out: list[Dim] = []
    for axis, dims in enumerate(zip(*shapes, strict=True)):
        known = {d for d in dims if d is not None}
        known_non1 = {d for d in known if d != 1}
        if len(known_non1) > 1:
            listed = " and ".join(show(s) for s in shapes)
            raise ShapeError(
                f"{layer} inputs have incompatible shapes {listed} (axis {axis + 1})",
                help="make both branches the same shape, e.g. a 1x1 Conv or Dense on the shortcut",
            )
        if known_non1:
            out.append(known_non1.pop())
        elif None in dims:
            out.append(None)
        else:
            out.append(1 if known else None)
    return tuple(out)


def product(dims: Sequence[Dim]) -> Dim:
    total = 1
    for d in dims:
        if d is None:
            return None
        total *= d
    return total
