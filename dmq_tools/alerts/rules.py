"""Alert rules: what a YAML rule file says, validated once with errors naming the rule.

```yaml
defaults: {for: 30s, recover_after: 60s}
notifiers:
  - {type: log}
  - {type: webhook, url: "https://hooks.slack.com/services/..."}
  - {type: email, to: [ops@example.com]}
rules:
  - {name: critical-backlog, kind: queue_depth, queue: critical, threshold: 1000}
  - {name: slow, kind: oldest_pending_age, queue: "*", threshold: 5m}
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigurationError

__all__ = ["KINDS", "NotifierSpec", "Rule", "RuleFile", "load_rules", "parse_duration", "parse_rules"]

#: kind -> (needs a queue, needs a threshold, what the threshold means)
KINDS: dict[str, tuple[bool, bool, str]] = {
    "queue_depth": (True, True, "pending tasks"),
    "oldest_pending_age": (True, True, "seconds the oldest pending task waits (asynq latency)"),
    "failure_rate": (True, True, "failed/processed over `window` (0..1)"),
    "no_worker": (True, False, "no live worker serves the queue"),
    "archived_rising": (True, True, "archived tasks added within `window`"),
    "scheduler_not_ticking": (False, False, "a scheduler entry's next run is `grace` overdue"),
}
_DUR = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any, what: str) -> timedelta:
    """`90`, `30s`, `5m`, `1h30m` -> timedelta."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    text = str(value).strip().lower()
    pos, total = 0, 0.0
    for m in _DUR.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise ConfigurationError(f"{what}: {value!r} is not a duration (examples: 30s, 5m, 1h)")
    return timedelta(seconds=total)


@dataclass(frozen=True)
class Rule:
    """One signal compared with a threshold; `for_` and `recover_after` give hysteresis."""

    name: str
    kind: str
    queue: str = "*"
    threshold: float = 0.0
    window: timedelta = timedelta(minutes=5)
    for_: timedelta = timedelta(seconds=30)
    recover_after: timedelta = timedelta(seconds=60)
    min_processed: int = 10
    grace: timedelta = timedelta(minutes=1)
    description: str = ""


@dataclass(frozen=True)
class NotifierSpec:
    type: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleFile:
    rules: tuple[Rule, ...]
    notifiers: tuple[NotifierSpec, ...]
    interval: timedelta = timedelta(seconds=15)


def _threshold(kind: str, raw: Any, where: str) -> float:
    if kind == "oldest_pending_age":
        return parse_duration(raw, f"{where} threshold").total_seconds()
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{where}: threshold must be a number, got {raw!r}") from None
    if kind == "failure_rate" and not 0 <= value <= 1:
        raise ConfigurationError(f"{where}: failure_rate threshold is a fraction 0..1, got {value}")
    return value


def parse_rules(data: Any) -> RuleFile:
    """Validate a loaded YAML document (a mapping with `rules`, optional `notifiers`, `defaults`)."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list) or not data["rules"]:
        raise ConfigurationError("alert rules: expected a mapping with a non-empty `rules:` list")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigurationError("alert rules: `defaults:` must be a mapping")
    rules: list[Rule] = []
    for n, raw in enumerate(data["rules"], 1):
        if not isinstance(raw, dict):
            raise ConfigurationError(f"rule #{n}: expected a mapping")
        merged = {**defaults, **raw}
        name = str(merged.get("name") or "").strip()
        where = f"rule {name or '#' + str(n)}"
        if not name or not re.fullmatch(r"[\w.\-]+", name):
            raise ConfigurationError(f"{where}: `name` is required (letters, digits, _ . -)")
        kind = merged.get("kind")
        if kind not in KINDS:
            raise ConfigurationError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        needs_queue, needs_threshold, _ = KINDS[kind]
        if needs_threshold and "threshold" not in merged:
            raise ConfigurationError(f"{where}: `threshold` is required for {kind}")
        unknown = set(raw) - {"name", "kind", "queue", "threshold", "window", "for", "recover_after",
                              "min_processed", "grace", "description"}
        if unknown:
            raise ConfigurationError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        rules.append(Rule(
            name=name, kind=kind, queue=str(merged.get("queue", "*")) if needs_queue else "*",
            threshold=_threshold(kind, merged["threshold"], where) if needs_threshold else 0.0,
            window=parse_duration(merged.get("window", "5m"), f"{where} window"),
            for_=parse_duration(merged.get("for", "30s"), f"{where} for"),
            recover_after=parse_duration(merged.get("recover_after", "60s"), f"{where} recover_after"),
            min_processed=int(merged.get("min_processed", 10)),
            grace=parse_duration(merged.get("grace", "1m"), f"{where} grace"),
            description=str(merged.get("description", ""))))
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ConfigurationError(f"alert rules: duplicate rule names {twice}")
    notifiers = []
    for n, raw in enumerate(data.get("notifiers") or [{"type": "log"}], 1):
        if not isinstance(raw, dict) or raw.get("type") not in ("log", "webhook", "email"):
            raise ConfigurationError(f"notifier #{n}: `type` must be log, webhook or email")
        if raw["type"] == "webhook" and not str(raw.get("url", "")).startswith(("http://", "https://")):
            raise ConfigurationError(f"notifier #{n}: webhook needs an http(s) `url`")
        if raw["type"] == "email" and not raw.get("to"):
            raise ConfigurationError(f"notifier #{n}: email needs `to` (an address or a list)")
        notifiers.append(NotifierSpec(raw["type"], {k: v for k, v in raw.items() if k != "type"}))
    interval = parse_duration(data.get("interval", "15s"), "alert rules interval")
    return RuleFile(tuple(rules), tuple(notifiers), interval)


def load_rules(path: str | Path) -> RuleFile:
    """Read and validate a YAML rule file (safe_load: no Python objects)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read alert rules {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"alert rules {path}: invalid YAML: {exc}") from None
    return parse_rules(data)
