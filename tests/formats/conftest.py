"""Fixtures for the format tests."""

import pytest
from formats_helpers import make_records, write_capture


@pytest.fixture(scope="session")
def small_records():
    return make_records(30, max_payload=40)


@pytest.fixture(scope="session")
def small_capture(small_records):
    """Five record blocks, a footer and a trailer: about 2 KB."""
    return write_capture(small_records, block_size=300)
