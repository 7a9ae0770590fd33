"""Fast Array <-> numpy encoding and decoding give exactly what Flower's own gives."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord

from churn.ndarrays import array, array_record, ndarray, ndarrays

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


@pytest.mark.parametrize("values", CASES, ids=lambda v: f"{v.dtype.str}{v.shape}")
def test_encoding_writes_flowers_own_bytes(values: np.ndarray) -> None:
    for _ in range(2):  # the first of a dtype and shape goes through Flower, the next is cached
        ours, flowers = array(values), Array.from_numpy_ndarray(values)
        assert (ours.dtype, ours.shape, ours.stype, ours.data) == (
            flowers.dtype, flowers.shape, flowers.stype, flowers.data)


def test_a_cached_header_is_only_used_for_its_own_dtype_and_shape() -> None:
    array(np.zeros((2, 3)))
    for other in (np.zeros((3, 2)), np.zeros(6), np.zeros((2, 3), dtype=np.float32),
                  np.zeros((2, 3), dtype=">f8")):
        np.testing.assert_array_equal(array(other).numpy(), other)
        assert array(other).numpy().dtype == other.dtype


def test_a_record_encodes_as_flowers_does() -> None:
    coef, intercept = np.arange(45.0).reshape(1, 45), np.array([0.5])
    ours, flowers = array_record([coef, intercept]), ArrayRecord([coef, intercept])
    assert list(ours) == list(flowers) == ["0", "1"]
    assert [a.data for a in ours.values()] == [a.data for a in flowers.values()]
