"""Requesting, sending and following device actions (DESIGN.md §3, "Data flow of a wipe").

The request row and its audit record are written in one transaction and the task is queued on
commit; the task re-checks the stored user's permission, sends the cmdlet, and records Exchange's
answer. A task that runs twice, or after a crash, never makes a second request: it only sends what
is still Requested. Exchange being down, throttling the account, or a password that cannot be
decrypted yet are retried with back-off (never sooner than Exchange asked) for as long as the action
lives (EASCONSOLE_WIPE_EXPIRY_HOURS); only a refusal by Exchange fails at once. Nothing is lost.

While an action is being sent its ``error`` is empty and ``next_attempt_at`` is the lease; while it
waits for a retry ``error`` says why, and ``exchange_answer`` holds Exchange's answer when Exchange
gave one (throttling, a refused password) or is empty when Exchange could not be reached, the case a
working connection to the connector ends at once (``retry_unreachable``).
"""
from __future__ import annotations

import datetime as dt
import json
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.actions import notifications, rules
from devices.discovery.records import statistics_values
from devices.models import Device, DeviceAction, UserDeviceAffinity
from devices.selectors import can_act_on
from easconsole import audit
from easconsole.credentials import CredentialError
from easconsole.exchange import errors as exchange_errors
from easconsole.models import AuditEvent
from easconsole.services.connectors import connector_gateway, connector_lease

log = logging.getLogger("easconsole.easdisc")
Kind, State = DeviceAction.Kind, DeviceAction.State
# After 30 s, 1, 5 and 15 minutes, then every 30 minutes until the action's lifetime ends.
RETRY_DELAYS = [dt.timedelta(seconds=s) for s in (30, 60, 300, 900, 1800)]
SEND_OPERATIONS = 2  # the action's cmdlet and the statistics read after it
# An action whose every attempt stops its worker (no outcome recorded) fails after this many in a row,
# instead of taking a worker down once per lease until its lifetime ends.
MAX_UNANSWERED_ATTEMPTS = 6
REASON_LENGTH = DeviceAction._meta.get_field("reason").max_length


def lease(connector) -> dt.timedelta:
    """How long a worker owns an action it sends (see ``connector_lease``)."""
    return connector_lease(connector, operations=SEND_OPERATIONS)


def lifetime_end(action: DeviceAction) -> dt.datetime:
    return action.requested_at + dt.timedelta(hours=settings.EASCONSOLE_WIPE_EXPIRY_HOURS)


class ActionRefused(Exception):
    """The action cannot be requested on this device now; the message says why."""


def open_wipe(device: Device) -> DeviceAction | None:
    return device.actions.filter(kind__in=DeviceAction.WIPES, state__in=DeviceAction.OPEN).first()


def may_request(user, device: Device, kind: str, *, via_catalog: bool = False) -> bool:
    """Console: the permission on a collection holding the device. Catalog: the device is the user's own."""
    if via_catalog:
        return kind in (Kind.WIPE, Kind.ACCOUNT_WIPE, Kind.CANCEL_WIPE) and UserDeviceAffinity.objects.filter(
            device=device, user=user).exists()
    return can_act_on(user, rules.PERMISSION[kind], device)


def action_request(*, device: Device, kind: str, user, address: str | None = None, via_catalog: bool = False,
                   confirmed_wipe_loss: bool = False, reason: str = "") -> DeviceAction:
    """Ask for an action on a device. Returns the request (the open one, for a wipe already requested).

    ``reason`` is what the person gave as the reason or ticket number (up to 200 characters); it is
    stored with the action and in its audit record, refused or not.

    Raises:
        PermissionDenied: the user may not do this to this device (the refusal is audited).
        ActionRefused: the action is not possible now (the message says why; also audited).
    """
    reason = reason.strip()
    if len(reason) > REASON_LENGTH:
        raise ValueError(f"A reason has at most {REASON_LENGTH} characters.")
    cmdlet, parameters = rules.planned_command(device, kind, notifications.recipients(device))
    if not may_request(user, device, kind, via_catalog=via_catalog):
        deny(user=user, device=device, kind=kind, address=address, reason=reason)
    with transaction.atomic():
        Device.objects.select_for_update().filter(pk=device.pk).first()  # serialise requests on one device
        existing = open_wipe(device)
        if kind in DeviceAction.WIPES and existing is not None and existing.kind == kind:
            return existing  # a double click, or a second administrator: one request
        refusal = rules.refusal(device, kind, open_wipe=existing, confirmed_wipe_loss=confirmed_wipe_loss)
        if refusal is None:
            return _create(device, kind, user, address, via_catalog, cmdlet, parameters, reason)
    # Recorded outside the transaction above, so that the refusal stays in the audit trail.
    audit.record(user=user, action=f"request {kind}", obj=device, address=address, changes=_reason_changes(reason),
                 outcome=AuditEvent.Outcome.DENIED, message=refusal, cmdlet=cmdlet)
    raise ActionRefused(refusal)


