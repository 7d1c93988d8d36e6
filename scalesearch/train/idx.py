"""A strict reader of the IDX format (LeCun's MNIST files; Fashion-MNIST, KMNIST and EMNIST use it too).

An IDX file is two zero bytes, a type byte (0x08: unsigned bytes, the only type image and label files use),
the number of dimensions, each dimension as a big-endian 32-bit count, then the values in C order. The file
may be gzip-compressed (as distributed, and as Debian's dataset-fashion-mnist installs it) or raw (as
torchvision's download folders keep it); the reader tells them apart by the gzip magic bytes, not the name.

Every defect is a one-line ``DataError`` naming the file: a wrong magic number, a type other than unsigned
bytes, an unexpected number of dimensions, a file shorter or longer than its header says, a corrupted or
truncated gzip stream. Nothing is guessed: a file is exactly what its header declares, or it is refused.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from scalesearch.core.errors import DataError

UBYTE = 0x08
MAX_IDX_BYTES = 2**31  # 2 GB: far above every MNIST-format file (EMNIST's largest is ~600 MB raw)
_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: Path) -> bytes:
    """The file's contents, decompressed when it is gzip. Errors name the file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            if head == _GZIP_MAGIC:
                with gzip.GzipFile(fileobj=fh) as gz:
                    data = gz.read(MAX_IDX_BYTES + 1)
            else:
                data = fh.read(MAX_IDX_BYTES + 1)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: corrupted or truncated gzip file ({exc}); download or reinstall it") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_IDX_BYTES:
        raise DataError(f"{path}: more than {MAX_IDX_BYTES:,} bytes; not an MNIST-format file")
    return data


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """The unsigned-byte array of IDX file ``path``, which must have ``ndim`` dimensions (3 for images,
    1 for labels). Read-only numpy array in the file's shape."""
    data = read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes; too short for an IDX header (is it an MNIST-format file?)")
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file (magic number 0x{data[:4].hex()}; an IDX file starts with two "
                        "zero bytes)")
    kind, dims = data[2], data[3]
    if kind != UBYTE:
        raise DataError(f"{path}: IDX value type 0x{kind:02x}; MNIST-format images and labels are unsigned bytes "
                        "(0x08)")
    if dims != ndim:
        what = "images" if ndim == 3 else "labels"
        raise DataError(f"{path}: IDX file with {dims} dimension(s); {what} have {ndim} (is it the right file?)")
    header = 4 + 4 * dims
    if len(data) < header:
        raise DataError(f"{path}: truncated in its header ({len(data)} bytes)")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    expected = header + math.prod(shape)
    if len(data) != expected:
        short = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(f"{path}: {short}: {len(data):,} bytes where a {' x '.join(map(str, shape))} IDX file has "
                        f"{expected:,}; download or reinstall it")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
