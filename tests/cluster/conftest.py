"""A real three-master Redis Cluster per session (flushed per test) and a Sentinel set per module."""

from __future__ import annotations

import pytest

from dmq_tools.rdb import connect
from tests.helpers.redis_cluster import ClusterSet, SentinelSet
from tests.helpers.redis_server import redis_server_binary


def _binary() -> str:
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server found")
    return binary


@pytest.fixture(scope="session")
def cluster():
    c = ClusterSet(_binary()).start()
    yield c
    c.cleanup()


@pytest.fixture
def cluster_url(cluster) -> str:
    cluster.flush()
    return cluster.url


@pytest.fixture
def rc(cluster_url):
    """A RedisCluster client of the flushed cluster."""
    client = connect(cluster_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def sentinels():
    s = SentinelSet(_binary()).start()
    yield s
    s.cleanup()
