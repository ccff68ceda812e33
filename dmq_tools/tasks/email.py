"""Built-in task: deliver an email over SMTP.

Laid out like a Go asynq service's `tasks` package: a type constant, a JSON payload, a
constructor, a handler, and `register(mux)`. The SMTP settings are read from the environment
when the handler runs (never at import), and the password never appears in results or errors.

    from dmq_tools.tasks import email
    email.register(mux)                                   # SMTP_HOST, SMTP_PORT, ... from env
    client.enqueue(email.new_email_task("a@example.com", "Hi", "Hello!"))

Settings (dmq_tools.config): SMTP_HOST (required), SMTP_PORT (25, or 465 with SMTP_SSL=1, 587 with
SMTP_STARTTLS=1), SMTP_USERNAME, SMTP_PASSWORD, SMTP_STARTTLS, SMTP_SSL, SMTP_FROM, SMTP_TIMEOUT.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from ..config import Settings, load_settings
from ..errors import ConfigurationError, SkipRetry
from ..task import Task
from ._payload import no_crlf, payload_object, require_str

__all__ = ["TYPE_EMAIL_DELIVERY", "EmailPayload", "SMTPConfig", "new_email_task", "new_email_delivery_task",
           "handle_email",
           "make_handler", "register"]

TYPE_EMAIL_DELIVERY = "email:deliver"
_TRUE = {"1", "true", "yes", "on"}


_ADDRESS = re.compile(r"[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+\.?[^@\s<>,;:\"()\[\]\\]*")
#: Most recipients (to + cc) one task may address; longest subject.
MAX_RECIPIENTS = 100
MAX_SUBJECT = 998


def check_address(value: object, field: str) -> str:
    """A bare address `user@host`: no display name, no line break, no list."""
    if not isinstance(value, str):
        raise SkipRetry(f"invalid email payload: {field} must be a string address, got {type(value).__name__}")
    no_crlf(value, field)
    if len(value) > 320 or not _ADDRESS.fullmatch(value):
        raise SkipRetry(f"invalid email payload: {field} is not an email address: {value[:80]!r}")
    return value


def _addresses(value: object, field: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise SkipRetry(f"invalid email payload: {field} must be an address or a list of addresses")
    return [check_address(v, field) for v in items]


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
    def from_json(cls, data: object) -> EmailPayload:
        """Validated strictly: wrong types, bad addresses and CRLF in headers are SkipRetry."""
        if not isinstance(data, dict):
            raise SkipRetry(f"invalid email payload: expected a JSON object, got {type(data).__name__}")
        unknown = set(data) - {"to", "subject", "body", "html", "sender", "cc", "reply_to"}
        if unknown:
            raise SkipRetry(f"invalid email payload: unknown field(s) {sorted(unknown)}")
        if "to" not in data:
            raise SkipRetry("invalid email payload: missing field 'to'")
        to = _addresses(data["to"], "to")
        cc = _addresses(data.get("cc") or [], "cc")
        if not to:
            raise SkipRetry("invalid email payload: no recipient")
        if len(to) + len(cc) > MAX_RECIPIENTS:
            raise SkipRetry(f"invalid email payload: more than {MAX_RECIPIENTS} recipients")
        subject = no_crlf(require_str(data, "subject", max_len=MAX_SUBJECT), "subject")
        body = require_str(data, "body", default="")
        html = require_str(data, "html", default=None)
        sender = data.get("sender")
        reply_to = data.get("reply_to")
        return cls(to=to, subject=subject, body=body, html=html,
                   sender=None if sender is None else check_address(sender, "sender"), cc=cc,
                   reply_to=None if reply_to is None else check_address(reply_to, "reply_to"))


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
    def from_settings(cls, settings: Settings) -> SMTPConfig:
        if not settings.smtp_host:
            raise ConfigurationError("SMTP_HOST is not set (the email task needs an SMTP server)")
        port = settings.smtp_port or (465 if settings.smtp_ssl else 587 if settings.smtp_starttls else 25)
        return cls(host=settings.smtp_host, port=port, username=settings.smtp_username,
                   password=settings.smtp_password, starttls=settings.smtp_starttls, ssl=settings.smtp_ssl,
                   sender=settings.smtp_from, timeout=settings.smtp_timeout)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SMTPConfig:
        """From the environment (over ./.env) or a given mapping, through `load_settings`."""
        return cls.from_settings(load_settings(env))


def new_email_task(to: str | Sequence[str], subject: str, body: str, *, html: str | None = None,
                   sender: str | None = None, cc: Sequence[str] = (), reply_to: str | None = None,
                   **options: Any) -> Task:
    """An email task; enqueue options (queue, max_retry, retention, ...) go in `options`."""
    payload = EmailPayload(to=[to] if isinstance(to, str) else list(to), subject=subject, body=body,
                           html=html, sender=sender, cc=list(cc), reply_to=reply_to)
    options.setdefault("queue", "email")
    return Task(TYPE_EMAIL_DELIVERY, {k: v for k, v in asdict(payload).items() if v not in (None, [])},
                **options)


def new_email_delivery_task(to: str | Sequence[str], subject: str, body: str, **options: Any) -> Task:
    """The guide's NewEmailDeliveryTask (type `email:deliver`); enqueue options go in `options`.
    Bad addresses or a line break in the subject raise ValueError here, before anything is queued."""
    payload = {"to": [to] if isinstance(to, str) else list(to), "subject": subject, "body": body}
    try:
        EmailPayload.from_json(payload)
    except SkipRetry as exc:
        raise ValueError(str(exc)) from None
    return Task(TYPE_EMAIL_DELIVERY, payload, **options)


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
    p = EmailPayload.from_json(payload_object(task, "email"))
    cfg = config or SMTPConfig.from_env()   # a missing SMTP_HOST is the operator's to fix: retried
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


def register(mux: Any, config: SMTPConfig | Settings | None = None) -> None:
    """Route `email:deliver` to the SMTP handler on a ServeMux (config None: read at each task)."""
    if isinstance(config, Settings):
        config = SMTPConfig.from_settings(config) if config.smtp_host else None
    mux.handle(TYPE_EMAIL_DELIVERY, make_handler(config))