def _reason_changes(reason: str) -> dict:
    """The reason as the audit record keeps it (its details, and the sentence of the audit trail)."""
    return {"reason": reason} if reason else {}


def _create(device, kind, user, address, via_catalog, cmdlet, parameters, reason) -> DeviceAction:
    try:
        with transaction.atomic():
            action = DeviceAction.objects.create(
                device=device, device_name=device.name, device_identity=device.identity, connector=device.connector,
                kind=kind, requested_by=user, requested_by_name=user.get_username(), via_catalog=via_catalog,
                address=address, cmdlet=cmdlet, parameters=parameters, reason=reason,
            )
    except IntegrityError:  # another request won the race for the one open wipe
        return open_wipe(device)
    audit.record(user=user, action=f"request {kind}", obj=device, address=address, cmdlet=cmdlet, parameters=parameters,
                 changes=_reason_changes(reason), message=str(rules.CONSEQUENCE[kind]).format(device=device.name))
    transaction.on_commit(lambda: queue(action.pk))
    if action.is_wipe:
        transaction.on_commit(lambda: notifications.wipe_requested(action))
    return action


def deny(*, user, device: Device, kind: str, address: str | None = None, message: str = "Not permitted.",
         reason: str = "") -> None:
    """Record a refused request in the audit trail, and refuse it: nothing is sent, nothing else is written."""
    audit.record(user=user, action=f"request {kind}", obj=device, address=address, outcome=AuditEvent.Outcome.DENIED,
                 message=message, cmdlet=rules.planned_command(device, kind)[0], changes=_reason_changes(reason))
    raise PermissionDenied


def queue(action_id: int) -> None:
    from django_q.tasks import async_task

    async_task("devices.actions.tasks.execute_action", action_id, task_name=f"Device action {action_id}", group="Device actions")


def action_execute(action_id: int) -> DeviceAction | None:
    """Send a Requested action to Exchange (the task's body). Anything else is left as it is.

    While it sends, the action holds a lease (``next_attempt_at`` a little ahead), so a second task
    for the same action does nothing; if the worker dies, the lease runs out and
    ``requeue_lost_actions`` sends it again, which Exchange takes as the same request.
    """
    now = timezone.now()
    with transaction.atomic():
        action = (DeviceAction.objects.select_for_update(of=("self",)).select_related("device__connector", "requested_by")
                  .filter(pk=action_id, state=State.REQUESTED)
                  .exclude(next_attempt_at__gt=now).first())
        if action is None:
            return None
        # An attempt that recorded nothing (no error, no retry) was cut short: its worker died.
        action.unanswered_attempts = action.unanswered_attempts + 1 if action.attempts and not action.error else 0
        action.attempts += 1
        action.next_attempt_at = now + lease(action.device.connector if action.device else None)
        action.error = action.exchange_answer = ""
        action.save(update_fields=["attempts", "unanswered_attempts", "next_attempt_at", "error", "exchange_answer"])
    if action.unanswered_attempts >= MAX_UNANSWERED_ATTEMPTS:
        return _finish(action, State.FAILED, error=f"The worker stopped during each of the last {action.unanswered_attempts} "
                                                   "attempts before Exchange answered; see the worker's log.")
    device, user = action.device, action.requested_by
    if device is None or device.connector is None:
        return _finish(action, State.FAILED, error="The device or its Exchange Server connector was removed.")
    if user is None or not user.is_active or not may_request(user, device, action.kind, via_catalog=action.via_catalog):
        return _finish(action, State.FAILED, error="The requester no longer has the permission.")
    try:
        gateway = connector_gateway(device.connector)
    except ValueError as error:  # the connector's settings cannot be used
        return _finish(action, State.FAILED, error=f"The connector {device.connector} cannot be used: {error}")
    except CredentialError as error:  # e.g. just after a key rotation: the keys are read again next time
        return _retry_or_fail(action, f"The connector's password cannot be decrypted now ({error}).")
    try:
        with gateway:
            if action.attempts > 1 and action.is_wipe and _wipe_in_exchange(gateway, action, device):
                return _finish(action, State.SENT, answer=ALREADY_IN_EXCHANGE, sent=True)
            result = _send(gateway, action, device)
            if action.kind != Kind.DELETE:
                _refresh(device, gateway)
    except exchange_errors.ExchangeThrottledError as error:  # refused before running: safe to send again
        return _retry_or_fail(action, str(error), answer=str(error), not_before=error.retry_after)
    except exchange_errors.ExchangeConnectionError as error:
        answered = error.kind == "authentication"  # a wrong password is not tried more often than scheduled
        return _retry_or_fail(action, str(error), answer=str(error) if answered else "")
    except exchange_errors.ExchangeError as error:
        return _finish(action, State.FAILED, error=str(error), answer=str(error))
    answer = json.dumps(result.as_dict())
    transaction.on_commit(lambda: retry_unreachable(device.connector_id))  # Exchange answers again
    if action.is_wipe:
        return _finish(action, State.SENT, answer=answer, sent=True)
    if action.kind == Kind.CANCEL_WIPE:
        DeviceAction.objects.filter(device=device, kind__in=DeviceAction.WIPES, state__in=DeviceAction.OPEN).update(
            state=State.CANCELLED, finished_at=timezone.now(), error=f"Cancelled by {action.requested_by_name}.")
    if action.kind == Kind.DELETE:
        device.affinities.all().delete()
        Device.objects.filter(pk=device.pk).update(missing_since=timezone.now())
    return _finish(action, State.DONE, answer=answer, sent=True)


