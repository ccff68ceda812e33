"""The deployment's settings, read in one place: the environment over a `./.env` file.

Every command and built-in task takes its configuration from `load_settings()`, so a bad value
fails once, early, with the variable's name. Secrets (passwords, the API token) never appear in
`repr()` or in `Settings.masked()`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping

from .errors import ConfigurationError

__all__ = ["Settings", "load_settings", "parse_queue_weights", "parse_bool", "DEFAULT_QUEUES"]

DEFAULT_QUEUES: dict[str, int] = {"critical": 6, "default": 3, "low": 1}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_SECRET = "***"


def parse_bool(value: str, name: str) -> bool:
    """`true/false/yes/no/on/off/1/0`, any case; anything else names the variable."""
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {value!r}")


def _int(value: str, name: str, *, low: int, high: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _float(value: str, name: str, *, low: float, high: float) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigurationError(f"{name} must be between {low:g} and {high:g}, got {number:g}")
    return number


def parse_queue_weights(spec: str, name: str = "QUEUE_QUEUES") -> dict[str, int]:
    """`critical=6,default=3,low=1` (a name without `=N` weighs 1)."""
    weights: dict[str, int] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        queue, sep, weight = part.partition("=")
        queue = queue.strip()
        if not queue:
            raise ConfigurationError(f"{name}: blank queue name in {part!r}")
        weights[queue] = _int(weight, f"{name} weight of {queue!r}", low=1, high=1_000_000) if sep else 1
    if not weights:
        raise ConfigurationError(f"{name} names no queue; use e.g. critical=6,default=3,low=1")
    return weights


@dataclass(frozen=True, repr=False)
class Settings:
    """What a dmq deployment is configured with (see `docs/configuration.md`)."""

    redis_url: str | None = None                      # REDIS_URL; None: the embedded server
    redis_password: str | None = field(default=None, repr=False)   # REDIS_PASSWORD
    worker_enabled: bool = True                       # QUEUE_WORKER_ENABLED
    concurrency: int = 10                             # QUEUE_CONCURRENCY
    queues: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUEUES))  # QUEUE_QUEUES
    strict_priority: bool = False                     # QUEUE_STRICT_PRIORITY
    api_token: str | None = field(default=None, repr=False)        # DMQ_API_TOKEN
    api_host: str = "127.0.0.1"                       # DMQ_API_HOST (0.0.0.0 in a container)
    api_port: int = 8080                              # DMQ_API_PORT
    api_allowed_hosts: tuple[str, ...] = ()           # DMQ_API_ALLOWED_HOSTS (beyond localhost names)
    api_max_body: int = 1_048_576                     # DMQ_API_MAX_BODY (bytes; larger bodies get 413)
    media_root: Path = field(default_factory=lambda: Path.cwd() / "media")  # MEDIA_ROOT
    image_max_pixels: int = 50_000_000                # DMQ_IMAGE_MAX_PIXELS (decompression-bomb cap)
    schedule_file: Path | None = None                 # DMQ_SCHEDULE (YAML/TOML periodic tasks)
    alert_rules: Path | None = None                   # DMQ_ALERT_RULES (evaluated by `dmq serve`)
    smtp_host: str | None = None                      # SMTP_HOST
    smtp_port: int | None = None                      # SMTP_PORT (25, 465 with SSL, 587 with STARTTLS)
    smtp_username: str | None = None                  # SMTP_USERNAME
    smtp_password: str | None = field(default=None, repr=False)    # SMTP_PASSWORD
    smtp_starttls: bool = False                       # SMTP_STARTTLS
    smtp_ssl: bool = False                            # SMTP_SSL
    smtp_from: str = "dmq@localhost"                  # SMTP_FROM
    smtp_timeout: float = 30.0                        # SMTP_TIMEOUT (seconds)

    _SECRETS = ("redis_password", "api_token", "smtp_password")

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.masked().items())
        return f"Settings({shown})"

    def masked(self) -> dict[str, Any]:
        """Every setting as plain values, secrets replaced by `***` (for `dmq config`)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in self._SECRETS:
                value = _SECRET if value else None
            elif f.name == "redis_url" and value:
                value = _redact_url(value)
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, dict):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def _redact_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.partition(":")[0]
    return f"{scheme}://{user + ':' if user else ':'}{_SECRET}@{host}"


def _environment(env: Mapping[str, str] | None, dotenv: bool) -> dict[str, str]:
    if env is not None:
        return dict(env)
    merged: dict[str, str] = {}
    if dotenv:
        try:
            from dotenv import dotenv_values
        except ImportError:  # pragma: no cover - python-dotenv is a dependency
            pass
        else:
            path = Path.cwd() / ".env"
            if path.is_file():
                merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    merged.update(os.environ)
    return merged


def _int_in(low: int, high: int) -> Callable[[str, str], int]:
    return lambda v, name: _int(v, name, low=low, high=high)


def _path(v: str, name: str) -> Path:
    return Path(v).expanduser()


def _as_is(v: str, name: str) -> str:
    return v


#: Optional variables: (name, Settings field, parser of the stripped text); absent -> the default.
_PARSED: tuple[tuple[str, str, Callable[[str, str], Any]], ...] = (
    ("QUEUE_WORKER_ENABLED", "worker_enabled", parse_bool),
    ("QUEUE_CONCURRENCY", "concurrency", _int_in(1, 10_000)),
    ("QUEUE_QUEUES", "queues", parse_queue_weights),
    ("QUEUE_STRICT_PRIORITY", "strict_priority", parse_bool),
    ("DMQ_API_HOST", "api_host", _as_is),
    ("DMQ_API_PORT", "api_port", _int_in(0, 65535)),
    ("DMQ_API_ALLOWED_HOSTS", "api_allowed_hosts",
     lambda v, _name: tuple(h.strip().lower() for h in v.split(",") if h.strip())),
    ("DMQ_API_MAX_BODY", "api_max_body", _int_in(1024, 1 << 30)),
    ("DMQ_IMAGE_MAX_PIXELS", "image_max_pixels", _int_in(1, 1 << 34)),
    ("DMQ_SCHEDULE", "schedule_file", _path),
    ("DMQ_ALERT_RULES", "alert_rules", _path),
    ("SMTP_SSL", "smtp_ssl", parse_bool),
    ("SMTP_STARTTLS", "smtp_starttls", parse_bool),
    ("SMTP_PORT", "smtp_port", _int_in(1, 65535)),
    ("SMTP_FROM", "smtp_from", _as_is),
    ("SMTP_TIMEOUT", "smtp_timeout", lambda v, name: _float(v, name, low=0.1, high=3600)),
)


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Settings from `env` (default: the environment over ./.env); ConfigurationError names the variable."""
    e = _environment(env, dotenv)

    def text(name: str) -> str | None:
        value = e.get(name)
        return value.strip() if value and value.strip() else None

    kwargs: dict[str, Any] = {
        "redis_url": text("REDIS_URL") or text("DMQ_REDIS_URL"),
        "redis_password": e.get("REDIS_PASSWORD") or None,
        "api_token": e.get("DMQ_API_TOKEN") or None,
        "smtp_password": e.get("SMTP_PASSWORD") or None,
        "smtp_host": text("SMTP_HOST"),
        "smtp_username": text("SMTP_USERNAME"),
    }
    for name, key, parse in _PARSED:
        if (v := text(name)) is not None:
            kwargs[key] = parse(v, name)
    if (v := text("MEDIA_ROOT")) is not None:
        kwargs["media_root"] = Path(v).expanduser().resolve()
    else:
        kwargs["media_root"] = (Path.cwd() / "media").resolve()
    return Settings(**kwargs)
