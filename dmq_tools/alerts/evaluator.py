"""AlertEvaluator: observe every rule on a timer and send each notice once across evaluators.

The state of each rule instance lives in Redis (`rdb.ops.alert_observe`, one Lua script), so
several evaluators (a `dmq alerts` per host, one inside each `dmq serve`) fire and recover each
alert exactly once; `for` and `recover_after` keep a flapping signal from sending notices.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import datetime

from ..inspector import Inspector
from ..models import ActiveAlert
from ..rdb import ops
from .notifiers import Notice, Notifier, build_notifiers
from .rules import RuleFile
from .signals import ArchivedHistory, Observation, Snapshot, observe
from ..clock import utc as _UTC

__all__ = ["ActiveAlert", "AlertEvaluator", "active_alerts"]

log = logging.getLogger("dmq_tools.alerts")


def active_alerts(inspector: Inspector) -> list[ActiveAlert]:
    """Alerts firing now (written by any evaluator on this Redis), oldest first."""
    return inspector.active_alerts()


class AlertEvaluator:
    """`run_once()` evaluates every rule; `start()` runs it every `interval` in a daemon thread."""

    def __init__(self, inspector: Inspector, rules: RuleFile, notifiers: list[Notifier] | None = None,
                 interval: float | None = None) -> None:
        self.inspector = inspector
        self.rules = rules
        self.notifiers = build_notifiers(rules.notifiers) if notifiers is None else list(notifiers)
        self.interval = rules.interval.total_seconds() if interval is None else float(interval)
        self.sent: deque[Notice] = deque(maxlen=1000)   # notices this evaluator sent (newest last)
        self._archived = ArchivedHistory()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _notify(self, obs: Observation, status: str) -> Notice:
        notice = Notice(obs.key, obs.rule.name, obs.rule.kind, obs.queue, status, obs.value, obs.message,
                        datetime.now(_UTC))
        self.sent.append(notice)
        for n in self.notifiers:
            try:
                n.send(notice)
            except Exception as exc:  # noqa: BLE001 - one broken notifier must not silence the others
                log.error("alert notifier %s failed for %s: %s", type(n).__name__, obs.key, exc)
        return notice

    def run_once(self) -> list[Notice]:
        """Observe every rule once; returns the notices this call sent."""
        out: list[Notice] = []
        snap = Snapshot.take(self.inspector)
        for rule in self.rules.rules:
            try:
                observations = observe(rule, snap, self.inspector, self._archived)
            except Exception as exc:  # noqa: BLE001
                log.error("alert rule %s could not be evaluated: %s", rule.name, exc)
                continue
            for obs in observations:
                t = ops.alert_observe(self.inspector.rdb, obs.key, obs.breached, rule.for_.total_seconds(),
                                      rule.recover_after.total_seconds(), obs.value, obs.message)
                if t.code in (1, 2):
                    out.append(self._notify(obs, "firing" if t.code == 1 else "resolved"))
        return out

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - Redis down: try again next interval
                log.error("alert evaluation failed: %s", exc)
            self._stop.wait(self.interval)

    def start(self) -> AlertEvaluator:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="dmq-alerts", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run(self) -> None:
        """Blocking loop (the CLI); returns on KeyboardInterrupt."""
        try:
            self._loop()
        except KeyboardInterrupt:
            pass

    def __enter__(self) -> AlertEvaluator:  # noqa: PYI034 - Python 3.10 has no typing.Self
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