ALREADY_IN_EXCHANGE = "Exchange already had this wipe request (an earlier attempt sent it): not sent again."


def _wipe_in_exchange(gateway, action: DeviceAction, device: Device) -> bool:
    """Whether an earlier attempt's wipe reached Exchange (a worker killed before recording the answer).

    The lease outlasts the gateway's read timeout, so that attempt has ended by now; what Exchange
    records for the device says whether its request arrived. Checking costs one read, and it keeps a
    wipe from being sent twice whichever worker takes the action up again.
    """
    statistics = gateway.device_statistics(device.identity)
    refresh_device(device, statistics)
    account = action.kind == Kind.ACCOUNT_WIPE
    requested = statistics.account_only_device_wipe_request_time if account else statistics.device_wipe_request_time
    return requested is not None and requested >= action.requested_at - dt.timedelta(minutes=5)


def _send(gateway, action: DeviceAction, device: Device):
    if action.kind in DeviceAction.WIPES:
        return gateway.wipe(device.identity, account_only=action.kind == Kind.ACCOUNT_WIPE,
                            notification_addresses=action.parameters.get("NotificationEmailAddresses", []))
    if action.kind == Kind.CANCEL_WIPE:
        wipe = open_wipe(device)
        return gateway.cancel_wipe(device.identity, account_only=bool(wipe and wipe.kind == Kind.ACCOUNT_WIPE))
    if action.kind == Kind.ALLOW:
        return gateway.allow_device(device.mailbox, device.device_id)
    if action.kind == Kind.BLOCK:
        return gateway.block_device(device.mailbox, device.device_id)
    return gateway.remove_device(device.identity)


def _refresh(device: Device, gateway) -> None:
    """Read the device's statistics again, so the console shows at once what the action changed."""
    try:
        refresh_device(device, gateway.device_statistics(device.identity))
    except exchange_errors.ExchangeError as error:  # the action itself succeeded: say so, and let discovery catch up
        log.warning(f"Could not read the statistics of {device.name} after the action: {error}")


def refresh_device(device: Device, statistics) -> None:
    Device.objects.filter(pk=device.pk).update(**statistics_values(statistics))


