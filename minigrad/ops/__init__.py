"""Every differentiable op, as module-level functions (``minigrad.exp(x)``).

Each op is declared once, on its public function in one of the modules below
(``@op(...)``, see ``minigrad/ops/declare.py``); this package exports every declared
name, and ``minigrad/_methods.py`` attaches the declared methods and operators to
``Tensor``.
"""

from minigrad.ops import (  # noqa: F401  (importing a module runs its declarations)
    activations,
    arrange,
    binary,
    compare,
    elementwise,
    helpers,
    indexing,
    linalg,
    nn_ops,
    reduce,
    scattering,
    selection,
    shape,
    sorting,
    special,
    trig,
    unary,
)
from minigrad.ops.declare import exports as _exports

globals().update(_exports())
__all__ = sorted(_exports())
