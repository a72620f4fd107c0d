"""Stale-device cleanup: the rule, the dry run that freezes the list, the approval, and the batches.

A preview lists the connector's devices not synced for the rule's days (never one with an open wipe,
never more than what is left of the month's cap) and freezes them as the run's candidates. A Full
Administrator other than the one who previewed approves; the worker then removes exactly those, a
batch at a time (EASCONSOLE_CLEANUP_BATCH_SIZE, EASCONSOLE_CLEANUP_BATCH_PAUSE_SECONDS apart). Each
device is read from Exchange just before its removal: one that synced since, or whose wipe is
open, is skipped with the reason. A removal is the product's Delete device action
(``devices.actions.services``): the approver's request, audited, sent with its lease and its
retries; a batch waits for Exchange's throttling as long as Exchange asked before the next one.
"""
from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from devices.actions import services as actions
from devices.cleanup import selectors
from devices.cleanup.models import CleanupCandidate, CleanupRule, CleanupRun
from devices.models import DeviceAction
from easconsole import audit
from easconsole.credentials import CredentialError
from easconsole.exchange import errors as exchange_errors
from easconsole.models import AuditEvent, ExchangeConnector
from easconsole.services.connectors import connector_gateway

log = logging.getLogger("easconsole.easdisc")
Outcome, State = CleanupCandidate.Outcome, CleanupRun.State
# A step owns its run this long (a worker killed mid-batch: the every-minute schedule takes it up again after).
STEP_LEASE = dt.timedelta(minutes=10)
UNREACHABLE_RETRY = dt.timedelta(minutes=5)


class CleanupRefused(Exception):
    """The preview or approval is not possible now; the message says why."""


def rule_for(connector: ExchangeConnector) -> CleanupRule:
    """The connector's rule (an unsaved, disabled one with the defaults if it has none yet)."""
    return CleanupRule.objects.filter(connector=connector).first() or CleanupRule(connector=connector)


def _deny(user, connector, action: str, address: str | None) -> None:
    audit.record(user=user, action=action, obj=connector, address=address, outcome=AuditEvent.Outcome.DENIED, message="Not permitted.")
    raise PermissionDenied


def cleanup_rule_save(*, rule: CleanupRule, user, address: str | None = None) -> CleanupRule:
    """Save a connector's rule (validated) with its audit record."""
    if not selectors.may_prepare(user, rule.connector):
        _deny(user, rule.connector, "edit stale-device cleanup rule", address)
    rule.full_clean()
    before = CleanupRule.objects.filter(pk=rule.pk).values("enabled", "days_not_synced").first() or {}
    changes = {field: [before.get(field), getattr(rule, field)] for field in ("enabled", "days_not_synced")
               if before.get(field) != getattr(rule, field)}
    with transaction.atomic():
        rule.changed_by_name = user.get_username()
        rule.save()
        audit.record(user=user, action="edit stale-device cleanup rule", obj=rule.connector, address=address, changes=changes)
    return rule


def cleanup_preview(*, connector: ExchangeConnector, user, address: str | None = None) -> CleanupRun:
    """The dry run: freeze the list of what an approval would remove (replacing an earlier unapproved one).

    Raises:
        PermissionDenied: not a Full or Operations Administrator over every device (audited).
        CleanupRefused: the rule is off, the connector not installed, or a run is removing devices.
    """
    if not selectors.may_prepare(user, connector):
        _deny(user, connector, "preview stale-device cleanup", address)
    rule = rule_for(connector)
    if not rule.enabled:
        raise CleanupRefused(f"The stale-device cleanup rule of {connector} is not enabled.")
    if connector.installed_at is None:
        raise CleanupRefused(f"{connector} is not installed.")
    now = timezone.now()
    with transaction.atomic():
        ExchangeConnector.objects.select_for_update().filter(pk=connector.pk).first()  # one preview of a connector at a time
        if selectors.active_run(connector) is not None:
            raise CleanupRefused(f"A cleanup of {connector} is removing devices; preview again when it has finished.")
        CleanupRun.objects.filter(connector=connector, state=State.AWAITING_APPROVAL).update(state=State.DISCARDED, finished=now)
        stale = selectors.stale_devices(connector, rule.days_not_synced, now)
        remaining = selectors.cap_remaining()
        run = CleanupRun.objects.create(
            connector=connector, days_not_synced=rule.days_not_synced, not_synced_since=now - dt.timedelta(days=rule.days_not_synced),
            stale_found=stale.count(), cap_remaining=remaining, previewed_by=user, previewed_by_name=user.get_username())
        CleanupCandidate.objects.bulk_create(
            CleanupCandidate(run=run, device=device, device_name=device.name, device_identity=device.identity,
                             exchange_device_id=device.device_id, user=device.user_display_name or device.mailbox,
                             last_success_sync=device.last_success_sync or device.first_sync_time)
            for device in stale[:remaining])
        listed = run.candidates.count()
        audit.record(user=user, action="preview stale-device cleanup", obj=connector, address=address,
                     message=f"{listed} device(s) listed (not synced for {rule.days_not_synced} days: {run.stale_found} found; "
                             f"{remaining} left of the monthly cap).")
    return run