def _retry_or_fail(action: DeviceAction, reason: str, *, answer: str = "", not_before: float | None = None) -> DeviceAction:
    """Schedule the next attempt: after the retry schedule's delay and never before the wait Exchange
    asked for; Failed once that would fall beyond the action's lifetime."""
    delay = RETRY_DELAYS[min(action.attempts - 1, len(RETRY_DELAYS) - 1)]
    if not_before is not None:
        delay = max(delay, dt.timedelta(seconds=not_before))
    next_attempt = timezone.now() + delay
    if next_attempt > lifetime_end(action):
        return _finish(action, State.FAILED, answer=answer,
                       error=f"Exchange did not take the action within {settings.EASCONSOLE_WIPE_EXPIRY_HOURS} hours "
                             f"({action.attempts} attempts). Last attempt: {reason}")
    action.next_attempt_at = next_attempt
    action.exchange_answer = answer
    action.error = (f"{reason} The {action.get_kind_display().lower()} will be retried at {next_attempt:%H:%M:%S} UTC "
                    f"(attempt {action.attempts + 1}).")
    action.save(update_fields=["next_attempt_at", "error", "exchange_answer"])
    log.warning(f"{action.get_kind_display()} of {action.device_name}: {action.error}")
    transaction.on_commit(watch_soon)
    return action


def retry_unreachable(connector_id: int | None) -> int:
    """A connection to the connector works again: send now what waits only because Exchange could not
    be reached (not what Exchange throttled or refused). Returns how many were queued."""
    if connector_id is None:
        return 0
    now = timezone.now()
    waiting = (DeviceAction.objects.filter(connector_id=connector_id, state=State.REQUESTED, next_attempt_at__gt=now,
                                           exchange_answer="").exclude(error=""))
    ids = list(waiting.values_list("pk", flat=True))
    if ids:
        waiting.filter(pk__in=ids).update(next_attempt_at=now)  # the same conditions: never a lease being held
        log.info(f"Exchange answers again: sending {len(ids)} waiting action(s) now")
    for action_id in ids:
        queue(action_id)
    return len(ids)


def watch_soon() -> None:
    """Make sure the watcher runs: an open wipe to follow, or a retry to send on time."""
    from devices.actions import watch

    watch.start()


def _finish(action: DeviceAction, state: str, *, error: str = "", answer: str = "", sent: bool = False) -> DeviceAction:
    now = timezone.now()
    action.state = state
    action.next_attempt_at = None
    action.error = error
    action.exchange_answer = answer
    if sent:
        action.sent_at = now
    if state not in DeviceAction.OPEN:
        action.finished_at = now
    with transaction.atomic():
        action.save()
        audit.record(user=action.requested_by, action=f"{action.kind} {action.get_state_display().lower()}", obj=action.device,
                     address=action.address, outcome=AuditEvent.Outcome.FAILURE if state == State.FAILED else AuditEvent.Outcome.SUCCESS,
                     message=error, cmdlet=action.cmdlet, parameters=action.parameters, exchange_answer=answer or error,
                     object_type="mobile device", object_repr=action.device_name)
    log.info(f"{action.get_kind_display()} of {action.device_name}: {action.get_state_display()}" + (f" ({error})" if error else ""))
    if state == State.SENT:
        transaction.on_commit(watch_soon)  # its acknowledgement is followed closely
    return action


def follow(action: DeviceAction, statistics) -> DeviceAction:
    """Move an open wipe along from Exchange's statistics of its device (status poll and discovery)."""
    if not action.is_wipe or action.state not in (State.SENT, State.PENDING):
        return action
    account = action.kind == Kind.ACCOUNT_WIPE
    ack = statistics.account_only_device_wipe_ack_time if account else statistics.device_wipe_ack_time
    requested = statistics.account_only_device_wipe_request_time if account else statistics.device_wipe_request_time
    now = timezone.now()
    if ack is not None and ack >= action.requested_at - dt.timedelta(minutes=5):
        action.acknowledged_at = ack
        finished = _finish(action, State.ACKNOWLEDGED, answer=f"Status {statistics.status}; acknowledged {ack:%Y-%m-%d %H:%M:%S} UTC.")
        notifications.wipe_acknowledged(finished)
        return finished
    if requested is None:
        return _finish(action, State.CANCELLED, error="The wipe request is no longer in Exchange (cancelled there).")
    if action.sent_at and now - action.sent_at > dt.timedelta(hours=settings.EASCONSOLE_WIPE_EXPIRY_HOURS):
        return _finish(action, State.EXPIRED, error=f"No acknowledgement within {settings.EASCONSOLE_WIPE_EXPIRY_HOURS} hours.")
    if action.state == State.SENT:
        action.state, action.pending_at = State.PENDING, now
        action.save(update_fields=["state", "pending_at"])
    return action


