# ruff: noqa: E501  (a data table: one crafted file per line reads best)
"""A corpus of crafted safetensors files: valid ones of every dtype and edge shape, and
hostile ones of every kind the format forbids (deterministic, built in memory).

Each :class:`Case` says whether minigrad is *expected to differ* from the
``safetensors`` package on it, and why (``divergence``); ``None`` means both readers
must take the same decision. The divergences are decisions, each stated in
:data:`DIVERGENCES`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import safetensors.numpy

#: Where minigrad refuses a file that the ``safetensors`` package (0.8) accepts.
DIVERGENCES = {
    "duplicate-key": (
        "the format says 'Duplicate keys are disallowed'; the package keeps the last of "
        "two equal tensor or metadata keys (other JSON readers keep the first), so one file "
        "could mean two things: minigrad refuses"
    ),
    "leading-space": (
        "the format says the header MUST begin with '{'; the package skips leading "
        "whitespace: minigrad follows the format"
    ),
    "bool-byte": (
        "a BOOL byte other than 0/1 makes a NumPy/PyTorch bool whose comparisons disagree "
        "with its printed value; the package passes it through: minigrad refuses"
    ),
    "complex": "C64 is valid, but minigrad's tensors are real: minigrad refuses",
}


#: Files the format does not plainly allow that the package accepts and minigrad accepts
#: too (decided: none of them lets a file mean two things), by case name.
AGREED_LENIENCIES = {
    "valid/metadata-null": "'__metadata__': null is read as no metadata",
    "valid/extra-field": "fields other than dtype/shape/data_offsets in an entry are ignored",
    "valid/extra-field-nested-125": "... up to the nesting limit (127 levels in all)",
    "valid/trailing-tab-newline": "header padding with JSON whitespace other than 0x20",
    "valid/zero-size-same-offset": "several empty tensors at one offset (they share no byte)",
    "valid/huge-empty-u8": "an empty tensor with a huge dimension, within NumPy's 2**63-1 bytes",
}

#: How minigrad's refusal names each divergence (for the random mutations, whose
#: divergences are recognised by message rather than listed one by one).
DIVERGENCE_MESSAGES = {
    "duplicate-key": "duplicate key",
    "leading-space": "must start with '{'",
    "bool-byte": "is BOOL but holds bytes other than 0/1",
    "complex": "dtype C64",
}
AUTO = "auto"  # a mutated file: either no divergence, or one of the stated ones


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    divergence: str | None = None


def raw_file(header: str | bytes, data: bytes = b"", length: int | None = None) -> bytes:
    """8-byte length (``length`` overrides it), the header text as given, the data."""
    header = header.encode() if isinstance(header, str) else header
    n = len(header) if length is None else length
    return n.to_bytes(8, "little") + header + data


def file_of(header: dict, data: bytes = b"", pad: int = 0) -> bytes:
    return raw_file(json.dumps(header) + " " * pad, data)


def entry(dtype: str, shape: list, begin: int, end: int, **extra: object) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end], **extra}


_NUMPY = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16,
    "U32": np.uint32, "I32": np.int32, "U64": np.uint64, "I64": np.int64,
    "F16": np.float16, "F32": np.float32, "F64": np.float64,
}  # fmt: skip
_SHAPES = [[], [0], [1], [3], [2, 3], [0, 5], [4, 0, 2], [1, 1, 1], [2, 1, 3, 1]]


def _array(rng: np.random.Generator, dtype: type, shape: list) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64))
    if dtype is np.bool_:
        return rng.integers(0, 2, n).astype(np.bool_).reshape(shape)
    raw = rng.integers(0, 256, n * np.dtype(dtype).itemsize, dtype=np.uint8)
    return raw.view(dtype).reshape(shape)  # any bit pattern: NaNs, infs, subnormals


def _valid(rng: np.random.Generator) -> list[Case]:
    cases = []
    for name, dtype in _NUMPY.items():
        for shape in _SHAPES:
            a = _array(rng, dtype, shape)
            blob = a.tobytes()
            tag = f"{name}-{'x'.join(map(str, shape)) or 'scalar'}"
            cases.append(
                Case(f"valid/{tag}", file_of({"t": entry(name, shape, 0, len(blob))}, blob))
            )
            # The header length not a multiple of 8: unaligned data, still valid.
            cases.append(
                Case(
                    f"valid/unaligned-{tag}",
                    file_of({"t": entry(name, shape, 0, len(blob))}, blob, pad=3),
                )
            )
    for i in range(12):  # files written by the package itself: many tensors, padded
        tensors = {
            f"w{j}": _array(rng, dtype, _SHAPES[(i + j) % len(_SHAPES)])
            for j, dtype in enumerate(list(_NUMPY.values())[i % 4 :: 3])
        }
        cases.append(Case(f"valid/package-{i}", safetensors.numpy.save(tensors)))
    four = b"\0\0\x80\x3f"
    cases += [
        Case("valid/empty-header", raw_file("{}")),
        Case("valid/empty-header-spaces", raw_file("{}       ")),
        Case("valid/trailing-tab-newline", raw_file("{}\t\r\n")),
        Case("valid/inner-whitespace", raw_file('{ "t" : { "dtype" : "F32", "shape" : [ 1 ],'
                                                 ' "data_offsets" : [ 0 , 4 ] } }', four)),
        Case("valid/metadata", file_of({"__metadata__": {"format": "pt", "": "é"},
                                        "t": entry("F32", [1], 0, 4)}, four)),
        Case("valid/metadata-empty", file_of({"__metadata__": {}, "t": entry("F32", [1], 0, 4)}, four)),
        Case("valid/metadata-null", file_of({"__metadata__": None, "t": entry("F32", [1], 0, 4)}, four)),
        Case("valid/metadata-last", file_of({"t": entry("F32", [1], 0, 4), "__metadata__": {"a": "t"}}, four)),
        Case("valid/metadata-only", file_of({"__metadata__": {"k": "v"}})),
        Case("valid/empty-name", file_of({"": entry("F32", [1], 0, 4)}, four)),
        Case("valid/unicode-name", file_of({"wé😀ights.π": entry("F32", [1], 0, 4)}, four)),
        Case("valid/escaped-name", raw_file('{"\\u0074\\n\\"\\\\":' + json.dumps(entry("F32", [1], 0, 4)) + "}", four)),
        Case("valid/surrogate-pair-escape", raw_file('{"\\ud83d\\ude00":' + json.dumps(entry("F32", [1], 0, 4)) + "}", four)),
        Case("valid/escaped-backslash-u", raw_file('{"a\\\\ud800":' + json.dumps(entry("F32", [1], 0, 4)) + "}", four)),
        Case("valid/escaped-dtype", raw_file('{"t":{"dtype":"F\\u0033\\u0032","shape":[1],"data_offsets":[0,4]}}', four)),
        Case("valid/long-name", file_of({"n" * 10000: entry("F32", [1], 0, 4)}, four)),
        Case("valid/extra-field", file_of({"t": entry("F32", [1], 0, 4, note="hi", more=[1, {"a": None}])}, four)),
        Case("valid/extra-field-neg-zero", raw_file('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":-0}}', four)),
        Case("valid/extra-field-bigint", raw_file('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1' + "0" * 30 + "}}", four)),
        Case("valid/extra-field-nested-125", raw_file('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + "[" * 125 + "]" * 125 + "}}", four)),
        Case("valid/extra-object-nested-125", raw_file('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + '{"k":' * 125 + "1" + "}" * 125 + "}}", four)),
        Case("valid/json-order-not-offset-order", file_of({"b": entry("F32", [1], 4, 8), "a": entry("F32", [1], 0, 4)}, four * 2)),
        Case("valid/zero-size-same-offset", file_of({"a": entry("F32", [0], 0, 0), "b": entry("I8", [0, 3], 0, 0)})),
        Case("valid/zero-size-between", file_of({"a": entry("F32", [1], 0, 4), "e": entry("F64", [0], 4, 4), "b": entry("F32", [1], 4, 8)}, four * 2)),
        Case("valid/zero-size-at-end", file_of({"a": entry("F32", [1], 0, 4), "e": entry("F64", [2, 0], 4, 4)}, four)),
        Case("valid/huge-empty-u8", file_of({"e": entry("U8", [2**62 - 1, 0, 2], 0, 0)})),
        Case("valid/huge-empty-f32", file_of({"e": entry("F32", [2**61 - 1, 0], 0, 0)})),
        Case("valid/dims-up-to-u64-with-zero", file_of({"e": entry("U8", [0, 2**40, 2**20], 0, 0)})),
        Case("valid/many-tensors", file_of({f"t{i}": entry("U8", [1], i, i + 1) for i in range(2000)}, bytes(2000))),
        Case("valid/bool-0-1", file_of({"b": entry("BOOL", [4], 0, 4)}, b"\0\1\1\0")),
    ]  # fmt: skip
    for name, bits in [("BF16", 16), ("F8_E5M2", 8), ("F8_E4M3", 8), ("F8_E8M0", 8), ("F4", 4),
                       ("F8_E4M3FNUZ", 8), ("F8_E5M2FNUZ", 8), ("F6_E2M3", 6), ("F6_E3M2", 6)]:  # fmt: skip
        # 8 elements fill `bits` whole bytes
        cases.append(
            Case(f"valid-no-numpy/{name}", file_of({"t": entry(name, [8], 0, bits)}, bytes(bits)))
        )
    cases.append(Case("valid/C64", file_of({"c": entry("C64", [2], 0, 16)}, bytes(16)), "complex"))
    return cases


def _truncations_and_trailers(rng: np.random.Generator) -> list[Case]:
    cases = []
    bases = {
        "one": safetensors.numpy.save({"a": np.arange(6.0).reshape(2, 3)}),
        "two": safetensors.numpy.save(
            {"w": _array(rng, np.float32, [4, 4]), "b": np.ones(3, np.int64)}, metadata={"k": "v"}
        ),
        "ours": file_of({"x": entry("F16", [5], 0, 10), "y": entry("U8", [3], 10, 13)}, bytes(13)),
    }
    for label, raw in bases.items():
        cuts = sorted({*range(9), *range(9, len(raw), max(1, len(raw) // 30)), len(raw) - 1})
        cases += [Case(f"truncated/{label}-{c}", raw[:c]) for c in cuts if c < len(raw)]
        for extra in (b"\0", b" ", bytes(7), bytes(8), bytes(4096), b"PK\x03\x04polyglot"):
            cases.append(Case(f"trailing/{label}-{len(extra)}-{extra[:2].hex()}", raw + extra))
    return cases


def _hostile() -> list[Case]:
    f4 = bytes(4)
    t = json.dumps(entry("F32", [1], 0, 4))

    def one(name: str, info: object, data: bytes = f4, div: str | None = None) -> Case:
        return Case(name, raw_file(json.dumps({"t": info}), data), div)

    cases = [Case(f"short/{n}-bytes", bytes(n)) for n in range(8)]
    cases += [
        Case("length/zero", raw_file("")),
        Case("length/zero-with-data", raw_file("", b"{}")),
        Case("length/past-end", raw_file("{}", length=3)),
        Case("length/past-end-by-one", raw_file('{"t":' + t + "}", length=50)),
        Case("length/max-u64", raw_file("{}", length=2**64 - 1)),
        Case("length/2^63", raw_file("{}", length=2**63)),
        Case("length/over-cap", raw_file("{}", length=100_000_001)),
        Case("length/at-cap-small-file", raw_file("{}", length=100_000_000)),
        Case("length/one-short", raw_file('{"t":' + t + "}", f4, length=len('{"t":' + t + "}") - 1)),
        Case("json/empty-object-no-brace-end", raw_file("{")),
        Case("json/not-json", raw_file("not json!!")),
        Case("json/array", raw_file("[]")),
        Case("json/null", raw_file("null")),
        Case("json/number", raw_file("1")),
        Case("json/string", raw_file('"{}"')),
        Case("json/leading-space", raw_file(" {}"), "leading-space"),
        Case("json/leading-newline", raw_file("\n{}"), "leading-space"),
        Case("json/bom", raw_file(b"\xef\xbb\xbf{}")),
        Case("json/nul-padding", raw_file(b"{}\0\0\0\0\0\0")),
        Case("json/trailing-garbage", raw_file("{}x")),
        Case("json/two-objects", raw_file("{}{}")),
        Case("json/trailing-comma", raw_file('{"t":' + t + ",}", f4)),
        Case("json/single-quotes", raw_file("{'t': 1}")),
        Case("json/comment", raw_file('{/*c*/"t":' + t + "}", f4)),
        Case("json/unquoted-key", raw_file("{t:" + t + "}", f4)),
        Case("json/control-char-in-name", raw_file('{"a\x01":' + t + "}", f4)),
        Case("json/nan-extra-field", raw_file('{"t":' + t[:-1] + ',"x":NaN}}', f4)),
        Case("json/infinity-extra-field", raw_file('{"t":' + t[:-1] + ',"x":-Infinity}}', f4)),
        Case("json/1e400-extra-field", raw_file('{"t":' + t[:-1] + ',"x":1e400}}', f4)),
        Case("json/400-digit-int-extra-field", raw_file('{"t":' + t[:-1] + ',"x":1' + "0" * 400 + "}}", f4)),
        Case("json/5000-digit-int-extra-field", raw_file('{"t":' + t[:-1] + ',"x":1' + "0" * 5000 + "}}", f4)),
        Case("utf8/invalid-byte", raw_file(b'{"\xff":' + t.encode() + b"}", f4)),
        Case("utf8/cesu-surrogate", raw_file(b'{"\xed\xa0\x80":' + t.encode() + b"}", f4)),
        Case("utf8/overlong", raw_file(b'{"\xc0\xaf":' + t.encode() + b"}", f4)),
        Case("utf8/truncated-sequence", raw_file(b'{"\xe2\x82":' + t.encode() + b"}", f4)),
        Case("utf8/lone-high-surrogate-key", raw_file('{"\\ud800":' + t + "}", f4)),
        Case("utf8/lone-low-surrogate-key", raw_file('{"\\udc00x":' + t + "}", f4)),
        Case("utf8/lone-surrogate-metadata", raw_file('{"__metadata__":{"k":"\\udbff"},"t":' + t + "}", f4)),
        Case("utf8/lone-surrogate-extra-field", raw_file('{"t":' + t[:-1] + ',"x":"\\ud800"}}', f4)),
        Case("utf8/reversed-surrogate-pair", raw_file('{"\\ude00\\ud83d":' + t + "}", f4)),
        Case("dup/identical-tensor-keys", raw_file('{"t":' + t + ',"t":' + t + "}", f4), "duplicate-key"),
        Case("dup/tensor-keys-other-dtype", raw_file('{"t":' + json.dumps(entry("I32", [1], 0, 4)) + ',"t":' + t + "}", f4), "duplicate-key"),
        Case("dup/tensor-keys-other-offsets", raw_file('{"t":' + t + ',"t":' + json.dumps(entry("F32", [1], 4, 8)) + "}", f4 * 2)),
        Case("dup/escaped-equal-keys", raw_file('{"t":' + t + ',"\\u0074":' + t + "}", f4), "duplicate-key"),
        Case("dup/metadata-keys", raw_file('{"__metadata__":{"k":"a","k":"b"},"t":' + t + "}", f4), "duplicate-key"),
        Case("dup/metadata-twice", raw_file('{"__metadata__":{},"__metadata__":{},"t":' + t + "}", f4)),
        Case("dup/field-in-entry", raw_file('{"t":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}', f4)),
        Case("dup/offsets-twice", raw_file('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"data_offsets":[0,4]}}', f4)),
        Case("dup/in-extra-field", raw_file('{"t":' + t[:-1] + ',"x":{"q":1,"q":2}}}', f4), "duplicate-key"),
        Case("meta/int-value", raw_file('{"__metadata__":{"k":1},"t":' + t + "}", f4)),
        Case("meta/null-value", raw_file('{"__metadata__":{"k":null},"t":' + t + "}", f4)),
        Case("meta/bool-value", raw_file('{"__metadata__":{"k":true},"t":' + t + "}", f4)),
        Case("meta/nested-object", raw_file('{"__metadata__":{"k":{"a":"b"}},"t":' + t + "}", f4)),
        Case("meta/list-value", raw_file('{"__metadata__":{"k":["a"]},"t":' + t + "}", f4)),
        Case("meta/string", raw_file('{"__metadata__":"x","t":' + t + "}", f4)),
        Case("meta/list", raw_file('{"__metadata__":[],"t":' + t + "}", f4)),
        Case("meta/number", raw_file('{"__metadata__":3,"t":' + t + "}", f4)),
        Case("meta/tensor-entry", raw_file('{"__metadata__":' + t + "}", f4)),
        Case("meta/deep", raw_file('{"__metadata__":' + "[" * 200 + "]" * 200 + "}")),
        Case("entry/null", raw_file('{"t":null}')),
        Case("entry/list", raw_file('{"t":[1,2,3]}')),
        Case("entry/string", raw_file('{"t":"F32"}')),
        Case("entry/number", raw_file('{"t":4}')),
        Case("entry/empty-object", raw_file('{"t":{}}')),
        Case("entry/escaped-field-name", raw_file('{"t":{"d\\u0074ype":"F32","shape":[1],"data_offsets":[0,4]}}', f4)),
        Case("entry/aliased-4000", file_of({f"a{i}": entry("U8", [1024], 0, 1024) for i in range(4000)}, bytes(1024))),
    ]  # fmt: skip
    for field in ("dtype", "shape", "data_offsets"):
        info = entry("F32", [1], 0, 4)
        del info[field]
        cases.append(one(f"entry/missing-{field}", info))
    bad_dtypes = [
        "f32",
        "F32 ",
        "float32",
        "BF8",
        "C128",
        "I128",
        "",
        "bool",
        None,
        32,
        ["F32"],
        {"F32": 1},
    ]
    cases += [
        one(f"dtype/{json.dumps(d)}", {"dtype": d, "shape": [1], "data_offsets": [0, 4]})
        for d in bad_dtypes
    ]
    bad_dims = [-1, 1.0, 1.5, "1", True, None, [1], 2**64, -(2**63)]
    cases += [one(f"shape/dim-{json.dumps(d)}", entry("F32", [d], 0, 4)) for d in bad_dims]
    cases += [
        Case(
            "shape/neg-zero-literal",
            raw_file('{"t":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}}'),
        )
    ]
    cases += [one(f"shape/{json.dumps(s)}", {"dtype": "F32", "shape": s, "data_offsets": [0, 4]})
              for s in [None, 1, "1", {"0": 1}, [[1]]]]  # fmt: skip
    bad_offsets = [[0], [0, 4, 4], [], [-4, 0], [0, -4], [0.0, 4.0], ["0", "4"], [True, 4],
                   None, "0,4", {"0": 4}, [0, 2**64], [2**64, 2**64 + 4]]  # fmt: skip
    cases += [
        one(f"offsets/{json.dumps(o)}", {"dtype": "F32", "shape": [1], "data_offsets": o})
        for o in bad_offsets
    ]
    cases += [
        one("size/too-few-bytes", entry("F32", [2], 0, 4)),
        one("size/too-many-bytes", entry("F32", [1], 0, 8), bytes(8)),
        one("size/end-before-begin", entry("F32", [1], 4, 0), bytes(8)),
        one("size/past-data", entry("F32", [4], 0, 16)),
        one("size/f4-half-byte", entry("F4", [3], 0, 1), bytes(1)),
        one("size/f6-partial", entry("F6_E2M3", [3], 0, 2), bytes(2)),
        one("size/overflow-u64-elements", entry("F32", [2**32, 2**32], 0, 0), b""),
        one("size/overflow-then-zero", entry("F32", [2**32, 2**32, 0], 0, 0), b""),
        one("size/zero-then-overflow", entry("F32", [0, 2**32, 2**32], 0, 0), b""),
        one("size/bits-overflow", entry("F32", [0, 2**62], 0, 0), b""),
        one("size/u8-2^62-empty", entry("U8", [2**62, 0, 2], 0, 0), b""),
        one("size/f32-2^61-empty", entry("F32", [2**61, 0], 0, 0), b""),
        one("size/u64max-dim-empty", entry("U8", [2**64 - 1, 0], 0, 0), b""),
        one("size/int64-overflow-with-offsets", entry("I64", [2**61, 4], 0, 2**63 + 4), b""),
        one("size/elements-wrap-to-small", entry("U8", [2**32 + 1, 2**32 - 1], 0, 2**64 - 1), b""),
    ]
    a, b = entry("F32", [1], 0, 4), entry("F32", [1], 4, 8)
    layouts = {
        "hole-at-start": ({"a": entry("F32", [1], 4, 8)}, 8),
        "hole-between": ({"a": a, "b": entry("F32", [1], 8, 12)}, 12),
        "hole-at-end": ({"a": a}, 8),
        "overlap-partial": ({"a": entry("F32", [2], 0, 8), "b": entry("F32", [1], 4, 8)}, 8),
        "overlap-alias": ({"a": a, "b": a}, 4),
        "overlap-alias-other-dtype": ({"a": a, "b": entry("I32", [1], 0, 4)}, 4),
        "overlap-contained": ({"a": entry("U8", [8], 0, 8), "b": entry("U8", [2], 2, 4)}, 8),
        "overlap-three": ({"a": a, "b": b, "c": entry("F32", [2], 0, 8)}, 8),
        "gap-and-overlap-cancel": ({"a": entry("F32", [1], 4, 8), "b": entry("F32", [1], 4, 8)}, 8),
        "tiled-but-offsets-shifted": ({"a": entry("F32", [1], 1, 5)}, 5),
        "zero-size-past-end": ({"a": a, "e": entry("F32", [0], 8, 8)}, 4),
        "zero-size-inside-tensor": (
            {"a": entry("F32", [2], 0, 8), "e": entry("F32", [0], 4, 4)},
            8,
        ),
    }
    cases += [Case(f"layout/{k}", file_of(h, bytes(n))) for k, (h, n) in layouts.items()]
    for depth in (126, 127, 128, 1000, 100_000):
        nested = "[" * depth + "]" * depth
        cases.append(
            Case(
                f"depth/extra-field-{depth}",
                raw_file('{"t":' + t[:-1] + ',"x":' + nested + "}}", f4),
            )
        )
    cases.append(
        Case(
            "depth/objects-126",
            raw_file('{"t":' + t[:-1] + ',"x":' + '{"k":' * 126 + "1" + "}" * 126 + "}}", f4),
        )
    )
    cases.append(Case("depth/top-level-100000", raw_file("[" * 100_000 + "]" * 100_000)))
    cases.append(Case("depth/objects-100000", raw_file('{"a":' * 100_000 + "1" + "}" * 100_000)))
    cases.append(Case("depth/unclosed-100000", raw_file("{" + '"a":[' * 100_000)))
    cases.append(
        Case("bool/byte-2", file_of({"b": entry("BOOL", [2], 0, 2)}, b"\x01\x02"), "bool-byte")
    )
    cases.append(
        Case("bool/byte-255", file_of({"b": entry("BOOL", [1], 0, 1)}, b"\xff"), "bool-byte")
    )
    return cases  # fmt: skip


def _mutations(rng: np.random.Generator, count: int) -> list[Case]:
    """Valid files with 1-3 random edits each: a header byte set to a JSON character or
    to any byte, a byte of the length field changed, a byte inserted into the data."""
    bases = [
        safetensors.numpy.save(
            {"a": np.arange(6.0).reshape(2, 3), "b": np.ones(3, np.int64), "c": np.zeros((0, 2))},
            metadata={"k": "v"},
        ),
        safetensors.numpy.save({"w": np.arange(4, dtype=np.float16), "m": np.array([True, False])}),
    ]
    json_chars = list(b'{}[]",:0123456789 -eE.\\tu')
    cases = []
    for i in range(count):
        raw = bytearray(bases[i % 2])
        n = int.from_bytes(raw[:8], "little")
        for _ in range(int(rng.integers(1, 4))):
            op = int(rng.integers(0, 4))
            if op == 0:
                raw[int(rng.integers(8, 8 + n))] = int(rng.choice(json_chars))
            elif op == 1:
                raw[int(rng.integers(8, 8 + n))] = int(rng.integers(0, 256))
            elif op == 2:
                raw[int(rng.integers(0, 8))] = int(rng.integers(0, 256))
            else:
                at = int(rng.integers(8 + n, len(raw) + 1))
                raw[at:at] = b"\0"
        cases.append(Case(f"mutated/{i}", bytes(raw), AUTO))
    return cases


def corpus(seed: int = 0, mutations: int = 400) -> list[Case]:
    """Every case, in a fixed order (names are unique)."""
    rng = np.random.default_rng(seed)
    cases = _valid(rng) + _truncations_and_trailers(rng) + _hostile() + _mutations(rng, mutations)
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    return cases
