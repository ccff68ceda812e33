"""Notifiers: where a firing or recovery notice goes (a log line, a webhook, an email)."""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from ..config import Settings, load_settings
from ..errors import ConfigurationError
from .rules import NotifierSpec

__all__ = ["EmailNotifier", "LogNotifier", "Notice", "Notifier", "WebhookNotifier", "build_notifiers"]

log = logging.getLogger("dmq_tools.alerts")


@dataclass(frozen=True)
class Notice:
    """One message to send: `status` is "firing" or "resolved"."""

    alert: str
    rule: str
    kind: str
    queue: str
    status: str
    value: str
    message: str
    at: datetime

    @property
    def text(self) -> str:
        mark = "FIRING" if self.status == "firing" else "RESOLVED"
        return f"[dmq {mark}] {self.alert}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        """Slack-compatible (`text`) plus the fields a receiver can route on."""
        return {"text": self.text, "alert": self.alert, "rule": self.rule, "kind": self.kind,
                "queue": self.queue, "status": self.status, "value": self.value,
                "message": self.message, "at": self.at.isoformat()}


class Notifier(Protocol):
    def send(self, notice: Notice) -> None: ...


class LogNotifier:
    """A WARNING line when firing, INFO when resolved, on the `dmq_tools.alerts` logger."""

    def send(self, notice: Notice) -> None:
        log.log(logging.WARNING if notice.status == "firing" else logging.INFO, "%s", notice.text)


class WebhookNotifier:
    """POST the notice as JSON (Slack incoming webhooks read `text`)."""

    def __init__(self, url: str, timeout: float = 10.0, headers: dict[str, str] | None = None) -> None:
        self.url, self.timeout, self.headers = url, timeout, dict(headers or {})

    def send(self, notice: Notice) -> None:
        body = json.dumps(notice.as_json()).encode()
        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **self.headers})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            resp.read()


class EmailNotifier:
    """Mail the notice through the SMTP_* settings."""

    def __init__(self, to: list[str], settings: Settings) -> None:
        if not settings.smtp_host:
            raise ConfigurationError("email notifier: SMTP_HOST is not set")
        self.to, self.s, self.host = to, settings, settings.smtp_host

    def send(self, notice: Notice) -> None:
        s = self.s
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = s.smtp_from, ", ".join(self.to), notice.text[:200]
        msg.set_content(json.dumps(notice.as_json(), indent=2))
        port = s.smtp_port or (465 if s.smtp_ssl else 25)
        cls = smtplib.SMTP_SSL if s.smtp_ssl else smtplib.SMTP
        with cls(self.host, port, timeout=s.smtp_timeout) as smtp:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.send_message(msg)


def build_notifiers(specs: tuple[NotifierSpec, ...], settings: Settings | None = None) -> list[Notifier]:
    out: list[Notifier] = []
    for spec in specs:
        o = spec.options
        if spec.type == "log":
            out.append(LogNotifier())
        elif spec.type == "webhook":
            out.append(WebhookNotifier(str(o["url"]), float(o.get("timeout", 10)), o.get("headers")))
        else:
            to = o["to"] if isinstance(o["to"], list) else [o["to"]]
            out.append(EmailNotifier([str(a) for a in to], settings or load_settings()))
    return out
