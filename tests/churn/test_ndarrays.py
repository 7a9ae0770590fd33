"""Fast Array -> numpy decoding gives exactly what Flower's `Array.numpy()` gives."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord

from churn.ndarrays import ndarray, ndarrays

CASES = [np.zeros((1, 45)), np.arange(3.0), np.arange(12, dtype=np.int64).reshape(3, 4),
         np.zeros(0), np.zeros((3, 0)), np.float32([1.5, -0.0]), np.array(3.0),
         np.array([True, False]), np.asfortranarray(np.arange(12.0).reshape(3, 4)),
         np.arange(6, dtype=">f8"), np.array([np.nan, np.inf, -np.inf])]


@pytest.mark.parametrize("values", CASES, ids=lambda v: f"{v.dtype.str}{v.shape}")
def test_decoding_matches_flowers_own(values: np.ndarray) -> None:
    array = Array.from_numpy_ndarray(values)
    out, ref = ndarray(array), array.numpy()
    assert out.dtype == ref.dtype and out.shape == ref.shape
    np.testing.assert_array_equal(out, ref)
    assert out.flags.writeable and out.flags.c_contiguous == ref.flags.c_contiguous
    out[...] = 0  # a copy: the message's bytes are untouched
    np.testing.assert_array_equal(array.numpy(), values)


def test_a_record_decodes_in_order() -> None:
    coef, intercept = np.arange(45.0).reshape(1, 45), np.array([0.5])
    out = ndarrays(ArrayRecord([coef, intercept]))
    assert [a.shape for a in out] == [(1, 45), (1,)]
    np.testing.assert_array_equal(out[0], coef)


def test_a_header_that_disagrees_with_the_fields_goes_through_numpy_load() -> None:
    array = Array.from_numpy_ndarray(np.arange(4.0))
    lying = Array(dtype=array.dtype, shape=(2, 2), stype=array.stype, data=array.data)
    assert ndarray(lying).shape == (4,)  # np.load reads the header, as Flower does
