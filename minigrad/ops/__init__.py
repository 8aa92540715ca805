"""Every differentiable op, as module-level functions (``minigrad.exp(x)``); the same
functions are attached to ``Tensor`` as methods by ``minigrad/_methods.py``."""

from minigrad.ops._util import broadcast_to, cast, sum_to
from minigrad.ops.activations import elu, gelu, leaky_relu, relu, relu6, silu, softplus
from minigrad.ops.binary import add, div, maximum, minimum, mul, pow, sub, where
from minigrad.ops.compare import (
    allclose,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    eq,
    equal,
    floor_divide,
    ge,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
    remainder,
)
from minigrad.ops.indexing import (
    gather,
    getitem,
    index_select,
    masked_fill,
    one_hot,
    scatter_add,
)
from minigrad.ops.linalg import bmm, dot, einsum, linear, matmul, mm, outer
from minigrad.ops.nn_ops import dropout, embedding, layer_norm, log_softmax, softmax
from minigrad.ops.reduce import (
    amax,
    amin,
    argmax,
    argmin,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    sum,
    var,
)
from minigrad.ops.shape import (
    broadcast_tensors,
    cat,
    chunk,
    clone,
    concat,
    concatenate,
    contiguous,
    expand,
    expand_as,
    flatten,
    flip,
    narrow,
    pad,
    permute,
    repeat,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    t,
    transpose,
    tril,
    triu,
    unbind,
    unsqueeze,
    view,
)
from minigrad.ops.unary import (
    abs,
    clamp,
    clip,
    cos,
    erf,
    exp,
    expm1,
    log,
    log1p,
    neg,
    pow_scalar,
    reciprocal,
    rpow_scalar,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    tanh,
)

negative = neg
multiply = mul
divide = true_divide = div
subtract = sub
__all__ = [name for name in dir() if not name.startswith("_")]
