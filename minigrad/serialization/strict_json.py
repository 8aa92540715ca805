"""JSON as the safetensors format reads it: one meaning per document, bounded work.

Python's ``json.loads`` is more permissive than the format's reference parser
(Rust's ``serde_json``, which the format's notes say "implicitly decides" the JSON
subset). :func:`loads` closes the gaps, so a header means the same thing to minigrad
and to every other reader:

* **duplicate keys** are refused anywhere in the document (Python keeps the last,
  other readers the first: the format says "Duplicate keys are disallowed");
* ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON and are refused, as are
  numbers whose value overflows a double (``1e400``);
* an integer of 2⁶⁴ or more, and ``-0``, are read as floats (``serde_json`` does the
  same, so they are not sizes or offsets);
* an unpaired UTF-16 surrogate escape (``"\\ud800"``) is refused: it is no Unicode
  text;
* nesting is bounded by :data:`MAX_DEPTH` (``serde_json``'s own limit), and deeper
  documents raise ``ValueError``, never ``RecursionError``.

Every problem raises ``ValueError`` with a message; callers wrap it in their own
error type.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

#: The deepest nesting accepted: 127 levels of objects/arrays (``serde_json``
#: refuses the 128th).
MAX_DEPTH = 127
_U64_LIMIT = 2**64
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} (one file must mean one thing)")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _integer(text: str) -> int | float:
    value = int(text)
    if value == 0 and text.startswith("-"):
        return -0.0  # serde_json reads "-0" as a float
    if abs(value) >= _U64_LIMIT:  # serde_json reads it as a float (u64/i64 cannot hold it)
        return _finite_float(text)
    return value


def depth(value: Any, limit: int) -> int:
    """The nesting depth of a parsed JSON value (a scalar is 0, ``[]`` is 1), computed
    without recursion; stops counting once ``limit`` is exceeded."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads(text: str, max_depth: int = MAX_DEPTH, nonfinite: bool = False) -> Any:
    """Parse ``text`` under the rules above; raises ``ValueError`` naming the problem.
    ``nonfinite=True`` admits Python's ``NaN`` / ``Infinity`` extension (minigrad's own
    structure entry stores float options such as ``inf`` that way)."""
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=float if nonfinite else _no_constant,
            parse_float=float if nonfinite else _finite_float,
            parse_int=_integer,
        )
    except RecursionError:
        raise ValueError(f"JSON nested more than {max_depth} levels deep") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON ({e})") from None
    found = depth(value, max_depth)
    if found > max_depth:
        raise ValueError(f"JSON nested more than {max_depth} levels deep")
    if _SURROGATE_ESCAPE.search(text):  # rare: then check every string once
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("a string holds an unpaired UTF-16 surrogate escape") from None
    return value


def read(path: str | os.PathLike, max_bytes: int, what: str = "JSON file") -> Any:
    """Parse the JSON file at ``path`` under the rules above, refusing files over
    ``max_bytes`` before reading them. Raises ``FileNotFoundError`` for a missing file
    and ``ValueError`` naming the file otherwise."""
    name = os.fspath(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise ValueError(f"{name}: {what} of {size} bytes is larger than {max_bytes} bytes")
        raw = f.read()
    try:
        return loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"{name}: {what} is not UTF-8 ({e})") from None
    except ValueError as e:
        raise ValueError(f"{name}: {what} is not valid JSON: {e}") from None
