"""Pushing a connector's settings and access rules to Exchange, and comparing them with Exchange (drift).

A save queues one push per connector (a push still waiting takes the new state: it reads the console's
rows when it runs). The task leases the push, re-checks the requester's permission, reads Exchange
(the default mailbox policy, the organization settings, the rules), sends only what differs and records
each cmdlet with its outcome. A connection failure (or throttling) puts the push back with a later
attempt; an Exchange error on one cmdlet is recorded and the others still run, so the push says what
was and was not applied, and the next push completes it.
"""
from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from easconsole import audit
from easconsole.credentials import CredentialError
from easconsole.exchange import errors as exchange_errors
from easconsole.exchange.preflight import ROLE_GROUP_OF
from easconsole.models import AuditEvent, ExchangeConnector, StatusMessage
from easconsole.permissions import has_perm
from easconsole.services.connectors import connector_gateway, connector_lease
from policies import plan as planning, services
from policies.models import ConnectorPolicy, PolicyPush

log = logging.getLogger("easconsole.easdisc")
State = PolicyPush.State
MODIFY = "easconsole.modify_connector_policy"
MAX_ATTEMPTS = 6
PUSH_OPERATIONS = 12  # reads of the policy, settings and rules, then the writes (bounded by the lease's maximum)
RETRY_DELAYS = [dt.timedelta(seconds=s) for s in (30, 60, 300, 900, 1800)]
DRIFT = 1030  # status message: the connector's settings differ from Exchange's [console's own ID]


def push_request(*, connector: ExchangeConnector, user, reason: str, address: str | None = None) -> PolicyPush | None:
    """Queue a push of the connector's state (None when the connector is not installed yet: its
    installation pushes). A push still waiting (for the worker or for its next attempt) is reused."""
    if connector.state != ExchangeConnector.State.INSTALLED:
        return None
    waiting = PolicyPush.objects.filter(connector=connector, state=State.REQUESTED).first()
    if waiting is not None:  # it reads the console's state when it runs: the new change goes with it, now
        PolicyPush.objects.filter(pk=waiting.pk).update(next_attempt_at=None)
        transaction.on_commit(lambda: queue(waiting.pk))
        return waiting
    push = PolicyPush.objects.create(connector=connector, reason=reason[:200], requested_by=user, address=address,
                                     requested_by_name=getattr(user, "username", "") or _("System"))
    audit.record(user=user, action="request push", obj=connector, address=address, object_type="settings push",
                 message=_("Push %(pk)s queued: %(reason)s") % {"pk": push.pk, "reason": reason})
    transaction.on_commit(lambda: queue(push.pk))
    return push


def queue(push_id: int) -> None:
    from django_q.tasks import async_task

    async_task("policies.tasks.execute_push", push_id, task_name=f"Settings push {push_id}", group="Settings pushes")


def desired_state(connector: ExchangeConnector) -> planning.Desired:
    policy = services.connector_policy(connector)
    rules = {r.identity.lower(): {"identity": r.identity, "characteristic": r.characteristic,
                                  "query_string": r.query_string, "access_level": r.access_level}
             for r in connector.access_rules.all()}
    organization = {"DefaultAccessLevel": policy.default_access_level,
                    "AdminMailRecipients": list(policy.admin_mail_recipients or []),
                    "UserMailInsert": policy.user_mail_insert or ""}
    return planning.Desired(policy=services.mailbox_policy_parameters(policy), organization=organization, rules=rules,
                            owned=frozenset(i.lower() for i in policy.owned_rules or []))


def read_exchange(gateway) -> planning.ExchangeState:
    """What Exchange has: its default mailbox policy (the one flagged default, whatever its name), the
    organization settings and the device access rules."""
    policies = gateway.mailbox_policies()
    default = next((p for p in policies if p.is_default), None)
    if default is None:
        raise exchange_errors.ExchangeNotSupportedError("Get-ActiveSyncMailboxPolicy", gateway.current_server or "",
                                                        "Exchange reported no default mobile device mailbox policy")
    org = gateway.organization_settings()
    rules = {r.identity.lower(): {"identity": r.identity, "characteristic": r.characteristic,
                                  "query_string": r.query_string, "access_level": r.access_level}
             for r in gateway.access_rules()}
    return planning.ExchangeState(
        policy_name=default.name, policy=dict(default.parameters), rules=rules,
        organization={"DefaultAccessLevel": org.default_access_level,
                      "AdminMailRecipients": list(org.admin_mail_recipients), "UserMailInsert": org.user_mail_insert or ""})


