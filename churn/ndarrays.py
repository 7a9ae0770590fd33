"""Flower `Array`s to and from numpy without `np.load`/`np.save` handling each `.npy` header."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from flwr.app import Array, ArrayRecord

_NPY_V1 = b"\x93NUMPY\x01\x00"


def ndarray(array: Array) -> np.ndarray:
    """`array.numpy()`, read straight from the buffer when the `.npy` header is the one
    `Array.from_numpy_ndarray` writes for this dtype and shape (version 1.0, C order);
    otherwise Flower's own `numpy()`. A writable copy, as `np.load` gives."""
    data = array.data
    if array.stype == "numpy.ndarray" and data[:8] == _NPY_V1:
        start = 10 + int.from_bytes(data[8:10], "little")
        dtype = np.dtype(array.dtype)
        header = data[10:start]
        if (dtype.kind in "biuf" and b"'fortran_order': False" in header
                and f"'descr': '{dtype.str}'".encode() in header
                and f"'shape': {tuple(array.shape)}".encode() in header
                and len(data) - start == dtype.itemsize * math.prod(array.shape)):
            return np.frombuffer(data, dtype=dtype, offset=start).reshape(array.shape).copy()
    return array.numpy()


def ndarrays(record: ArrayRecord) -> list[np.ndarray]:
    """`record.to_numpy_ndarrays()` through `ndarray`."""
    return [ndarray(a) for a in record.values()]


# (dtype, shape) -> the .npy header Flower's np.save wrote for it; sparse histograms give one
# (3, k) shape per occupancy k, so a few hundred entries in a run
_HEADERS: dict[tuple[str, tuple[int, ...]], bytes] = {}
_MAX_HEADERS = 4096


def array(values: np.ndarray) -> Array:
    """`Array.from_numpy_ndarray(values)`, the same bytes, with the `.npy` header taken from the
    first array of its dtype and shape (17 -> 11 us an array, measured; most of what is left is
    Array's own argument checks). Arrays laid out otherwise (Fortran order, objects) always
    go through Flower's own."""
    if values.dtype.kind not in "biuf" or not values.flags.c_contiguous:
        return Array.from_numpy_ndarray(values)
    key = (values.dtype.str, values.shape)
    header = _HEADERS.get(key)
    if header is None:
        flowers = Array.from_numpy_ndarray(values)
        if len(_HEADERS) < _MAX_HEADERS:
            _HEADERS[key] = flowers.data[:len(flowers.data) - values.nbytes]
        return flowers
    return Array(dtype=str(values.dtype), shape=tuple(values.shape), stype="numpy.ndarray",
                 data=header + values.tobytes())


def array_record(arrays: Sequence[np.ndarray]) -> ArrayRecord:
    """`ArrayRecord(arrays)`: keys "0", "1", ... as Flower numbers them, each through `array`."""
    return ArrayRecord({str(i): array(a) for i, a in enumerate(arrays)})
