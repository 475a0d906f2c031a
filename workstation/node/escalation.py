"""Escalation: an alert nobody acknowledged in time goes to the next person on call.

The on-call list and the time allowed are settings (``halong node alerts --on-call A,B,C
--acknowledge-within MINUTES``). Each pass hands every alert that waited that long to the
next name, records the step (who had it, how long, who has it now), audits it and
e-mails the new recipient; past the end of the list the alert stays with the last
person and the step says no one is left. The clock is a parameter, so tests move time.
"""

from __future__ import annotations

from pathlib import Path

from workstation.home import HalongHome
from workstation.node.alert_delivery import AlertDelivery, audit_step
from workstation.node.alert_settings import load_settings
from workstation.node.alert_store import NODE, Alert, AlertStore


def escalate_due(database: Path, home: HalongHome, now: float) -> list[Alert]:
    """Escalate every alert whose recipient let the time pass; return them as they are now."""
    settings = load_settings(database)
    store = AlertStore(database)
    delivery = AlertDelivery(home, store, settings)
    escalated = []
    for alert in store.due_for_escalation(now, settings.acknowledge_within_s):
        waited = now - alert.notified_at
        on_call = settings.on_call
        # an alert raised while nobody was on call goes to the first person on the list
        level = alert.escalation_level + 1 if alert.recipient else 0
        recipient = on_call[level] if level < len(on_call) else None
        if not store.escalate(alert, now, recipient, level, waited):
            continue  # acknowledged, or escalated by another pass, meanwhile
        current = store.get(alert.id)
        assert current is not None
        step = current.steps[-1]
        audit_step(home, current, step.step, NODE, step.detail)
        if recipient is not None:
            delivery.escalated(current, now, step.detail)
        escalated.append(current)
    return escalated
