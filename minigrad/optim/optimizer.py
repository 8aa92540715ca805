"""``Optimizer``: the base class every optimizer in ``minigrad.optim`` derives from.

An optimizer owns

* ``param_groups``: a list of dicts. Each holds ``"params"`` (the tensors it updates) and
  that group's options (``lr``, ``weight_decay``, ...); options a group leaves out are
  filled in from ``defaults``, so two groups may train at different learning rates;
* ``state``: a dict from parameter to that parameter's running buffers (momentum, moment
  estimates, step count). It is keyed by the tensor itself (tensors hash by identity).

``step()`` walks every parameter that has a gradient and hands its arrays to the
subclass's :meth:`Optimizer._update`, which changes ``p.data`` in place. Writing into the
array directly is minigrad's equivalent of PyTorch's ``with torch.no_grad(): p.add_(...)``:
the update is not recorded in the graph.

``state_dict()`` uses PyTorch's layout, where parameters are replaced by their position
in the concatenation of all groups' ``params`` lists::

    {"state": {0: {"step": 3.0, "exp_avg": ndarray, ...}, ...},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}, ...]}
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

import numpy as np

from minigrad.autograd import version
from minigrad.core.grad_mode import enable_grad
from minigrad.tensor import Tensor

ParamsT: TypeAlias = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]
StateDict: TypeAlias = dict[str, Any]


class _RequiredParameter:
    """Marks an option that has no default and must be given (as ``lr`` for a bare SGD)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required: Any = _RequiredParameter()


def check_non_negative(value: float, what: str) -> None:
    """Raise PyTorch's ``ValueError("Invalid <what>: <value>")`` when ``value < 0``."""
    if not 0.0 <= value:  # written this way so that NaN is rejected too
        raise ValueError(f"Invalid {what}: {value}")


def check_betas(betas: Any) -> tuple[float, float]:
    """Validate Adam-style ``betas``: a pair ``(beta1, beta2)``, each in ``[0, 1)``.

    PyTorch indexes ``betas[1]`` and so fails with an ``IndexError`` on a 1-tuple (and
    ignores a third entry); here any length other than 2 is a ``ValueError`` naming the
    argument. Returns the pair as a tuple.
    """
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: expected a pair (beta1, beta2), but got {betas!r}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    return (betas[0], betas[1])


def check_adam_options(lr: float, eps: float, betas: Any, weight_decay: float) -> tuple:
    """Validate the options the Adam family shares (as PyTorch, in its order); return betas."""
    check_non_negative(lr, "learning rate")
    check_non_negative(eps, "epsilon value")
    betas = check_betas(betas)
    check_non_negative(weight_decay, "weight_decay value")
    return betas


def init_state(state: dict[str, Any], param: np.ndarray, *buffers: str) -> None:
    """A fresh parameter state: ``step = 0.0`` and a zero array of param's shape per name."""
    state["step"] = 0.0
    for name in buffers:
        state[name] = np.zeros_like(param)


def effective_grad(
    param: np.ndarray, grad: np.ndarray, group: dict[str, Any], *, decoupled: bool = False
) -> np.ndarray:
    """The gradient an update uses: negated when ``maximize``, with weight decay applied.

    L2 decay (``decoupled=False``) returns ``g + weight_decay * theta``; decoupled decay
    (AdamW-style) instead shrinks the parameter in place, ``theta *= 1 - lr * weight_decay``,
    and returns ``g`` unchanged. ``grad`` itself (``p.grad``'s array) is never modified.
    """
    if group.get("maximize", False):
        grad = -grad
    weight_decay = float(group["weight_decay"])
    if weight_decay != 0:
        if decoupled:
            param *= 1 - float(group["lr"]) * weight_decay
        else:
            grad = grad + weight_decay * param
    return grad


def ema_sq_(
    avg: np.ndarray, x: np.ndarray, decay: float, scratch: np.ndarray | None = None
) -> None:
    """``avg = decay * avg + (1 - decay) * x * x`` in place, in ``torch.addcmul_``'s order.

    ``scratch`` (an array of avg's shape and dtype) holds the product when given.
    """
    avg *= decay
    product = np.multiply(x, 1 - decay, out=scratch)
    product *= x
    avg += product


