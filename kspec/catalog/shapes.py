"""Shape rules shared by several catalog entries, written once."""

from __future__ import annotations

from collections.abc import Sequence

from kspec.catalog.base import Dim, ParamError, Shape, ShapeError, describe, integer


def show(shape: Shape | None) -> str:
    """A shape as Keras prints it, with the batch axis: (None, 28, 28, 1)."""
    if shape is None:
        return "?"
    dims = ", ".join("None" if d is None else str(d) for d in (None, *shape))
    return f"({dims})"


def rank_words(rank: int) -> str:
    return "a scalar" if rank == 0 else f"a {rank}-D input"


def expect_rank(x: Shape, rank: int, layout: str, layer: str = "") -> Shape:
    """`x` if it has `rank` axes (batch excluded), else a ShapeError naming the layout."""
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
        raise ShapeError(
            f"{who}expects a {rank + 1}-D or higher input, got {got}", help=_rank_help(len(x), rank)
        )
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
        extent = f"window {kernel}" + (
            f" (dilation {dilation}, spanning {span})" if dilation > 1 else ""
        )
        raise ShapeError(
            f"{extent} is larger than the input ({size})",
            help="use padding=same, a smaller kernel, or fewer downsampling steps before it",
        )
    return length


def deconv_length(
    size: Dim, kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> Dim:
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


# -- channels and spatial axes (conv, pooling, cropping, padding, upsampling) ---------------
SPATIAL_AXES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def spatial_layout(rank: int, data_format: str | None) -> str:
    """The axes Keras expects, in words: (batch, height, width, channels)."""
    axes = SPATIAL_AXES[rank]
    inner = ("channels", *axes) if data_format == "channels_first" else (*axes, "channels")
    return f"(batch, {', '.join(inner)})"


def split_channels(x: Shape, rank: int, data_format: str | None, layer: str) -> tuple[Shape, Dim]:
    """Check `x` has `rank` spatial axes plus channels; return (spatial dims, channels).

    `data_format` None means Keras's default image_data_format, channels_last.
    """
    expect_rank(x, rank + 1, spatial_layout(rank, data_format), layer)
    if data_format == "channels_first":
        return x[1:], x[0]
    return x[:-1], x[-1]


def join_channels(spatial: Sequence[Dim], channels: Dim, data_format: str | None) -> Shape:
    """The inverse of split_channels: spatial dims and channels in `data_format` order."""
    if data_format == "channels_first":
        return (channels, *spatial)
    return (*spatial, channels)


def known_channels(x: Shape, rank: int, data_format: str | None, layer: str) -> tuple[Shape, int]:
    """split_channels for layers whose weights depend on the channel count, which must be known."""
    spatial, channels = split_channels(x, rank, data_format, layer)
    if channels is None:
        raise ShapeError(
            f"{layer} needs a known number of channels, got {show(x)}",
            help="give the channels axis a fixed size",
        )
    return spatial, channels


def window_lengths(
    x: Shape,
    spatial: Sequence[Dim],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int] | None,
    padding: str,
) -> tuple[Dim, ...]:
    """conv_length on every spatial axis ("causal" counts as "same"); errors name the axis."""
    names = SPATIAL_AXES[len(spatial)]
    dilation = dilation or (1,) * len(spatial)
    padding = "same" if padding == "causal" else padding
    out: list[Dim] = []
    for axis, n, k, s, d in zip(names, spatial, kernel, strides, dilation, strict=True):
        try:
            out.append(conv_length(n, k, s, d, padding))
        except ShapeError as e:
            raise ShapeError(f"{e.message} on the {axis} axis of {show(x)}", help=e.help) from None
    return tuple(out)


# -- axes counted as Keras counts them (batch included) and shape-valued arguments ---------
def axis_index(axis: int, x: Shape, layer: str) -> int:
    """Keras's `axis` (the batch axis is 0, negatives count from the end) as a position in
    (batch, *x); raise a ShapeError when the input has no such axis."""
    rank = len(x) + 1
    if not -rank <= axis < rank:
        raise ShapeError(
            f"{layer}: axis {axis} is out of range for a {rank}-D input {show(x)}",
            help=f"use an axis from {-rank} to {rank - 1}",
        )
    return axis % rank


def axis_dims(axes: int | Sequence[int], x: Shape, layer: str) -> dict[int, Dim]:
    """Positions in (batch, *x) of one or several Keras axes, with their sizes (batch is None);
    a ShapeError when one is out of range or named twice."""
    out: dict[int, Dim] = {}
    for axis in (axes,) if isinstance(axes, int) else axes:
        i = axis_index(axis, x, layer)
        if i in out:
            raise ShapeError(f"{layer}: axis {axis} names the same axis twice in {show(x)}")
        out[i] = (None, *x)[i]
    return dict(sorted(out.items()))


def dims(value: object) -> tuple[int | None, ...]:
    """A shape-like argument: an integer or a tuple of integers and nones (noise_shape)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, tuple | list):
        return tuple(None if v is None else integer(v) for v in value)
    raise ParamError(
        f"expected a tuple of integers or none, got {describe(value)}", code="wrong-kind"
    )


def axes(value: object) -> int | tuple[int, ...]:
    """An `axis` argument that takes one axis or several: an integer, or a tuple of integers."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, tuple | list) and value:
        return tuple(integer(v) for v in value)
    raise ParamError(
        f"expected an axis or a tuple of axes, got {describe(value)}", code="wrong-kind"
    )
