"""``.npz`` archives (NumPy's zip of ``.npy`` members), read with bounded work.

``np.load`` trusts each member's ``.npy`` header: a member that claims a shape of
8 GiB is allocated before the reader notices there is no data. This reader checks,
per member and **before allocating**:

* the member is a ``<name>.npy`` file, stored or deflated, named once in the archive;
* its compressed bytes lie inside the archive, a stored member's size equals its
  compressed size, and a deflated member claims at most what deflate can produce
  from its compressed size (1032 bytes per byte): decompression is bounded;
* its ``.npy`` header (format 1.0 or 2.0, at most 10,000 bytes, parsed without
  pickle) gives a plain dtype (booleans, integers, floats, complex; no objects, no
  structured records) and a shape whose size, with the header, is exactly the
  member's uncompressed size.

Then it fills one array of that size and checks the member's CRC. Arrays come back
C-contiguous in native byte order (a big-endian member is byte-swapped in place), so
they behave like any other tensor's data. Every malformed archive raises
:class:`NpzError` (a ``ValueError``) naming the file, the member and the problem.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Mapping
from typing import IO, TypeAlias

import numpy as np

PathLike: TypeAlias = str | os.PathLike

_MAX_DEFLATE_RATIO = 1032  # the most that deflate expands one compressed byte to
_MAX_NPY_HEADER = 10_000  # NumPy's own default limit for .npy headers
_MAX_ARRAY_BYTES = 2**63 - 1


class NpzError(ValueError):
    """A file that is not a valid ``.npz`` archive of plain arrays."""


def load_npz(path: PathLike, string_keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays of the archive at ``path``, by member name (without ``.npy``).

    Arrays must be booleans or numbers; members named in ``string_keys`` may also
    hold Unicode strings (minigrad's structure entry)."""
    name = os.fspath(path)
    with open(path, "rb") as f:
        if f.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip's first entry / empty
            raise NpzError(f"{name}: not an .npz file (it does not start as a zip archive)")
        size = os.fstat(f.fileno()).st_size
        try:
            with zipfile.ZipFile(f) as zf:
                infos = zf.infolist()
                seen: set[str] = set()
                arrays = {}
                for info in infos:
                    if info.filename in seen:
                        raise NpzError(f"{name}: member {info.filename!r} appears twice")
                    seen.add(info.filename)
                    key, array = _read_member(zf, info, size, name, string_keys)
                    arrays[key] = array
        except NpzError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
            raise NpzError(f"{name}: corrupt or truncated .npz file ({e})") from e
    return arrays


def _read_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    archive_size: int,
    name: str,
    string_keys: tuple[str, ...],
) -> tuple[str, np.ndarray]:
    where = f"{name}: member {info.filename!r}"
    if not info.filename.endswith(".npy"):
        raise NpzError(f"{where} is not an .npy array, which minigrad cannot load")
    key = info.filename[:-4]
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        method = info.compress_type
        raise NpzError(f"{where} uses compression method {method} (need stored or deflate)")
    if info.header_offset + info.compress_size > archive_size:
        raise NpzError(
            f"{where} claims {info.compress_size} compressed bytes from offset "
            f"{info.header_offset}, past the end of the {archive_size}-byte archive (truncated)"
        )
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise NpzError(f"{where} is stored uncompressed but its two sizes differ")
    if info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 64:
        raise NpzError(
            f"{where} claims {info.file_size} bytes from {info.compress_size} compressed "
            "bytes, more than deflate can produce"
        )
    with zf.open(info) as fp:
        dtype, shape, fortran, header_len = _npy_header(fp, where)
        if dtype.kind not in ("biufc" + ("U" if key in string_keys else "")):
            raise NpzError(f"{where} has dtype {dtype}, which minigrad cannot load")
        count = 1
        for d in shape:
            count *= d
        nbytes = count * dtype.itemsize
        if header_len + nbytes != info.file_size:
            raise NpzError(
                f"{where} claims shape {shape} of {dtype} ({nbytes} bytes) but holds "
                f"{info.file_size - header_len} bytes of data"
            )
        array = np.empty(shape, dtype, order="F" if fortran else "C")
        _fill(fp, array, where)
    if fortran:
        array = np.ascontiguousarray(array)
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return key, array


def _npy_header(fp: IO[bytes], where: str) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """The dtype, shape, Fortran flag and byte length of a member's ``.npy`` header."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fp, _MAX_NPY_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fp, _MAX_NPY_HEADER)
        else:
            raise NpzError(f"{where} has .npy format version {version}, which is not read")
    except NpzError:
        raise
    except (ValueError, EOFError, SyntaxError, TypeError) as e:
        raise NpzError(f"{where} has a malformed .npy header ({e})") from e
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise NpzError(f"{where} has dtype {dtype}, which needs pickle or is structured")
    if not all(type(d) is int and d >= 0 for d in shape):
        raise NpzError(f"{where} has an invalid shape {shape}")
    count = dtype.itemsize
    for d in shape:
        count *= d or 1
    if count > _MAX_ARRAY_BYTES:
        raise NpzError(f"{where} has a shape {shape} too large to address")
    return dtype, shape, fortran, fp.tell()


def _fill(fp: IO[bytes], array: np.ndarray, where: str) -> None:
    """Read exactly ``array.nbytes`` bytes into ``array``, then check the member ends
    there (which also makes zipfile verify its CRC)."""
    order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
    view = memoryview(array.reshape(-1, order=order).view(np.uint8))
    pos = 0
    while pos < len(view):
        got = fp.readinto(view[pos:])
        if not got:
            raise NpzError(f"{where} ends after {pos} of {len(view)} data bytes (truncated)")
        pos += got
    if fp.read(1):
        raise NpzError(f"{where} has bytes after its array data")


def save_npz(path: PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """What ``np.savez`` writes (an uncompressed zip of ``<name>.npy`` members), without
    savez's keyword-argument interface, which cannot take the names "file" or
    "allow_pickle"."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
