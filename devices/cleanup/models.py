"""The cleanup rule of a connector, its runs, and each run's frozen candidates (imported by devices.models)."""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

MIN_DAYS = 30  # never a device that synced within a month: discovery's own default horizon
DEFAULT_DAYS = 90


class CleanupRule(models.Model):
    """A connector's rule: remove the partnerships not synced for ``days_not_synced`` days."""

    connector = models.OneToOneField("easconsole.ExchangeConnector", on_delete=models.CASCADE, related_name="cleanup_rule")
    enabled = models.BooleanField(_("enabled"), default=False,
                                  help_text=_("Previews and approvals are possible only while the rule is enabled."))
    days_not_synced = models.PositiveSmallIntegerField(
        _("not synced for (days)"), default=DEFAULT_DAYS, validators=[MinValueValidator(MIN_DAYS), MaxValueValidator(3650)],
        help_text=_("Devices whose last successful sync (first sync if they never synced) is older. At least %(min)d.") % {"min": MIN_DAYS})
    changed_by_name = models.CharField(_("changed by"), max_length=150, blank=True, editable=False)
    changed = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        default_permissions = ()
        verbose_name = _("stale-device cleanup rule")

    def __str__(self) -> str:
        return f"{self.connector}: not synced for {self.days_not_synced} days"


class CleanupRun(models.Model):
    """One dry run and, once approved, its execution: the candidates are frozen at the preview."""

    class State(models.TextChoices):
        AWAITING_APPROVAL = "awaiting", _("Awaiting approval")
        APPROVED = "approved", _("Approved, removing")
        FINISHED = "finished", _("Finished")
        DISCARDED = "discarded", _("Discarded (a newer preview replaced it)")
        FAILED = "failed", _("Stopped")

    ACTIVE = (State.APPROVED,)

    connector = models.ForeignKey("easconsole.ExchangeConnector", on_delete=models.CASCADE, related_name="cleanup_runs")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.AWAITING_APPROVAL, db_index=True)
    days_not_synced = models.PositiveSmallIntegerField(_("not synced for (days)"))
    not_synced_since = models.DateTimeField(_("not synced since"))
    stale_found = models.PositiveIntegerField(_("stale devices found"), default=0)
    cap_remaining = models.PositiveIntegerField(_("left of the monthly cap at the preview"), default=0)
    previewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    previewed_by_name = models.CharField(_("previewed by"), max_length=150)
    previewed = models.DateTimeField(_("previewed"), auto_now_add=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_by_name = models.CharField(_("approved by"), max_length=150, blank=True)
    approved = models.DateTimeField(_("approved"), null=True, blank=True)
    finished = models.DateTimeField(_("finished"), null=True, blank=True)
    next_step = models.DateTimeField(_("next batch"), null=True, blank=True)
    error = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-previewed", "-pk"]
        default_permissions = ()
        verbose_name = _("stale-device cleanup run")
        verbose_name_plural = _("stale-device cleanup runs")

    def __str__(self) -> str:
        return f"Cleanup of {self.connector} ({self.get_state_display()})"

    def get_absolute_url(self) -> str:
        return reverse("devices:cleanuprun_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE


class CleanupCandidate(models.Model):
    """A device the preview listed, as it was then; its removal is a Delete device action.

    Removed, failed or still being removed is the action's state; skipped (and why) is recorded here.
    """

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Not yet handled")
        REQUESTED = "requested", _("Delete requested")
        SKIPPED = "skipped", _("Skipped")

    run = models.ForeignKey(CleanupRun, on_delete=models.CASCADE, related_name="candidates")
    device = models.ForeignKey("devices.Device", null=True, on_delete=models.SET_NULL, related_name="+")
    device_name = models.CharField(_("device"), max_length=300)
    device_identity = models.CharField(_("Exchange identity"), max_length=1024)
    exchange_device_id = models.CharField(_("device ID"), max_length=64)
    user = models.CharField(_("user"), max_length=320, blank=True)
    last_success_sync = models.DateTimeField(_("last sync at the preview"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    reason = models.TextField(_("reason"), blank=True)
    handled = models.DateTimeField(_("handled"), null=True, blank=True)
    action = models.OneToOneField("devices.DeviceAction", null=True, blank=True, on_delete=models.SET_NULL, related_name="cleanup_candidate")

    class Meta:
        ordering = ["last_success_sync", "pk"]
        default_permissions = ()
        verbose_name = _("removed stale device")
        verbose_name_plural = _("removed stale devices")

    def __str__(self) -> str:
        return self.device_name

    @property
    def result(self) -> str:
        """What became of the device: Removed, Failed, Being removed, Skipped or Not yet handled."""
        if self.action is None:
            return self.get_outcome_display()
        state = self.action.state
        if state == "done":
            return str(_("Removed"))
        return str(_("Being removed")) if state in ("requested", "sent", "pending") else str(_("Failed"))

    @property
    def explanation(self) -> str:
        return self.action.error if self.action is not None else self.reason

    @property
    def when(self):
        """When it was removed (or failed), or skipped."""
        return self.action.finished_at if self.action is not None else self.handled
