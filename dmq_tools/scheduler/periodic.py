"""`PeriodicTaskManager`: scheduler entries from a provider, re-synced every `sync_interval`.

asynq's PeriodicTaskManager (asynq-protocol.md §9.2): the provider is a callable returning
configs, or a YAML/TOML file. Each sync diffs the configs by their entry key (spec, zone, type,
payload, option strings), so only added/removed configs are (un)registered; unchanged entries
keep their schedule. An invalid config during a periodic sync skips that sync with a log; at
`start()` it raises.

File format (YAML; TOML uses `[[tasks]]` tables with the same keys):

    - cron: "*/5 * * * *"
      task: email:digest
      payload: {"list": "weekly"}
      options: {queue: low, max_retry: 3, timeout: 30m, unique: 1h, retention: 24h}
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterable

from ..errors import ConfigurationError, DmqError
from ..models import SchedulerEntry
from ..task import Task
from .engine import Scheduler
from .gofmt import parse_duration

__all__ = ["PeriodicTaskConfig", "PeriodicTaskManager", "SyncResult", "load_configs"]

log = logging.getLogger(__name__)

_DURATION_OPTS = {"timeout", "unique", "retention", "process_in"}
_TIME_OPTS = {"deadline", "process_at"}
_ALLOWED_OPTS = _DURATION_OPTS | _TIME_OPTS | {"queue", "max_retry", "task_id", "group", "headers"}


@dataclass(frozen=True)
class PeriodicTaskConfig:
    """One periodic task: a cron spec, a task and its enqueue options."""

    cron: str
    task: Task
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncResult:
    added: int
    removed: int
    unchanged: int


Provider = Callable[[], Iterable[Any]] | str | Path


def _duration(value: Any, name: str) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        try:
            return parse_duration(value.strip())
        except ValueError as exc:
            raise ConfigurationError(f"option {name}: bad duration {value!r} (use e.g. 30s, 1h30m)") from exc
    raise ConfigurationError(f"option {name}: expected a duration, got {value!r}")


def _time(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ConfigurationError(f"option {name}: bad ISO 8601 time {value!r}") from exc
    else:
        raise ConfigurationError(f"option {name}: expected a time, got {value!r}")
    if when.tzinfo is None:
        raise ConfigurationError(f"option {name}: time {value!r} needs a UTC offset")
    return when


def _options(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{where}: options must be a mapping")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in _ALLOWED_OPTS:
            raise ConfigurationError(f"{where}: unknown option {name!r}")
        if name in _DURATION_OPTS:
            out[name] = _duration(value, name)
        elif name in _TIME_OPTS:
            out[name] = _time(value, name)
        elif name == "max_retry":
            out[name] = int(value)
        elif name == "headers":
            out[name] = {str(k): str(v) for k, v in dict(value).items()}
        else:
            out[name] = str(value)
    return out


def _config(item: Any, where: str) -> PeriodicTaskConfig:
    """A PeriodicTaskConfig from a config object or a mapping {cron, task, payload, options}."""
    if isinstance(item, PeriodicTaskConfig):
        return item
    if not isinstance(item, dict):
        raise ConfigurationError(f"{where}: expected a mapping with cron and task, got {item!r}")
    unknown = set(item) - {"cron", "task", "payload", "options", "headers"}
    if unknown:
        raise ConfigurationError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    spec, task_type = item.get("cron"), item.get("task")
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigurationError(f"{where}: 'cron' must be a non-empty string")
    if isinstance(task_type, Task):
        task = task_type
    elif isinstance(task_type, str) and task_type.strip():
        task = Task(task_type, item.get("payload"), headers=item.get("headers"))
    else:
        raise ConfigurationError(f"{where}: 'task' must be a task type name")
    return PeriodicTaskConfig(spec, task, _options(item.get("options"), where))


def load_configs(path: str | Path) -> list[PeriodicTaskConfig]:
    """Read a YAML (.yaml/.yml) or TOML (.toml) schedule file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read schedule file {p}: {exc}") from exc
    if p.suffix.lower() == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # Python 3.10
            import tomli as tomllib
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{p}: invalid TOML: {exc}") from exc
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"{p}: invalid YAML: {exc}") from exc
    if isinstance(data, dict):
        if "tasks" not in data:
            raise ConfigurationError(f"{p}: expected a list of tasks (or a 'tasks' list)")
        data = data["tasks"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigurationError(f"{p}: expected a list of tasks (or a 'tasks' list)")
    return [_config(item, f"{p} item {i + 1}") for i, item in enumerate(data)]


class PeriodicTaskManager:
    """Keeps a Scheduler's entries equal to what a provider returns."""

    def __init__(
        self,
        redis: Any = None,
        *,
        provider: Provider,
        sync_interval: timedelta = timedelta(minutes=3),
        scheduler: Scheduler | None = None,
        **scheduler_options: Any,
    ) -> None:
        if provider is None:
            raise ConfigurationError("PeriodicTaskManager needs a provider (callable or file path)")
        self.provider = provider
        self.sync_interval = sync_interval
        self.scheduler = scheduler or Scheduler(redis, **scheduler_options)
        self._ids: dict[str, str] = {}  # entry ID -> spec, for the entries we registered
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sync_lock = threading.Lock()

    def read_configs(self) -> list[PeriodicTaskConfig]:
        if isinstance(self.provider, (str, Path)):
            return load_configs(self.provider)
        items = self.provider()
        if items is None:
            raise ConfigurationError("provider returned None")
        return [_config(item, f"provider item {i + 1}") for i, item in enumerate(items)]

    def sync(self) -> SyncResult:
        """Re-read the provider; register new configs, unregister removed ones.

        Raises on a provider error or an invalid config, leaving the entries unchanged.
        """
        with self._sync_lock:
            configs = self.read_configs()
            # Validate everything first (a bad spec anywhere skips the whole sync).
            wanted: dict[str, PeriodicTaskConfig] = {}
            for cfg in configs:
                wanted[self.scheduler.entry_id(cfg.cron, cfg.task, **cfg.options)] = cfg
            current = set(self._ids)
            removed = current - set(wanted)
            added = [i for i in wanted if i not in current]
            for entry_id in removed:
                self.scheduler.unregister(entry_id)
                del self._ids[entry_id]
            for entry_id in added:
                cfg = wanted[entry_id]
                got = self.scheduler.register(cfg.cron, cfg.task, **cfg.options)
                self._ids[got] = cfg.cron
            result = SyncResult(len(added), len(removed), len(current & set(wanted)))
        if result.added or result.removed:
            log.info("periodic tasks synced: %d added, %d removed, %d unchanged",
                     result.added, result.removed, result.unchanged)
        return result

    def entries(self) -> list[SchedulerEntry]:
        return self.scheduler.entries()

    def start(self) -> PeriodicTaskManager:
        """Initial sync (raises if the provider fails or a config is invalid), then run."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self.sync()
        self.scheduler.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="dmq-periodic-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.scheduler.stop()

    def run(self) -> None:
        """Blocking: initial sync, then run the scheduler until SIGINT/SIGTERM."""
        self.sync()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="dmq-periodic-sync", daemon=True)
        self._thread.start()
        try:
            self.scheduler.run()
        finally:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.sync_interval.total_seconds()):
            try:
                self.sync()
            except (DmqError, ValueError, TypeError, OSError) as exc:
                log.error("periodic task sync skipped: %s", exc)
            except Exception:  # noqa: BLE001 - e.g. Redis unavailable; try again next interval
                log.exception("periodic task sync failed")
