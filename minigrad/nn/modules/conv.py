"""Conv1d/2d/3d and ConvTranspose1d/2d/3d layers (the math is in
``minigrad/nn/functional/conv.py`` and ``conv_transpose.py``)."""

from __future__ import annotations

import math
from typing import Any

from minigrad.nn import init
from minigrad.nn.functional._util import ntuple
from minigrad.nn.functional.conv import _convnd
from minigrad.nn.functional.conv_transpose import _conv_transposend, output_padding_for
from minigrad.nn.modules.module import Module, empty_parameter
from minigrad.tensor import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared by Conv1d/2d/3d and ConvTranspose1d/2d/3d. Weight (out, in/groups, *kernel)
    (transposed: (in, out/groups, *kernel)); PyTorch's init: kaiming_uniform_(a=√5) =
    U(-1/√fan_in, 1/√fan_in), bias the same bound, fan_in = weight.shape[1] · ∏kernel."""

    _nd = 0
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        nd, name = self._nd, type(self).__name__
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                f"padding_mode='{padding_mode}'"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = ntuple(kernel_size, nd, "kernel_size", name)
        self.stride = ntuple(stride, nd, "stride", name)
        self.dilation = ntuple(dilation, nd, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of ['valid', 'same']"
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding: Any = padding
        else:
            self.padding = ntuple(padding, nd, "padding", name)
        self.output_padding = (0,) * nd
        self.groups = groups
        self.padding_mode = padding_mode
        w_shape = (
            (in_channels, out_channels // groups)
            if self._transposed
            else (out_channels, in_channels // groups)
        )
        self.weight = empty_parameter(w_shape + self.kernel_size, device, dtype)
        if bias:
            self.bias = empty_parameter((out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return _convnd(
            f"conv{self._nd}d",
            self._nd,
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.padding_mode,
        )

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) (or unbatched (C_in, L)) inputs."""

    _nd = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) inputs:
    y[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c] (cross-correlation, as PyTorch), with stride,
    zero/reflect/replicate/circular padding (int, pair, 'valid' or 'same'), dilation
    and groups."""

    _nd = 2


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W) inputs."""

    _nd = 3


class _ConvTransposeNd(_ConvNd):
    """Shared by ConvTranspose1d/2d/3d: the adjoint of the convolution with the same
    options, output size (L_in - 1)·s - 2·pad + δ·(k - 1) + output_padding + 1
    (``forward(input, output_size)`` picks output_padding to reach ``output_size``)."""

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self.output_padding = ntuple(output_padding, self._nd, "output_padding", name)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        nd = self._nd
        out_pad = self.output_padding
        if output_size is not None:
            out_pad = output_padding_for(
                type(self).__name__,
                input.shape[-nd:],
                output_size,
                self.stride,
                self.padding,
                self.dilation,
                self.kernel_size,
            )
        return _conv_transposend(
            f"conv_transpose{nd}d",
            nd,
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            out_pad,
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L) inputs."""

    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution ("deconvolution", fractionally strided convolution) over
    (N, C_in, H, W) inputs: each input pixel adds W[c]·x[c, p] into the output window at
    p·stride (the input gradient of Conv2d with the same options)."""

    _nd = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over (N, C_in, D, H, W) inputs."""

    _nd = 3