def push_execute(push_id: int) -> PolicyPush | None:
    """The task's body: send what a Requested push still has to send. Anything else is left alone."""
    now = timezone.now()
    with transaction.atomic():
        push = (PolicyPush.objects.select_for_update(of=("self",)).select_related("connector__site", "requested_by")
                .filter(pk=push_id, state=State.REQUESTED).exclude(next_attempt_at__gt=now).first())
        if push is None:
            return None
        if PolicyPush.objects.filter(connector_id=push.connector_id, state=State.SENT).exists():
            # One push at a time per connector: this one goes after the one being sent.
            push.next_attempt_at = now + dt.timedelta(seconds=30)
            push.save(update_fields=["next_attempt_at"])
            return push
        push.attempts += 1
        push.state = State.SENT
        push.sent_at = push.sent_at or now
        push.next_attempt_at = now + connector_lease(push.connector, operations=PUSH_OPERATIONS)
        push.save(update_fields=["attempts", "state", "sent_at", "next_attempt_at"])
    connector, user = push.connector, push.requested_by
    if connector.state != ExchangeConnector.State.INSTALLED:
        return _finish(push, State.FAILED, error=_("The connector is not installed."))
    if user is not None and (not user.is_active or not has_perm(user, MODIFY, connector.site)):
        return _finish(push, State.FAILED, error=_("The requester no longer has ModifyConnectorPolicy on the site."))
    if push.attempts > MAX_ATTEMPTS:
        return _finish(push, State.FAILED, error=f"No attempt got an answer from Exchange in {MAX_ATTEMPTS} tries.")
    try:
        gateway = connector_gateway(connector)
    except (ValueError, CredentialError) as error:
        return _finish(push, State.FAILED, error=f"The connector {connector} cannot be used: {error}")
    desired = desired_state(connector)
    try:
        with gateway:
            state = read_exchange(gateway)
            failures = _send(push, gateway, desired, state)
            after = read_exchange(gateway)
    except (exchange_errors.ExchangeConnectionError, exchange_errors.ExchangeThrottledError) as error:
        return _retry_or_fail(push, str(error))
    except exchange_errors.ExchangeError as error:
        return _finish(push, State.FAILED, error=str(error))
    _remember(connector, desired, after)
    if failures:
        applied = [c["summary"] for c in push.commands if c["attempt"] == push.attempts and c["outcome"] == "applied"]
        message = " ".join(failures) + " " + (_("Applied: %(list)s.") % {"list": "; ".join(applied)} if applied
                                             else _("Nothing else needed applying."))
        return _finish(push, State.FAILED, error=message)
    return _finish(push, State.DONE)


def _send(push: PolicyPush, gateway, desired: planning.Desired, state: planning.ExchangeState) -> list[str]:
    """Send the plan; record each command. Returns one sentence per failed command."""
    failures = []
    changes = dict(push.changes)
    changes.update({f"policy {k}": v for k, v in planning.policy_differences(desired, state).items()})
    changes.update({f"organization {k}": v for k, v in planning.organization_differences(desired, state).items()})
    for command in planning.plan(desired, state):
        entry = {"attempt": push.attempts, "cmdlet": command.cmdlet, "summary": command.summary, "outcome": "applied",
                 "parameters": {}, "answer": ""}
        try:
            result = getattr(gateway, command.call)(*command.args, **command.kwargs)
        except (exchange_errors.ExchangeConnectionError, exchange_errors.ExchangeThrottledError) as error:
            entry.update(outcome="not sent", answer=str(error))
            push.commands = [*push.commands, entry]
            push.save(update_fields=["commands"])
            raise
        except exchange_errors.ExchangeError as error:
            answer = str(error)
            if isinstance(error, exchange_errors.ExchangePermissionError) and command.cmdlet in ROLE_GROUP_OF:
                answer += " " + _("The connection account needs %(cmdlet)s, granted by the role group %(group)s.") % {
                    "cmdlet": command.cmdlet, "group": ROLE_GROUP_OF[command.cmdlet]}
            entry.update(outcome="failed", answer=answer)
            failures.append(_("%(cmdlet)s (%(what)s) failed: %(answer)s") % {
                "cmdlet": command.cmdlet, "what": command.summary, "answer": answer})
        else:
            entry["parameters"] = result.parameters
            if command.area == planning.RULES:
                identity = planning.rule_identity(*command.args[:2]) if command.call == "new_access_rule" else command.args[0]
                changes[identity] = [state.rules.get(identity.lower(), {}).get("access_level", "(none)"),
                                     "(removed)" if command.call == "remove_access_rule" else command.args[-1]]
        push.commands = [*push.commands, entry]
        push.changes = changes
        push.save(update_fields=["commands", "changes"])
    return failures


