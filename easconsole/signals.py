"""Sign-ins, sign-outs, failures and lockouts go into the audit trail; a starting django-q2 worker
reclaims the runspace pools a killed worker left on Exchange and schedules its heartbeat (/healthz)."""
import logging

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django_q.signals import post_spawn

from easconsole import audit
from easconsole.models import AuditEvent


@receiver(user_logged_in)
def signed_in(sender, request, user, **kwargs):
    audit.record(user=user, action="sign in", address=audit.client_address(request))


@receiver(user_logged_out)
def signed_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(user=user, action="sign out", address=audit.client_address(request))


@receiver(user_login_failed)
def sign_in_failed(sender, credentials, request=None, **kwargs):
    audit.record(
        user=None,
        username=str(credentials.get("username", ""))[:150],
        action="sign in",
        outcome=AuditEvent.Outcome.FAILURE,
        message="The directory could not be reached." if getattr(request, "easconsole_directory_error", None)
        else "Wrong user name or password.",
        address=audit.client_address(request) if request is not None else None,
    )


@receiver(user_locked_out)
def locked_out(sender, request, username, ip_address, **kwargs):
    audit.record(
        user=None,
        username=str(username or "")[:150],
        action="sign in",
        outcome=AuditEvent.Outcome.DENIED,
        message="Locked out after repeated failed sign-ins.",
        address=ip_address,
    )


@receiver(post_spawn)
def worker_started(sender, proc_name, **kwargs):
    """Only qcluster workers send post_spawn: a worker (re)starting may follow one that was killed
    with pools open on Exchange, so the reclaim schedule runs at once instead of within 15 minutes."""
    from easconsole.health import heartbeat_schedule
    from easconsole.tasks import reclaim_soon

    try:
        reclaim_soon()
        heartbeat_schedule()  # /healthz reads the worker's heartbeat
    except Exception:  # noqa: BLE001 - never keep a worker from starting; the schedule runs anyway
        logging.getLogger(__name__).exception("could not plan the reclaim of runspace pools or the heartbeat")
