"""Flower `Array`s to numpy without `np.load` parsing each `.npy` header (its ast.literal_eval)."""

from __future__ import annotations

import math

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
