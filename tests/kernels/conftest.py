"""Fixtures shared by the kernel builder's tests."""

import pytest


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """One build cache for the whole session, so each fixture is compiled at most once."""
    return tmp_path_factory.mktemp("kernel-cache")
