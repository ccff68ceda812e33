"""Built-in task: deliver an email over SMTP.

Laid out like a Go asynq service's `tasks` package: a type constant, a JSON payload, a
constructor, a handler, and `register(mux)`. The SMTP settings are read from the environment
when the handler runs (never at import), and the password never appears in results or errors.

    from dmq_tools.tasks import email
    email.register(mux)                                   # SMTP_HOST, SMTP_PORT, ... from env
    client.enqueue(email.new_email_task("a@example.com", "Hi", "Hello!"))

Environment: SMTP_HOST (required), SMTP_PORT (25, or 465 with SMTP_SSL=1, 587 with
SMTP_STARTTLS=1), SMTP_USERNAME, SMTP_PASSWORD, SMTP_STARTTLS, SMTP_SSL, SMTP_FROM, SMTP_TIMEOUT.
"""

from __future__ import annotations

import os
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from ..errors import ConfigurationError, SkipRetry
from ..task import Task

__all__ = ["TYPE_EMAIL_DELIVERY", "EmailPayload", "SMTPConfig", "new_email_task", "handle_email",
           "make_handler", "register"]

TYPE_EMAIL_DELIVERY = "email:deliver"
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class EmailPayload:
    """The JSON payload of an email task."""

    to: list[str]
    subject: str
    body: str
    html: str | None = None
    sender: str | None = None
    cc: list[str] = field(default_factory=list)
    reply_to: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "EmailPayload":
        try:
            to = data["to"]
            payload = cls(to=[to] if isinstance(to, str) else list(to), subject=str(data["subject"]),
                          body=str(data.get("body", "")), html=data.get("html"), sender=data.get("sender"),
                          cc=list(data.get("cc") or []), reply_to=data.get("reply_to"))
        except (KeyError, TypeError) as exc:
            raise SkipRetry(f"invalid email payload: missing or bad field {exc}") from None
        if not payload.to:
            raise SkipRetry("invalid email payload: no recipient")
        return payload


@dataclass(frozen=True)
class SMTPConfig:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    ssl: bool = False
    sender: str = "dmq@localhost"
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "SMTPConfig":
        env = dict(os.environ if env is None else env)
        host = env.get("SMTP_HOST", "").strip()
        if not host:
            raise ConfigurationError("SMTP_HOST is not set (the email task needs an SMTP server)")
        ssl = env.get("SMTP_SSL", "").lower() in _TRUE
        starttls = env.get("SMTP_STARTTLS", "").lower() in _TRUE
        port = int(env.get("SMTP_PORT") or (465 if ssl else 587 if starttls else 25))
        return cls(host=host, port=port, username=env.get("SMTP_USERNAME") or None,
                   password=env.get("SMTP_PASSWORD") or None, starttls=starttls, ssl=ssl,
                   sender=env.get("SMTP_FROM") or "dmq@localhost",
                   timeout=float(env.get("SMTP_TIMEOUT") or 30))


def new_email_task(to: str | Sequence[str], subject: str, body: str, *, html: str | None = None,
                   sender: str | None = None, cc: Sequence[str] = (), reply_to: str | None = None,
                   **options: Any) -> Task:
    """An email task; enqueue options (queue, max_retry, retention, ...) go in `options`."""
    payload = EmailPayload(to=[to] if isinstance(to, str) else list(to), subject=subject, body=body,
                           html=html, sender=sender, cc=list(cc), reply_to=reply_to)
    options.setdefault("queue", "email")
    return Task(TYPE_EMAIL_DELIVERY, {k: v for k, v in asdict(payload).items() if v not in (None, [])},
                **options)


def _message(p: EmailPayload, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = p.sender or sender
    msg["To"] = ", ".join(p.to)
    if p.cc:
        msg["Cc"] = ", ".join(p.cc)
    if p.reply_to:
        msg["Reply-To"] = p.reply_to
    msg["Subject"] = p.subject
    msg["Message-ID"] = make_msgid(domain=(p.sender or sender).rpartition("@")[2] or None)
    msg.set_content(p.body)
    if p.html:
        msg.add_alternative(p.html, subtype="html")
    return msg


def _send(cfg: SMTPConfig, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
    cls = smtplib.SMTP_SSL if cfg.ssl else smtplib.SMTP
    with cls(cfg.host, cfg.port, timeout=cfg.timeout) as smtp:
        if cfg.starttls and not cfg.ssl:
            smtp.starttls()
        if cfg.username:
            smtp.login(cfg.username, cfg.password or "")
        return smtp.send_message(msg)


def handle_email(task: Task, config: SMTPConfig | None = None) -> dict[str, Any]:
    """Send the email. Permanent SMTP refusals (5xx) archive the task (SkipRetry); connection
    problems and 4xx answers raise, so the task is retried with asynq's backoff."""
    p = EmailPayload.from_json(task.json() or {})
    cfg = config or SMTPConfig.from_env()
    msg = _message(p, cfg.sender)
    try:
        refused = _send(cfg, msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {code for code, _ in exc.recipients.values()}
        if all(c >= 500 for c in codes):
            raise SkipRetry(f"all recipients refused: {sorted(exc.recipients)}") from None
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise SkipRetry(f"SMTP authentication failed ({exc.smtp_code})") from None
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise SkipRetry(f"SMTP refused the message: {exc.smtp_code} {exc.smtp_error!r}") from None
        raise
    return {"message_id": msg["Message-ID"], "to": p.to + p.cc,
            "refused": sorted(refused), "server": f"{cfg.host}:{cfg.port}"}


def make_handler(config: SMTPConfig | None = None) -> Callable[[Task], dict[str, Any]]:
    """A handler bound to a config (None: read the environment at each task)."""
    return lambda task: handle_email(task, config)


def register(mux: Any, config: SMTPConfig | None = None) -> None:
    """Route `email:deliver` to the SMTP handler on a ServeMux."""
    mux.handle(TYPE_EMAIL_DELIVERY, make_handler(config))
