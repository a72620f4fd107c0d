"""The append-only audit trail."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One change made by a person, or one refusal. Append-only: never updated, never deleted.

    The database refuses UPDATE and DELETE on this table (triggers added by migration), so not even
    a bug in the application can rewrite history.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Succeeded")
        FAILURE = "failure", _("Failed")
        DENIED = "denied", _("Denied")

    time = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    username = models.CharField(_("user"), max_length=150, blank=True)
    roles = models.CharField(_("roles"), max_length=300, blank=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object ID"), max_length=100, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    address = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    message = models.TextField(_("message"), blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    cmdlet = models.CharField(_("cmdlet"), max_length=100, blank=True)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    exchange_answer = models.TextField(_("Exchange's answer"), blank=True)

    class Meta:
        ordering = ["-time", "-pk"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit trail")
        default_permissions = ()
        permissions = [("view_auditevent", "Read the audit trail")]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action} {self.object_repr}"

    def get_absolute_url(self) -> str:
        return reverse("easconsole:auditevent_detail", args=[self.pk])

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events are append-only.")
