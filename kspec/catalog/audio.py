"""Audio spectrograms: MelSpectrogram (no weights), STFTSpectrogram (Fourier kernels as weights)."""

from __future__ import annotations

from typing import Any

from kspec.catalog.base import (
    LayerSpec,
    ParamError,
    Params,
    Shape,
    boolean,
    integer,
    number,
    optional,
    param,
    register,
)
from kspec.catalog.preprocessing import DATA_FORMATS
from kspec.catalog.record import entry
from kspec.catalog.shapes import conv_length, expect_rank, split_channels

# Windows scipy.signal.get_window makes without parameters (Keras validates with it).
WINDOWS = ("hann", "hamming", "blackman", "bartlett", "boxcar", "triang", "parzen", "bohman",
           "nuttall", "cosine", "flattop", "barthann", "blackmanharris")  # fmt: skip


@register
@entry
class MelSpectrogram(LayerSpec):
    """Mel-scaled power spectrogram of 1-D signals: (samples,) -> (num_mel_bins, frames)."""

    keras_class = "keras.layers.MelSpectrogram"
    family = "audio"
    positional = ("fft_length", "sequence_stride", "sequence_length", "window", "sampling_rate",
                  "num_mel_bins")  # fmt: skip
    examples = (
        ({}, (16000,)),
        ({"fft_length": 256, "sequence_stride": 64, "num_mel_bins": 20}, (1000,)),
        ({"fft_length": 256, "sequence_stride": 64, "sequence_length": 128}, (1001,)),
        ({"fft_length": 512, "power_to_db": False, "window": "hamming"}, (None,)),
    )

    fft_length: int = param(2048, convert=integer, minimum=1)
    sequence_stride: int = param(512, convert=integer, minimum=1)
    sequence_length: int | None = param(None, convert=optional(integer), minimum=1)
    window: str | None = param("hann", choices=("hann", "hamming"))
    sampling_rate: int = param(16000, convert=integer, minimum=1)
    num_mel_bins: int = param(128, convert=integer, minimum=1)
    min_freq: float = param(20.0, convert=number, minimum=0)
    max_freq: float | None = param(None, convert=optional(number), minimum=0)
    power_to_db: bool = param(True, convert=boolean)
    top_db: float = param(80.0, convert=number)
    mag_exp: float = param(2.0, convert=number)
    min_power: float = param(1e-10, convert=number)
    ref_power: float = param(1.0, convert=number)

    def validate(self) -> None:
        if self.sequence_length is not None and self.sequence_length > self.fft_length:
            raise ParamError(
                f"sequence_length ({self.sequence_length}) must be <= fft_length "
                f"({self.fft_length})",
                arg="sequence_length",
            )

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        (samples,) = expect_rank(x, 1, "(samples,)", "MelSpectrogram")
        # keras/src/layers/preprocessing/mel_spectrogram.py: frames of a centered STFT.
        frames = (
            None
            if samples is None
            else (samples + self.sequence_stride + 1) // (self.sequence_stride)
        )
        return (self.num_mel_bins, frames)


@register
@entry
class STFTSpectrogram(LayerSpec):
    """Short-time Fourier transform of (time, channels) signals, as a convolution."""

    keras_class = "keras.layers.STFTSpectrogram"
    family = "audio"
    positional = ("mode", "frame_length", "frame_step", "fft_length", "window", "periodic",
                  "scaling", "padding", "expand_dims", "data_format")  # fmt: skip
    examples = (
        ({}, (1000, 1)),
        ({"mode": "stft", "frame_length": 64, "frame_step": 16}, (500, 2)),
        ({"frame_length": 64, "expand_dims": True, "padding": "same"}, (500, 2)),
        ({"frame_length": 64, "data_format": "channels_first"}, (2, 500)),
        ({"mode": "real", "frame_length": 64, "fft_length": 128}, (500, 1)),
        (
            {
                "mode": "imag",
                "frame_length": 50,
                "expand_dims": True,
                "data_format": "channels_first",
            },
            (3, 400),
        ),
    )

    mode: str = param("log", choices=("log", "magnitude", "psd", "real", "imag", "angle", "stft"))
    frame_length: int = param(256, convert=integer, minimum=1)
    frame_step: int | None = param(None, convert=optional(integer), minimum=1)
    fft_length: int | None = param(None, convert=optional(integer), minimum=1)
    window: str | None = param("hann", choices=WINDOWS)
    periodic: bool = param(False, convert=boolean)
    scaling: str | None = param("density", choices=("density", "spectrum"))
    padding: str = param("valid", choices=("valid", "same"))
    expand_dims: bool = param(False, convert=boolean)
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        if self.frame_step is not None and self.frame_step > self.frame_length:
            raise ParamError(
                f"frame_step ({self.frame_step}) must be <= frame_length ({self.frame_length})",
                arg="frame_step",
            )
        if self.fft_length is not None and self.fft_length < self.frame_length:
            raise ParamError(
                f"fft_length ({self.fft_length}) must be >= frame_length ({self.frame_length})",
                arg="fft_length",
            )

    def _fft(self) -> int:
        """Keras's default: the next power of two from frame_length."""
        return self.fft_length or 1 << (self.frame_length - 1).bit_length()

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        (time,), channels = split_channels(x, 1, self.data_format, "STFTSpectrogram")
        freq = self._fft() // 2 + 1
        if self.mode == "stft":
            freq *= 2
        step = self.frame_step or self.frame_length // 2
        frames = conv_length(time, self.frame_length, step, 1, self.padding)
        last = self.data_format != "channels_first"
        if self.expand_dims:
            return (frames, freq, channels) if last else (channels, frames, freq)
        mixed = None if channels is None else freq * channels
        return (frames, mixed) if last else (mixed, frames)

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        kernels = 1 if self.mode in ("real", "imag") else 2
        return Params(kernels * self.frame_length * (self._fft() // 2 + 1))
