"""``--profile NAME``: where a minigrad training step spends its time, op by op.

A lightweight hook instead of cProfile (whose per-call cost on *every* Python
function would distort a step made of thousands of tiny calls): while profiling,

* ``Function.apply`` is wrapped, so each forward call is timed and attributed to
  ``cls.__name__`` (the node type); within it the ``forward`` static method (the NumPy
  compute) is timed too, the rest being the graph bookkeeping of ``apply``;
* every Function subclass's ``backward`` is wrapped, so each backward call of a node
  is timed and attributed to ``type(node).__name__``.

Times are inclusive: a backward that calls other ops (it is written with minigrad's
own ops) includes their forward calls, which also appear in their own rows; the
*self* column subtracts those nested calls. A ``forward`` run on bare arrays outside
``apply`` (an array-mode backward calling another op, through ``array_op``) counts as
a forward call of its op with no bookkeeping. Everything is restored afterwards.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any


def _subclasses(cls: type) -> list[type]:
    out, todo = [], [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            out.append(sub)
            todo.append(sub)
    return out


class _Recorder:
    """Per (op, phase): calls, inclusive seconds, self seconds (nested calls excluded)."""

    def __init__(self) -> None:
        self.calls: dict[tuple[str, str], int] = defaultdict(int)
        self.total: dict[tuple[str, str], float] = defaultdict(float)
        self.self_: dict[tuple[str, str], float] = defaultdict(float)
        self.stack: list[float] = []  # child time accumulated by each open frame
        self.keys: list[tuple[str, str]] = []  # the key of each open frame

    def timed(
        self,
        key: tuple[str, str],
        fn: Callable[..., Any],
        *args: Any,
        also: tuple[str, str] | None = None,
        **kw: Any,
    ) -> Any:
        """Time ``fn`` under ``key``; ``also`` gets its calls and time too (not self time)."""
        self.stack.append(0.0)
        self.keys.append(key)
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            dt = time.perf_counter() - t0
            child = self.stack.pop()
            self.keys.pop()
            for k in (key, also) if also else (key,):
                self.calls[k] += 1
                self.total[k] += dt
            self.self_[key] += dt - child
            if self.stack:
                self.stack[-1] += dt


def profile_step(step: Callable[[], None], steps: int = 10, warmup: int = 2) -> dict[str, Any]:
    """Run ``step`` ``steps`` times under the hooks; per-step figures, largest first."""
    from minigrad.autograd.function import Function

    for _ in range(warmup):
        step()
    rec = _Recorder()
    orig_apply = Function.__dict__.get("apply")
    if not isinstance(orig_apply, classmethod):
        raise RuntimeError("profile: Function.apply is no longer a classmethod; update the hook")
    saved: list[tuple[type, str, Any]] = []  # (class, attribute, its own previous value)

    def apply(cls: type, *inputs: Any, **params: Any) -> Any:
        return rec.timed((cls.__name__, "forward"), orig_apply.__func__, cls, *inputs, **params)

    def wrap(cls: type, attr: str, phase: str) -> None:
        fn = getattr(cls, attr)  # the staticmethod's function (maybe inherited)
        name = cls.__name__
        in_apply = (name, "forward")

        def timed(*args: Any, **kw: Any) -> Any:
            if phase == "backward" or (rec.keys and rec.keys[-1] == in_apply):
                return rec.timed((name, phase), fn, *args, **kw)
            # A forward on arrays outside apply (array_op): a call with no bookkeeping.
            return rec.timed((name, phase), fn, *args, also=in_apply, **kw)

        saved.append((cls, attr, cls.__dict__.get(attr)))
        setattr(cls, attr, staticmethod(timed))

    classes = _subclasses(Function)
    try:
        Function.apply = classmethod(apply)  # type: ignore[method-assign, assignment]
        for cls in classes:
            wrap(cls, "forward", "forward() compute")
            wrap(cls, "backward", "backward")
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        elapsed = time.perf_counter() - t0
    finally:
        Function.apply = orig_apply  # type: ignore[method-assign]
        for cls, attr, old in reversed(saved):
            if old is None:
                delattr(cls, attr)
            else:
                setattr(cls, attr, old)
    if not rec.calls:
        raise RuntimeError("profile: no Function call was seen; does the step use minigrad?")
    step_s = elapsed / steps
    ops: dict[str, dict[str, Any]] = {}
    for (name, phase), calls in rec.calls.items():
        row = ops.setdefault(name, {"op": name})
        tag = {"forward": "fwd", "forward() compute": "compute", "backward": "bwd"}[phase]
        row[f"{tag}_calls"] = calls / steps
        row[f"{tag}_ms"] = rec.total[(name, phase)] / steps * 1e3
        row[f"{tag}_self_ms"] = rec.self_[(name, phase)] / steps * 1e3
    rows = []
    for row in ops.values():
        fwd, bwd = row.get("fwd_ms", 0.0), row.get("bwd_ms", 0.0)
        row["overhead_ms"] = fwd - row.get("compute_ms", 0.0)  # apply's bookkeeping
        row["total_ms"] = fwd + bwd
        row["self_ms"] = sum(row.get(f"{t}_self_ms", 0.0) for t in ("fwd", "compute", "bwd"))
        row["pct_of_step"] = 100.0 * row["self_ms"] / (step_s * 1e3)
        rows.append(row)
    rows.sort(key=lambda r: -r["self_ms"])
    in_ops = sum(r["self_ms"] for r in rows)
    return {
        "step_ms": step_s * 1e3,
        "steps": steps,
        "ops": rows,
        "in_ops_ms": in_ops,
        "outside_ops_ms": step_s * 1e3 - in_ops,
    }


def format_profile(name: str, prof: dict[str, Any], top: int = 25) -> str:
    """The profile as a Markdown table (per step; the times include the hooks' cost)."""
    lines = [
        f"## minigrad profile: {name}",
        "",
        f"{prof['steps']} steps, {prof['step_ms']:.3f} ms per step under the hooks; "
        f"{prof['in_ops_ms']:.3f} ms inside Function forward/backward calls, "
        f"{prof['outside_ops_ms']:.3f} ms outside them (modules, optimizer, Python glue).",
        "fwd = Function.apply (forward compute + graph bookkeeping); bwd = backward; "
        "self = excluding ops nested in it; % = self time / step.",
        "",
        "| op | fwd calls | fwd ms | of which compute ms | bookkeeping ms | bwd calls "
        "| bwd ms | bwd self ms | total self ms | % of step |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in prof["ops"][:top]:
        lines.append(
            f"| {r['op']} | {r.get('fwd_calls', 0):.0f} | {r.get('fwd_ms', 0):.3f} "
            f"| {r.get('compute_ms', 0):.3f} | {r['overhead_ms']:.3f} "
            f"| {r.get('bwd_calls', 0):.0f} | {r.get('bwd_ms', 0):.3f} "
            f"| {r.get('bwd_self_ms', 0):.3f} | {r['self_ms']:.3f} | {r['pct_of_step']:.1f} |"
        )
    if len(prof["ops"]) > top:
        lines.append(f"| ... {len(prof['ops']) - top} more ops | | | | | | | | | |")
    return "\n".join(lines) + "\n"
