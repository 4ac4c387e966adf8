"""Fixtures of the fleet tests (test_propagation, test_propagation_spark, test_dataset).

Module-scoped: each module records its fleet of stand-in nodes once.
"""

from __future__ import annotations

import pytest

from .test_propagation import dataset_of, fleet


@pytest.fixture(scope="module")
def caps(ebpf, standin, tmp_path_factory):
    """The fleet's captures, recorded from stand-in nodes through real uprobes."""
    return fleet(tmp_path_factory, standin)


@pytest.fixture(scope="module")
def dataset(caps, tmp_path_factory):
    """Those captures exported as one Parquet dataset."""
    return dataset_of(tmp_path_factory, caps)