def poll_open_wipes(*, sent_since: dt.datetime | None = None, stop=lambda: False) -> int:
    """Read the statistics of every device with an open wipe (sent since `sent_since`, when given) and
    move the wipes along; `stop()` true ends the round early (the rest are read next time). Returns
    how many were read."""
    read = 0
    open_actions = (DeviceAction.objects.filter(kind__in=DeviceAction.WIPES, state__in=[State.SENT, State.PENDING])
                    .select_related("device__connector", "requested_by"))
    if sent_since is not None:
        open_actions = open_actions.filter(sent_at__gte=sent_since)
    by_connector: dict[int, list[DeviceAction]] = {}
    for action in open_actions:
        if action.device and action.device.connector:
            by_connector.setdefault(action.device.connector_id, []).append(action)
    for connector_id, actions in by_connector.items():
        try:
            with connector_gateway(actions[0].device.connector) as gateway:
                retry_unreachable(connector_id)  # Exchange answers: what waited for it goes now
                for action in actions:
                    if stop():
                        return read
                    try:
                        statistics = gateway.device_statistics(action.device.identity)
                        refresh_device(action.device, statistics)
                        follow(action, statistics)
                    except exchange_errors.ExchangeObjectNotFound:
                        _finish(action, State.FAILED, error="Exchange no longer has this device.")
                    read += 1
        except (exchange_errors.ExchangeError, CredentialError, ValueError) as error:
            log.warning(f"Wipe status poll failed: {error}")
    return read


def follow_from_inventory(connector) -> int:
    """Move open wipes along from the statistics a discovery stored on their devices (its fields bear
    the statistics' names). Returns how many were looked at."""
    actions = (DeviceAction.objects.filter(connector=connector, kind__in=DeviceAction.WIPES, state__in=[State.SENT, State.PENDING])
               .select_related("device", "requested_by"))
    count = 0
    for action in actions:
        device = action.device
        # Only statistics read after the wipe was sent say anything about it.
        if device is not None and device.missing_since is None and device.last_discovered and action.sent_at \
                and device.last_discovered > action.sent_at:
            follow(action, device)
            count += 1
    return count


def requeue_lost_actions(*, older_than: dt.timedelta = dt.timedelta(minutes=1)) -> int:
    """Queue again the Requested actions whose retry is due or whose task was lost (a worker killed
    mid-send, a broker emptied). Runs every minute; the watcher sends due retries sooner."""
    now = timezone.now()
    due = DeviceAction.objects.filter(state=State.REQUESTED, requested_at__lt=now - older_than).exclude(next_attempt_at__gt=now)
    ids = list(due.values_list("pk", flat=True))
    for action_id in ids:
        queue(action_id)
    return len(ids)


def queue_due_retries(*, since: dt.datetime) -> int:
    """Queue the actions whose retry (or lease) fell due after `since`: sent on time, not at the next minute."""
    now = timezone.now()
    ids = list(DeviceAction.objects.filter(state=State.REQUESTED, next_attempt_at__gt=since, next_attempt_at__lte=now)
               .values_list("pk", flat=True))
    for action_id in ids:
        queue(action_id)
    return len(ids)


def waiting_connectors() -> list[int]:
    """Connectors with actions waiting only because Exchange could not be reached."""
    return list(DeviceAction.objects.filter(state=State.REQUESTED, next_attempt_at__gt=timezone.now(), exchange_answer="")
                .exclude(error="").exclude(connector=None).values_list("connector_id", flat=True).distinct())


def anything_to_watch() -> bool:
    """An open wipe to follow, or an action waiting for a retry (or being sent)."""
    return DeviceAction.objects.filter(
        models.Q(kind__in=DeviceAction.WIPES, state__in=[State.SENT, State.PENDING])
        | models.Q(state=State.REQUESTED, next_attempt_at__isnull=False)).exists()


def offered_actions(user, device: Device) -> list[dict]:
    """The actions of the device page's action bar: those the user holds the permission for, each
    enabled or disabled with the reason (an account-only wipe the device cannot do, a cancel with
    nothing to cancel)."""
    wipe = open_wipe(device)
    permitted = {perm: can_act_on(user, perm, device) for perm in set(rules.PERMISSION.values())}
    offered = []
    for kind in Kind:
        if not permitted[rules.PERMISSION[kind]]:
            continue
        reason = rules.refusal(device, kind, open_wipe=wipe, confirmed_wipe_loss=True)
        if kind in DeviceAction.WIPES and wipe is not None and wipe.kind == kind:
            reason = _("A wipe is already pending.")
        offered.append({"kind": kind, "label": kind.label, "reason": reason})
    return offered
