"""connect(): url argument > REDIS_URL (+REDIS_PASSWORD) > embedded; .env; one clear error."""

from __future__ import annotations

import traceback
from urllib.parse import urlsplit

import pytest

import dmq_tools as dmq
from dmq_tools.errors import ConfigurationError, ConnectionFailedError
from dmq_tools.rdb.connection import normalize_url, redact_url
from tests.helpers.redis_server import free_port

SECRET = "hunter2-Zq9"


def _port(client) -> int:
    return client.connection_pool.connection_kwargs["port"]


def _hostport(redis_url: str) -> str:
    parts = urlsplit(redis_url)
    return f"{parts.hostname}:{parts.port}"


def _full_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc)


def test_url_argument_beats_redis_url(redis_url, monkeypatch):
    monkeypatch.setenv("REDIS_URL", f"127.0.0.1:{free_port()}")  # nothing listens there
    client = dmq.connect(redis_url)
    assert client.ping() and _port(client) == urlsplit(redis_url).port


def test_redis_url_in_seed_form(redis_url, monkeypatch):
    monkeypatch.setenv("REDIS_URL", _hostport(redis_url))
    client = dmq.connect()
    assert client.ping() and _port(client) == urlsplit(redis_url).port


def test_dotenv_is_read_when_env_is_unset(redis_url, tmp_path, monkeypatch):
    (tmp_path / "cwd" / ".env").write_text(f"REDIS_URL={_hostport(redis_url)}\n")
    client = dmq.connect()
    assert _port(client) == urlsplit(redis_url).port


def test_dotenv_does_not_override_the_environment(redis_url, tmp_path, monkeypatch):
    (tmp_path / "cwd" / ".env").write_text(f"REDIS_URL=127.0.0.1:{free_port()}\nREDIS_PASSWORD=wrong\n")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_PASSWORD", "")  # set (empty) in the real env: .env must not fill it
    client = dmq.connect()
    assert client.ping() and _port(client) == urlsplit(redis_url).port


def test_embedded_when_nothing_is_set(data_dir, monkeypatch):
    monkeypatch.setenv("DMQ_DATA_DIR", str(data_dir))
    monkeypatch.setenv("REDIS_PASSWORD", SECRET)  # for some other Redis: not sent to the embedded one
    client = dmq.connect()
    assert client.ping()
    assert client.connection_pool.connection_kwargs["path"] == str(data_dir / "redis.sock")
    assert dmq.connect().connection_pool.connection_kwargs["path"] == str(data_dir / "redis.sock")


def test_redis_password_is_applied(password_redis, monkeypatch):
    port, password = password_redis
    monkeypatch.setenv("REDIS_URL", f"127.0.0.1:{port}")
    monkeypatch.setenv("REDIS_PASSWORD", password)
    assert dmq.connect().ping()
    assert dmq.connect(f"redis://127.0.0.1:{port}/0").ping()  # also for the url argument
    # a password inside the URL wins over REDIS_PASSWORD
    monkeypatch.setenv("REDIS_PASSWORD", SECRET)
    assert dmq.connect(f"redis://:{password}@127.0.0.1:{port}").ping()


@pytest.mark.parametrize("how", ["env", "url"])
def test_wrong_password_error_never_shows_it(password_redis, monkeypatch, how):
    port, _ = password_redis
    if how == "env":
        monkeypatch.setenv("REDIS_PASSWORD", SECRET)
        url = f"127.0.0.1:{port}"
    else:
        url = f"redis://default:{SECRET}@127.0.0.1:{port}/0"
    with pytest.raises(ConnectionFailedError) as info:
        dmq.connect(url)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert SECRET not in _full_text(info.value)


def test_missing_password_names_the_address(password_redis):
    port, password = password_redis
    with pytest.raises(ConnectionFailedError, match=f"127.0.0.1:{port}") as info:
        dmq.connect(f"127.0.0.1:{port}")
    assert password not in _full_text(info.value)


@pytest.mark.parametrize(
    "url, error, address",
    [
        ("http://:{pw}@localhost:6379", ConfigurationError, "localhost:6379"),
        ("redis://:{pw}@localhost:notaport", ConfigurationError, "localhost:notaport"),
        ("redis://:{pw}@localhost:99999", ConfigurationError, "localhost:99999"),
        ("redis://:{pw}@[::1", ConfigurationError, "[::1"),
        ("redis://:{pw}@localhost:6379/notadb", ConfigurationError, "localhost:6379"),
        ("redis://:{pw}@127.0.0.1:{free}", ConnectionFailedError, "127.0.0.1:{free}"),
        ("rediss://user:{pw}@127.0.0.1:{free}/0", ConnectionFailedError, "rediss://127.0.0.1:{free}"),
        (":{pw}@127.0.0.1:{free}", ConnectionFailedError, "127.0.0.1:{free}"),
        ("unix:///nonexistent/dmq/redis.sock?password={pw}", ConnectionFailedError,
         "/nonexistent/dmq/redis.sock"),
    ],
)
@pytest.mark.parametrize("via", ["argument", "REDIS_URL"])
def test_errors_name_the_address_never_the_password(url, error, address, via, monkeypatch):
    free = free_port()
    url, address = url.format(pw=SECRET, free=free), address.format(free=free)
    monkeypatch.setenv("REDIS_PASSWORD", SECRET + "-env")
    if via == "REDIS_URL":
        monkeypatch.setenv("REDIS_URL", url)
        url = None
    with pytest.raises(error) as info:
        dmq.connect(url)
    assert address in str(info.value)
    assert (via if via == "REDIS_URL" else "url argument") in str(info.value)
    text = _full_text(info.value)
    assert SECRET not in text  # neither the URL's password nor REDIS_PASSWORD


def test_refused_with_password_from_env_only(monkeypatch):
    port = free_port()
    monkeypatch.setenv("REDIS_URL", f"localhost:{port}")
    monkeypatch.setenv("REDIS_PASSWORD", SECRET)
    with pytest.raises(ConnectionFailedError, match=f"localhost:{port}") as info:
        dmq.connect()
    assert SECRET not in _full_text(info.value)


def test_normalize_url_forms():
    assert normalize_url("localhost:6379") == "redis://localhost:6379"
    assert normalize_url("redis://h:1/2", "p w") == "redis://:p%20w@h:1/2"
    assert normalize_url("rediss://user@h:1", "pw") == "rediss://user:pw@h:1"
    assert normalize_url("redis://:own@h:1", "pw") == "redis://:own@h:1"
    assert normalize_url("unix:///tmp/r.sock", "pw") == "unix:///tmp/r.sock?password=pw"
    assert normalize_url("unix:///tmp/r.sock?db=1", "pw") == "unix:///tmp/r.sock?db=1&password=pw"
    with pytest.raises(ConfigurationError, match="empty"):
        normalize_url("  ")


def test_redact_url_keeps_only_the_address():
    assert redact_url("redis://u:pw@h:7/3") == "redis://h:7/3"
    assert redact_url("h") == "redis://h:6379/0"
    assert redact_url("unix:///tmp/r.sock?password=pw") == "unix:///tmp/r.sock"
    assert redact_url("rediss://:pw@[::1]:6380") == "rediss://[::1]:6380/0"
