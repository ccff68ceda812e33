"""Alerts over the queues' signals: YAML rules, an evaluator, and notifiers (log, webhook, email)."""

from .evaluator import ActiveAlert, AlertEvaluator, active_alerts
from .notifiers import EmailNotifier, LogNotifier, Notice, WebhookNotifier
from .rules import KINDS, Rule, RuleFile, load_rules, parse_rules

__all__ = [
           "KINDS",
           "ActiveAlert",
           "AlertEvaluator",
           "EmailNotifier",
           "LogNotifier",
           "Notice",
           "Rule",
           "RuleFile",
           "WebhookNotifier",
           "active_alerts",
           "load_rules",
           "parse_rules",
]