def lerp_(
    start: np.ndarray, end: np.ndarray, weight: float, scratch: np.ndarray | None = None
) -> None:
    """``start += weight * (end - start)`` in place, computed exactly as ``torch.lerp``.

    PyTorch evaluates ``start + w * (end - start)`` when ``|w| < 0.5`` and
    ``end - (end - start) * (1 - w)`` otherwise, which is more accurate when ``w`` is
    close to 1. The weight is first rounded to the array's dtype, as PyTorch does.
    ``scratch`` (an array of start's shape and dtype) holds the difference when given.
    """
    w = start.dtype.type(weight)
    diff = np.subtract(end, start, out=scratch)
    if abs(w) < 0.5:
        diff *= w
        start += diff
    else:
        diff *= start.dtype.type(1) - w
        np.subtract(end, diff, out=start)


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``step`` and (de)serialisation.

    Subclasses pass their option ``defaults`` to ``__init__`` and implement
    :meth:`_update`, the update of one parameter.
    """

    # State entries that are numbers, not per-element buffers (PyTorch keeps them as 0-d
    # tensors): loaded as Python floats instead of being shape-checked against the param.
    _scalar_state: tuple[str, ...] = ("step",)

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"

    # ------------------------------------------------------------ parameter groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Append a group (``{"params": [...], **options}``); missing options take defaults.

        A parameter may belong to one group only: it would otherwise be updated twice per
        step with one shared state.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]  # from named_parameters()
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            params = [p[1] for p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")

        if any(("param_names" in g) != bool(names) for g in self.param_groups):
            raise ValueError(
                "all optimizer param groups should be with/without names. cannot add param "
                f"group {'with' if names else 'without'} names to the optimizer"
            )
        group = {**param_group, "params": params}
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            group.setdefault(name, default)
        self.param_groups.append(group)

    # ------------------------------------------------------------ gradients and steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad``: drop it (``None``) or fill it with zeros.

        ``None`` is the default, as in PyTorch: it frees memory, and a parameter that then
        receives no gradient is skipped by ``step`` instead of being stepped with zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if p.grad.grad_fn is not None or p.grad.requires_grad:
                    p.grad = p.grad.detach()  # a graph-built gradient (create_graph=True)
                if p.grad.data.flags.writeable:
                    p.grad.data.fill(0)
                else:  # e.g. a broadcast view handed in by the user: replace, don't write
                    p.grad.data = np.zeros_like(p.grad.data)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()``'s loss if given.

        The closure (which recomputes the loss and calls ``backward``) runs with grad mode
        on, so it may be used from inside a ``no_grad`` block.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                if grad.shape != p.data.shape:
                    raise RuntimeError(
                        f"{type(self).__name__}.step: gradient of shape {grad.shape} does not "
                        f"match its parameter of shape {p.data.shape}"
                    )
                # Look up without inserting: a stateless update (plain SGD) leaves no entry.
                state = self.state.get(p, {})
                self._update(p.data, grad, state, group)
                # As PyTorch's in-place parameter updates do: a graph built before this
                # step and backpropagated after it raises instead of using stale weights.
                version.bump(p.data)
                if state:
                    self.state[p] = state
        return loss

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Update ``param`` in place from ``grad``; ``state`` is this parameter's state dict.

        ``grad`` is the parameter's ``.grad`` array itself and must not be modified. Beware
        0-d parameters: NumPy arithmetic on 0-d arrays returns scalars, so buffers kept in
        ``state`` must be created as arrays and updated with in-place operators.
        """
        raise NotImplementedError

    # ------------------------------------------------------------ state dicts
    def _indexed_params(self) -> list[Tensor]:
        """All parameters in group order: the index of each is its id in ``state_dict``."""
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> StateDict:
        """The optimizer's state in PyTorch's layout (see the module docstring).

        Arrays are copies, so the dict is a snapshot that later steps do not change.
        """
        index = {id(p): i for i, p in enumerate(self._indexed_params())}
        param_groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            param_groups.append(packed)
        state = {
            index[id(p)]: {k: copy.deepcopy(v) for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict` into this optimizer's parameters.

        Parameters are matched by position, so the groups must have the same sizes as when
        saving. Arrays (or Tensors, as returned by ``minigrad.load``) are copied, and cast to
        the parameter's dtype when floating point; the step count stays a float.
        """
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                "load_state_dict expects a dict with keys 'state' and 'param_groups', as "
                "returned by Optimizer.state_dict()"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)}) than the optimizer ({len(self.param_groups)})"
            )
        id_map: dict[int, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group (index {i}) with "
                    f"{len(saved['params'])} parameters that doesn't match the size of "
                    f"optimizer's group ({len(group['params'])} parameters)"
                )
            id_map.update(zip((int(k) for k in saved["params"]), group["params"]))

        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            if int(key) not in id_map:
                raise ValueError(
                    f"loaded state dict has state for parameter {key}, which no parameter "
                    "group lists"
                )
            p = id_map[int(key)]
            state[p] = {
                k: self._load_state_value(p, int(key), k, v) for k, v in saved_state.items()
            }

        param_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            if "param_names" in group and "param_names" not in new:
                new["param_names"] = group["param_names"]
            new["params"] = group["params"]
            param_groups.append(new)
        self.state = state
        self.param_groups = param_groups

    def _load_state_value(self, param: Tensor, index: int, key: str, value: Any) -> Any:
        """Copy one loaded state entry, checking its shape and casting it to the param's dtype."""
        return _load_value(param, index, key, value, key in self._scalar_state)


def _load_value(param: Tensor, index: int, key: str, value: Any, scalar: bool) -> Any:
    """Copy one loaded state entry: a float if ``scalar``, else an array of param's shape."""
    if isinstance(value, Tensor):
        value = value.data
    if scalar:
        return float(np.asarray(value))
    if not isinstance(value, np.ndarray):
        return copy.deepcopy(value)
    if value.shape != param.data.shape:
        raise ValueError(
            f"loaded state dict entry {key!r} of parameter {index} has shape {value.shape}, "
            f"but the parameter has shape {param.data.shape}"
        )
    dtype = param.data.dtype if param.data.dtype.kind == "f" else value.dtype
    return np.array(value, dtype=dtype, copy=True)
