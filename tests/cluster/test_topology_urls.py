"""Parsing cluster and sentinel URLs; errors name the address, never the password."""

from __future__ import annotations

import pytest

import dmq_tools as dmq
from dmq_tools.errors import ConfigurationError, ConnectionFailedError
from dmq_tools.rdb.connection import redact_url
from dmq_tools.rdb.topology import parse_topology
from tests.helpers.redis_server import free_port

pytestmark = pytest.mark.cluster


def test_parse_cluster_and_sentinel():
    top = parse_topology("redis+cluster://h1:7000,h2:7001,[::1]:7002")
    assert top.kind == "cluster" and top.nodes == (("h1", 7000), ("h2", 7001), ("::1", 7002)) and not top.tls
    top = parse_topology("rediss+sentinel://user:p%40ss@s1,s2:26380/mymaster/2", password="ignored")
    assert (top.kind, top.tls, top.master, top.db) == ("sentinel", True, "mymaster", 2)
    assert top.nodes == (("s1", 26379), ("s2", 26380))
    assert (top.username, top.password) == ("user", "p@ss")
    assert parse_topology("redis+cluster://h:1", password="env").password == "env"
    assert "p@ss" not in top.address() and "pss" not in redact_url("rediss+sentinel://u:pss@s1/m")


@pytest.mark.parametrize("url, words", [
    ("redis+sentinel://:hunter2@h:26379", "master name"),
    ("redis+cluster://:hunter2@h:notaport", "bad port"),
    ("redis+cluster://:hunter2@h:7000/3", "database 0"),
    ("redis+sentinel://:hunter2@h:26379/m/x", "database number"),
])
def test_bad_urls(url, words):
    with pytest.raises(ConfigurationError) as err:
        dmq.connect(url)
    assert words in str(err.value) and "hunter2" not in str(err.value)


def test_unreachable_sentinel_from_env(monkeypatch):
    monkeypatch.setenv("REDIS_URL", f"redis+sentinel://127.0.0.1:{free_port()}/mymaster")
    monkeypatch.setenv("REDIS_PASSWORD", "hunter2")
    with pytest.raises(ConnectionFailedError) as err:
        dmq.connect(socket_timeout=0.5)
    text = str(err.value)
    assert "redis+sentinel://127.0.0.1" in text and "REDIS_URL" in text and "hunter2" not in text


def test_tls_options_in_the_query():
    top = parse_topology("rediss+cluster://h1:7000?ssl_ca_certs=/etc/ca.pem&ssl_check_hostname=false")
    assert top.tls_kwargs() == {"ssl": True, "ssl_ca_certs": "/etc/ca.pem", "ssl_check_hostname": False}
    assert parse_topology("redis+sentinel://s1/m").tls_kwargs() == {}
    with pytest.raises(ConfigurationError, match="needs TLS"):
        parse_topology("redis+cluster://h1:7000?ssl_ca_certs=/etc/ca.pem")
    with pytest.raises(ConfigurationError, match="unknown option 'timeout'") as err:
        parse_topology("rediss+sentinel://:hunter2@s1/m?timeout=3")
    assert "hunter2" not in str(err.value)
