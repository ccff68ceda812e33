"""Fixtures for inspector, export and CLI tests (real Redis, seeded raw)."""

from __future__ import annotations

import pytest


@pytest.fixture
def insp(r):
    from dmq_tools.inspector import Inspector

    return Inspector(r)