def _remember(connector: ExchangeConnector, desired: planning.Desired, after: planning.ExchangeState) -> None:
    """After a push: the console owns the rules it asks for that Exchange now has (and keeps owning those
    it failed to remove); the rest are someone else's. What still differs is drift, cleared if none."""
    owned = sorted({after.rules[k]["identity"] for k in after.rules if k in desired.rules or k in desired.owned})
    ConnectorPolicy.objects.filter(connector=connector).update(
        owned_rules=owned, foreign_rules=planning.foreign_rules(desired, after),
        drift=planning.drift(planning.Desired(desired.policy, desired.organization, desired.rules,
                                              frozenset(o.lower() for o in owned)), after),
        drift_checked_at=timezone.now())


def _retry_or_fail(push: PolicyPush, reason: str) -> PolicyPush:
    if push.attempts >= MAX_ATTEMPTS:
        return _finish(push, State.FAILED, error=f"Exchange could not be reached after {push.attempts} attempts: {reason}")
    delay = RETRY_DELAYS[min(push.attempts - 1, len(RETRY_DELAYS) - 1)]
    push.state = State.REQUESTED
    push.next_attempt_at = timezone.now() + delay
    push.error = f"Attempt {push.attempts} failed: {reason} Retrying at {push.next_attempt_at:%H:%M:%S} UTC."
    push.save(update_fields=["state", "next_attempt_at", "error"])
    log.warning(f"Settings push {push.pk} of {push.connector}: {push.error}")
    return push


def _finish(push: PolicyPush, state: str, *, error: str = "") -> PolicyPush:
    push.state = state
    push.next_attempt_at = None
    push.error = error
    push.finished_at = timezone.now()
    with transaction.atomic():
        push.save()
        audit.record(user=push.requested_by, action=f"push {push.get_state_display().lower()}", obj=push.connector,
                     address=push.address, object_type="settings push",
                     outcome=AuditEvent.Outcome.FAILURE if state == State.FAILED else AuditEvent.Outcome.SUCCESS,
                     message=error or _("Exchange has the console's settings."), changes=push.changes,
                     cmdlet=", ".join(dict.fromkeys(c["cmdlet"] for c in push.commands)),
                     parameters={"commands": push.commands}, exchange_answer=error)
    log.info(f"Settings push {push.pk} of {push.connector}: {push.get_state_display()}" + (f" ({error})" if error else ""))
    return push


def requeue_due_pushes() -> int:
    """Queue again the Requested pushes whose retry is due, and those whose worker died (lease run out)."""
    now = timezone.now()
    PolicyPush.objects.filter(state=State.SENT, next_attempt_at__lt=now).update(state=State.REQUESTED)
    ids = list(PolicyPush.objects.filter(state=State.REQUESTED, requested_at__lt=now - dt.timedelta(minutes=1))
               .exclude(next_attempt_at__gt=now).values_list("pk", flat=True))
    for push_id in ids:
        queue(push_id)
    return len(ids)


def drift_check(connector: ExchangeConnector, gateway) -> list[dict[str, str]]:
    """Compare Exchange with the console (full discovery calls it with its gateway). A new difference
    raises a warning status message naming each setting with both values. Never raises for Exchange."""
    policy = services.connector_policy(connector)
    if policy.pk is None:
        return []
    try:
        state = read_exchange(gateway)
    except exchange_errors.ExchangeError as error:
        log.warning(f"Could not compare the settings of {connector.name} with Exchange: {error}")
        return list(policy.drift or [])
    desired = desired_state(connector)
    found = planning.drift(desired, state)
    previous = policy.drift or []
    ConnectorPolicy.objects.filter(pk=policy.pk).update(drift=found, drift_checked_at=timezone.now(),
                                                        foreign_rules=planning.foreign_rules(desired, state))
    if found and found != previous:
        described = "; ".join(f"{d['setting']}: console {d['console']}, Exchange {d['exchange']}" for d in found)
        StatusMessage.objects.create(site=connector.site, connector=connector, message_id=DRIFT,
                                     severity=StatusMessage.Severity.WARNING,
                                     description=f"The settings of {connector.name} were changed in Exchange: {described}.")
        log.warning(f"Settings of {connector.name} differ from Exchange: {described}")
    return found
