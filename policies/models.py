"""A connector's mobile device settings (five groups) and its access rules, as the console stores them.

Pushing them to Exchange (Set-ActiveSyncMailboxPolicy, the access rule cmdlets and
Set-ActiveSyncOrganizationSettings) reads these rows; see ``policies.services.mailbox_policy_parameters``.
"""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from easconsole.models import ExchangeConnector
from policies import catalog

USER_MAIL_INSERT_MAX = 256


class ConnectorPolicy(models.Model):
    """The connector's settings: the configured mobile device settings, and the organization's access settings.

    ``settings`` holds only configured settings, keyed by EAS mailbox policy parameter (a missing key
    is "Not configured"); values are in the catalog's units.
    """

    connector = models.OneToOneField(ExchangeConnector, on_delete=models.CASCADE, related_name="policy",
                                     verbose_name=_("Exchange Server connector"))
    settings = models.JSONField(_("configured settings"), default=dict, blank=True)
    allow_external_mdm = models.BooleanField(_("allow external mobile device management"), default=False)
    default_access_level = models.CharField(
        _("default access level"), max_length=10, choices=ExchangeConnector.AccessLevel.choices,
        default=ExchangeConnector.AccessLevel.ALLOW,
        help_text=_("For devices that no access rule matches."),
    )
    admin_mail_recipients = models.JSONField(_("administrators who receive quarantine email"), default=list, blank=True)
    user_mail_insert = models.CharField(_("text added to the user's quarantine email"), max_length=USER_MAIL_INSERT_MAX,
                                        blank=True)
    modified = models.DateTimeField(_("modified"), auto_now=True)
    # What the console knows of Exchange: the rules it created or adopted (their Exchange identities,
    # so removing a rule here removes it there), the rules someone else made, and the drift found by
    # the last full discovery (each {"setting", "console", "exchange"}).
    owned_rules = models.JSONField(_("access rules the console owns"), default=list, blank=True)
    foreign_rules = models.JSONField(_("access rules made in Exchange"), default=list, blank=True)
    drift = models.JSONField(_("differences from Exchange"), default=list, blank=True)
    drift_checked_at = models.DateTimeField(_("compared with Exchange"), null=True, blank=True)

    class Meta:
        verbose_name = _("connector settings")
        verbose_name_plural = _("connector settings")
        default_permissions = ()

    def __str__(self) -> str:
        return str(_("Settings of %(connector)s") % {"connector": self.connector})

    def clean(self) -> None:
        errors = {}
        if not isinstance(self.settings, dict):
            errors["settings"] = _("The settings must be a mapping of parameter names to values.")
        else:
            try:
                self.settings = catalog.validate_settings(self.settings)
            except ValidationError as error:
                errors["settings"] = [f"{key}: {message}" for key, messages in error.message_dict.items()
                                      for message in messages]
        if not isinstance(self.admin_mail_recipients, list):
            errors["admin_mail_recipients"] = _("Give a list of email addresses.")
        else:
            bad = []
            for address in self.admin_mail_recipients:
                try:
                    validate_email(address)
                except ValidationError:
                    bad.append(str(address))
            if bad:
                errors["admin_mail_recipients"] = _("Not an email address: %(addresses)s.") % {"addresses": ", ".join(bad)}
        if errors:
            raise ValidationError(errors)


class AccessRule(models.Model):
    """An Exchange ActiveSync device access rule: devices whose characteristic equals the query string."""

    class Characteristic(models.TextChoices):
        DEVICE_TYPE = "DeviceType", _("Device type")
        DEVICE_MODEL = "DeviceModel", _("Device model")
        DEVICE_OS = "DeviceOS", _("Device operating system")
        USER_AGENT = "UserAgent", _("User agent")

    connector = models.ForeignKey(ExchangeConnector, on_delete=models.CASCADE, related_name="access_rules",
                                  verbose_name=_("Exchange Server connector"))
    characteristic = models.CharField(_("characteristic"), max_length=20, choices=Characteristic.choices)
    query_string = models.CharField(_("query string"), max_length=256,
                                    help_text=_("The exact value the device reports (no wildcards)."))
    access_level = models.CharField(_("access level"), max_length=10, choices=ExchangeConnector.AccessLevel.choices)

    class Meta:
        ordering = ["characteristic", "query_string"]
        verbose_name = _("access rule")
        verbose_name_plural = _("access rules")
        default_permissions = ()
        constraints = [
            # Exchange names a rule "QueryString (Characteristic)", and its names ignore case.
            models.UniqueConstraint("connector", "characteristic", Lower("query_string"), name="accessrule_unique_per_connector",
                                    violation_error_message=_("This connector already has a rule for this value.")),
        ]

    def __str__(self) -> str:
        return self.identity

    def clean(self) -> None:
        if "*" in (self.query_string or ""):
            raise ValidationError({"query_string": _(
                "Access rules match the exact value a device reports; wildcards such as * are not supported.")})

    @property
    def identity(self) -> str:
        """The rule's name in Exchange."""
        return f"{self.query_string} ({self.characteristic})"


class PolicyPush(models.Model):
    """One push of a connector's settings and access rules to Exchange, and its lifecycle.

    Requested → Sent (a worker holds it) → Done, or Failed with Exchange's answer. A connection
    failure puts it back to Requested with a later ``next_attempt_at``; each attempt re-reads Exchange,
    so it only sends what is still missing. ``commands`` lists every cmdlet sent, with its outcome.
    """

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        SENT = "sent", _("Sent to Exchange")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    OPEN = (State.REQUESTED, State.SENT)

    connector = models.ForeignKey(ExchangeConnector, on_delete=models.CASCADE, related_name="policy_pushes",
                                  verbose_name=_("Exchange Server connector"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.REQUESTED, db_index=True)
    reason = models.CharField(_("why"), max_length=200, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("requested by"))
    requested_by_name = models.CharField(_("requested by"), max_length=150)
    address = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent to Exchange"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("Exchange's answer"), blank=True)
    commands = models.JSONField(_("cmdlets sent"), default=list, blank=True)
    changes = models.JSONField(_("changes in Exchange"), default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("settings push")
        verbose_name_plural = _("settings pushes")
        default_permissions = ()

    def __str__(self) -> str:
        return str(_("Push %(pk)s of %(connector)s: %(state)s") % {
            "pk": self.pk, "connector": self.connector, "state": self.get_state_display()})