def cleanup_approve(*, run: CleanupRun, user, address: str | None = None) -> CleanupRun:
    """A Full Administrator (not the one who previewed) approves the frozen list; the worker removes it.

    Raises:
        PermissionDenied: not a Full Administrator over every device (audited).
        CleanupRefused: the preview is no longer awaiting approval, was made by this user, or the cap
            no longer leaves room for its list (preview again).
    """
    connector = run.connector
    if not selectors.may_approve(user, connector):
        _deny(user, connector, "approve stale-device cleanup", address)
    with transaction.atomic():
        ExchangeConnector.objects.select_for_update().filter(pk=connector.pk).first()
        run = CleanupRun.objects.select_for_update().get(pk=run.pk)
        if run.state != State.AWAITING_APPROVAL:
            raise CleanupRefused(f"This preview is {run.get_state_display().lower()}: only a preview awaiting approval can be approved.")
        if run.previewed_by_id == user.pk:
            raise CleanupRefused("You made this preview: another Full Administrator approves it.")
        if not rule_for(connector).enabled:
            raise CleanupRefused(f"The stale-device cleanup rule of {connector} was turned off.")
        count = run.candidates.count()
        if count == 0:
            raise CleanupRefused("The preview lists no device: there is nothing to approve.")
        if count > (remaining := selectors.cap_remaining(excluding=run)):
            raise CleanupRefused(f"The monthly cap now leaves {remaining} removal(s), fewer than the {count} listed: preview again.")
        now = timezone.now()
        run.state, run.approved_by, run.approved_by_name, run.approved, run.next_step = State.APPROVED, user, user.get_username(), now, now
        run.save(update_fields=["state", "approved_by", "approved_by_name", "approved", "next_step"])
        audit.record(user=user, action="approve stale-device cleanup", obj=connector, address=address,
                     message=f"{count} device(s) not synced since {run.not_synced_since:%Y-%m-%d %H:%M} UTC, "
                             f"previewed by {run.previewed_by_name}, to be removed.")
        transaction.on_commit(lambda: queue(run.pk))
    return run


def queue(run_id: int) -> None:
    from django_q.tasks import async_task

    async_task("devices.cleanup.tasks.cleanup_step", run_id, task_name=f"Stale-device cleanup {run_id}", group="Stale-device cleanup")


def queue_due_runs() -> int:
    """Every minute: queue a step of each approved run whose next batch is due (or whose step's worker
    died: its lease ran out). Returns how many were queued."""
    ids = list(CleanupRun.objects.filter(state=State.APPROVED, next_step__lte=timezone.now()).values_list("pk", flat=True))
    for run_id in ids:
        queue(run_id)
    return len(ids)


