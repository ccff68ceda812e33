"""Settings from the environment: defaults, parsing, errors that name the variable, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmq_tools.config import load_settings
from dmq_tools.errors import ConfigurationError


def test_defaults_follow_the_guide(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings({})
    assert (s.redis_url, s.worker_enabled, s.concurrency) == (None, True, 10)
    assert s.queues == {"critical": 6, "default": 3, "low": 1}
    assert s.media_root == (tmp_path / "media").resolve()
    assert s.api_port == 8080 and s.api_token is None


def test_values_are_parsed():
    s = load_settings({"REDIS_URL": "localhost:6379", "QUEUE_WORKER_ENABLED": "False",
                       "QUEUE_CONCURRENCY": " 20 ", "QUEUE_QUEUES": "critical=6, low",
                       "MEDIA_ROOT": "/srv/media", "SMTP_PORT": "2525", "SMTP_STARTTLS": "yes"})
    assert s.redis_url == "localhost:6379" and s.worker_enabled is False and s.concurrency == 20
    assert s.queues == {"critical": 6, "low": 1}
    assert s.media_root == Path("/srv/media") and s.smtp_port == 2525 and s.smtp_starttls


@pytest.mark.parametrize("env, name", [
    ({"QUEUE_CONCURRENCY": "ten"}, "QUEUE_CONCURRENCY"),
    ({"QUEUE_CONCURRENCY": "0"}, "QUEUE_CONCURRENCY"),
    ({"QUEUE_WORKER_ENABLED": "maybe"}, "QUEUE_WORKER_ENABLED"),
    ({"QUEUE_QUEUES": "critical=x"}, "QUEUE_QUEUES"),
    ({"QUEUE_QUEUES": ","}, "QUEUE_QUEUES"),
    ({"DMQ_API_PORT": "70000"}, "DMQ_API_PORT"),
    ({"SMTP_TIMEOUT": "-1"}, "SMTP_TIMEOUT"),
])
def test_a_bad_value_names_its_variable(env, name):
    with pytest.raises(ConfigurationError, match=name):
        load_settings(env)


def test_secrets_are_masked_everywhere():
    s = load_settings({"REDIS_URL": "redis://user:hunter2@db:6379/0", "REDIS_PASSWORD": "pw-secret",
                       "DMQ_API_TOKEN": "tok-secret", "SMTP_PASSWORD": "smtp-secret"})
    shown = repr(s) + str(s.masked())
    for secret in ("hunter2", "pw-secret", "tok-secret", "smtp-secret"):
        assert secret not in shown
    assert s.masked()["api_token"] == "***" and s.api_token == "tok-secret"


def test_dotenv_fills_in_and_the_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("QUEUE_CONCURRENCY=7\nDMQ_API_TOKEN=from-file\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DMQ_API_TOKEN", "from-env")
    monkeypatch.delenv("QUEUE_CONCURRENCY", raising=False)
    s = load_settings()
    assert s.concurrency == 7 and s.api_token == "from-env"