def cleanup_step(run_id: int) -> CleanupRun | None:
    """One batch of an approved run (the task's body), then the next step is scheduled. Returns the run,
    or None when there is nothing to do (not approved, or another step holds it)."""
    now = timezone.now()
    claimed = CleanupRun.objects.filter(pk=run_id, state=State.APPROVED, next_step__lte=now).update(next_step=now + STEP_LEASE)
    run = CleanupRun.objects.select_related("connector__site", "approved_by").filter(pk=run_id).first()
    if not claimed or run is None:
        return None
    approver = run.approved_by
    if approver is None or not approver.is_active or not selectors.may_approve(approver, run.connector):
        return _stop(run, "The approver no longer holds the Full Administrator's permissions.")
    if (waiting := _settle(run)) is not None:
        return _later(run, waiting)
    batch = list(run.candidates.filter(outcome=Outcome.PENDING).select_related("device__connector")[:settings.EASCONSOLE_CLEANUP_BATCH_SIZE])
    if not batch:
        return _finish(run)
    try:
        ready = _recheck(run, batch)
    except exchange_errors.ExchangeThrottledError as error:
        return _later(run, timezone.now() + dt.timedelta(seconds=max(error.retry_after or 0, settings.EASCONSOLE_CLEANUP_BATCH_PAUSE_SECONDS, 1)),
                      f"Exchange throttled the checks: {error}")
    except (exchange_errors.ExchangeError, CredentialError, ValueError) as error:
        return _later(run, timezone.now() + UNREACHABLE_RETRY, f"The devices could not be checked in Exchange: {error}")
    for candidate in ready:
        action = _remove(run, candidate, approver)
        if action is not None and action.state == DeviceAction.State.REQUESTED:
            break  # throttled or unreachable: the next step waits for it as Exchange asked
    if (waiting := _settle(run, send=False)) is not None:
        return _later(run, waiting)
    if run.candidates.filter(outcome=Outcome.PENDING).exists():
        return _later(run, timezone.now() + dt.timedelta(seconds=settings.EASCONSOLE_CLEANUP_BATCH_PAUSE_SECONDS))
    return _finish(run)


def _settle(run: CleanupRun, *, send: bool = True) -> dt.datetime | None:
    """Send again what an earlier batch left waiting (when due), and say until when the run must wait
    for it: the earliest retry Exchange allowed, or None when nothing is waiting."""
    waiting = DeviceAction.objects.filter(cleanup_candidate__run=run, state=DeviceAction.State.REQUESTED)
    if send:
        for action_id in waiting.exclude(next_attempt_at__gt=timezone.now()).values_list("pk", flat=True):
            actions.action_execute(action_id)  # nothing if another worker holds its lease
    retries = list(waiting.values_list("next_attempt_at", flat=True))
    if not retries:
        return None
    # A retry's time (a lease while another worker sends it), or at once for one never attempted.
    soonest = min((at for at in retries if at is not None), default=timezone.now())
    return max(soonest, timezone.now() + dt.timedelta(seconds=1))


def _recheck(run: CleanupRun, batch: list[CleanupCandidate]) -> list[CleanupCandidate]:
    """Read each device from Exchange just before removing it: skip (with the reason) what no longer qualifies."""
    ready = []
    with connector_gateway(run.connector) as gateway:
        for candidate in batch:
            reason = _skip_reason(run, candidate, gateway)
            if reason:
                _skip(candidate, reason)
            else:
                ready.append(candidate)
    return ready


def _skip_reason(run: CleanupRun, candidate: CleanupCandidate, gateway) -> str | None:
    device = candidate.device
    if device is None or device.connector_id != run.connector_id:
        return "The device is no longer in the inventory."
    if device.missing_since is not None:
        return "Exchange no longer has this partnership."
    if actions.open_wipe(device) is not None:
        return "A wipe of this device is open: a cleanup never removes it."
    try:
        statistics = gateway.device_statistics(device.identity)
    except exchange_errors.ExchangeObjectNotFound:
        return "Exchange no longer has this partnership (removed elsewhere)."
    actions.refresh_device(device, statistics)
    if statistics.status in selectors.WIPE_STATUSES:
        return f"Exchange has a wipe open for this device ({statistics.status}): a cleanup never removes it."
    last = statistics.last_success_sync
    if last is not None and last >= run.previewed.replace(microsecond=0):  # Exchange gives its times to the second
        return f"Synced at {last:%Y-%m-%d %H:%M} UTC, after the preview."
    if last is not None and last >= run.not_synced_since:
        return f"Last synced at {last:%Y-%m-%d %H:%M} UTC, within the {run.days_not_synced} days."
    return None


def _skip(candidate: CleanupCandidate, reason: str) -> None:
    candidate.outcome, candidate.reason, candidate.handled = Outcome.SKIPPED, reason, timezone.now()
    candidate.save(update_fields=["outcome", "reason", "handled"])


def _remove(run: CleanupRun, candidate: CleanupCandidate, approver) -> DeviceAction | None:
    """Request the device's delete as the approver, and send it now (through the device-action path)."""
    cap = settings.EASCONSOLE_CLEANUP_MONTHLY_CAP
    if selectors.removals_this_month() >= cap:
        _skip(candidate, f"The monthly cap of {cap} removals is reached.")
        return None
    try:
        action = actions.action_request(device=candidate.device, kind=DeviceAction.Kind.DELETE, user=approver)
    except actions.ActionRefused as refusal:
        _skip(candidate, str(refusal))
        return None
    except PermissionDenied:
        _skip(candidate, f"{approver.get_username()} may no longer delete this device.")
        return None
    candidate.action, candidate.outcome, candidate.handled = action, Outcome.REQUESTED, timezone.now()
    candidate.save(update_fields=["action", "outcome", "handled"])
    actions.action_execute(action.pk)  # a worker that took the queued task first sends it instead (its lease)
    action.refresh_from_db()
    return action


def _later(run: CleanupRun, at: dt.datetime, note: str = "") -> CleanupRun:
    if note and run.approved and timezone.now() - run.approved > dt.timedelta(hours=settings.EASCONSOLE_WIPE_EXPIRY_HOURS):
        return _stop(run, f"Not finished within {settings.EASCONSOLE_WIPE_EXPIRY_HOURS} hours. Last problem: {note}")
    run.next_step, run.error = at, note
    run.save(update_fields=["next_step", "error"])
    if at <= timezone.now():
        queue(run.pk)  # no pause: the next batch now; otherwise the every-minute schedule takes the run up
    if note:
        log.warning(f"Stale-device cleanup {run.pk} of {run.connector}: {note} Next batch at {at:%H:%M:%S} UTC.")
    return run


def _finish(run: CleanupRun, state: str = State.FINISHED, error: str = "") -> CleanupRun:
    run.state, run.error, run.finished, run.next_step = state, error, timezone.now(), None
    with transaction.atomic():
        run.save(update_fields=["state", "error", "finished", "next_step"])
        counts = summary(run)
        audit.record(user=run.approved_by, action="stale-device cleanup finished" if state == State.FINISHED else "stale-device cleanup stopped",
                     obj=run.connector, outcome=AuditEvent.Outcome.SUCCESS if state == State.FINISHED else AuditEvent.Outcome.FAILURE,
                     message=f"{counts['removed']} removed, {counts['skipped']} skipped, {counts['failed']} failed. {error}".strip())
    log.info(f"Stale-device cleanup {run.pk} of {run.connector}: {run.get_state_display()} ({counts})")
    return run


def _stop(run: CleanupRun, reason: str) -> CleanupRun:
    """End the run: what it has not handled yet is skipped with the reason."""
    run.candidates.filter(outcome=Outcome.PENDING).update(outcome=Outcome.SKIPPED, reason=f"Not removed: {reason}", handled=timezone.now())
    return _finish(run, State.FAILED, reason)


def summary(run: CleanupRun) -> dict[str, int]:
    """How many of the run's candidates were removed, skipped, failed, or are still to handle."""
    rows = list(run.candidates.values_list("outcome", "action__state"))
    done, undone = DeviceAction.State.DONE, selectors.UNDONE
    return {"listed": len(rows), "removed": sum(1 for _o, state in rows if state == done),
            "failed": sum(1 for _o, state in rows if state in undone),
            "skipped": sum(1 for outcome, _s in rows if outcome == Outcome.SKIPPED),
            "waiting": sum(1 for outcome, state in rows if outcome == Outcome.PENDING or state in DeviceAction.OPEN)}
