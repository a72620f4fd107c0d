"""Assets and Compliance: mobile devices discovered from Exchange, collections, user device affinity, discovery runs."""
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

ALL_MOBILE_DEVICES = "All Mobile Devices"


class Collection(models.Model):
    """A set of devices that permissions are granted on, as ConfigMgr's device collections.

    Membership is stored (``CollectionMember``): devices matching the collection's query rules,
    plus its direct members; "All Mobile Devices" holds every device.
    """

    name = models.CharField(_("name"), max_length=200, unique=True)
    comment = models.TextField(_("comment"), blank=True)
    is_builtin = models.BooleanField(_("built-in"), default=False, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    members_refreshed = models.DateTimeField(_("membership refreshed"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-is_builtin", "name"]
        verbose_name = _("device collection")
        verbose_name_plural = _("device collections")
        default_permissions = ()
        permissions = [
            ("read_collection", "Read"),
            ("modify_resource", "Modify resource"),
            ("delete_resource", "Delete resource"),
            ("modify_collection", "Modify"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("devices:collection_detail", args=[self.pk])


class Device(models.Model):
    """One Exchange ActiveSync partnership (a user's mailbox and one device), as discovered.

    Named ``<user>_<device type>`` as ConfigMgr names it; two devices of one type for one user share
    the name, so lists also show the device ID. Property names follow Exchange's, in snake case.
    """

    connector = models.ForeignKey("easconsole.ExchangeConnector", null=True, on_delete=models.SET_NULL, related_name="devices",
                                  verbose_name=_("Exchange Server connector"))
    name = models.CharField(_("name"), max_length=300)  # indexed with device_id (device_list_order)
    exchange_guid = models.UUIDField(_("Exchange GUID"))
    identity = models.CharField(_("Exchange identity"), max_length=1024)
    device_id = models.CharField(_("device ID"), max_length=64, db_index=True)
    mailbox = models.CharField(_("mailbox"), max_length=256, db_index=True, help_text=_("The mailbox part of the identity."))
    user_display_name = models.CharField(_("user"), max_length=256, blank=True)
    user_principal_name = models.CharField(_("user principal name"), max_length=256, blank=True, db_index=True)
    user_sam_account_name = models.CharField(_("SAM account name"), max_length=256, blank=True)
    user_primary_smtp_address = models.CharField(_("primary SMTP address"), max_length=320, blank=True, db_index=True)

    # Device (Get-ActiveSyncDevice)
    friendly_name = models.CharField(_("friendly name"), max_length=256, blank=True)
    device_type = models.CharField(_("device type"), max_length=128, blank=True, db_index=True)
    device_model = models.CharField(_("model"), max_length=256, blank=True)
    device_os = models.CharField(_("operating system"), max_length=256, blank=True, db_index=True)
    device_os_language = models.CharField(_("OS language"), max_length=64, blank=True)
    device_user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    device_imei = models.CharField(_("IMEI"), max_length=64, blank=True)
    device_mobile_operator = models.CharField(_("mobile operator"), max_length=128, blank=True)
    device_telephone_number = models.CharField(_("telephone number"), max_length=64, blank=True)
    device_active_sync_version = models.CharField(_("EAS version"), max_length=16, blank=True)
    client_type = models.CharField(_("client type"), max_length=32, blank=True)
    client_version = models.CharField(_("client version"), max_length=64, blank=True)
    first_sync_time = models.DateTimeField(_("first sync"), null=True, blank=True)
    when_created = models.DateTimeField(_("created in Exchange"), null=True, blank=True)
    when_changed = models.DateTimeField(_("changed in Exchange"), null=True, blank=True)

    # Access (both objects)
    access_state = models.CharField(_("access state"), max_length=32, blank=True, db_index=True)
    access_state_reason = models.CharField(_("access state reason"), max_length=64, blank=True)
    access_control_rule = models.CharField(_("access rule"), max_length=512, blank=True)

    # Statistics (Get-ActiveSyncDeviceStatistics)
    last_success_sync = models.DateTimeField(_("last sync"), null=True, blank=True, db_index=True)
    last_sync_attempt_time = models.DateTimeField(_("last sync attempt"), null=True, blank=True)
    last_policy_update_time = models.DateTimeField(_("last policy update"), null=True, blank=True)
    last_ping_heartbeat = models.IntegerField(_("last ping heartbeat (s)"), null=True, blank=True)
    number_of_folders_synced = models.IntegerField(_("folders synced"), null=True, blank=True)
    policy_applied = models.CharField(_("policy applied"), max_length=256, blank=True)
    policy_application_status = models.CharField(_("policy application status"), max_length=32, blank=True)
    status = models.CharField(_("wipe status"), max_length=64, blank=True, help_text=_("Exchange's Status: DeviceOk, DeviceWipePending, ..."))
    status_note = models.CharField(_("status note"), max_length=512, blank=True)
    is_remote_wipe_supported = models.BooleanField(_("remote wipe supported"), null=True, blank=True)
    device_wipe_request_time = models.DateTimeField(_("wipe requested"), null=True, blank=True)
    device_wipe_sent_time = models.DateTimeField(_("wipe sent"), null=True, blank=True)
    device_wipe_ack_time = models.DateTimeField(_("wipe acknowledged"), null=True, blank=True)
    last_device_wipe_requestor = models.CharField(_("wipe requested by"), max_length=256, blank=True)
    account_only_device_wipe_request_time = models.DateTimeField(_("account-only wipe requested"), null=True, blank=True)
    account_only_device_wipe_sent_time = models.DateTimeField(_("account-only wipe sent"), null=True, blank=True)
    account_only_device_wipe_ack_time = models.DateTimeField(_("account-only wipe acknowledged"), null=True, blank=True)
    last_account_only_device_wipe_requestor = models.CharField(_("account-only wipe requested by"), max_length=256, blank=True)

    # The console's own bookkeeping
    first_discovered = models.DateTimeField(_("first discovered"), auto_now_add=True)
    last_discovered = models.DateTimeField(_("last discovered"), null=True, blank=True)
    missing_since = models.DateTimeField(_("missing from Exchange since"), null=True, blank=True, db_index=True,
                                         help_text=_("Exchange no longer has this partnership; purged after the retention period."))

    class Meta:
        ordering = ["name", "device_id"]
        verbose_name = _("mobile device")
        verbose_name_plural = _("mobile devices")
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["connector", "exchange_guid"], name="device_unique_per_connector")]
        indexes = [
            models.Index(fields=["connector", "missing_since"], name="device_connector_missing"),
            # The device list: its default order (pages far down read the index, not the rows), and the wipe status filter.
            models.Index(fields=["name", "device_id"], name="device_list_order"),
            models.Index(fields=["status"], name="device_wipe_status"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("devices:device_detail", args=[self.pk])


class CollectionRule(models.Model):
    """A query rule: devices whose ``field`` compares to ``value`` with ``operator`` are members."""

    class Operator(models.TextChoices):
        EQUALS = "equals", _("is")
        NOT_EQUALS = "not_equals", _("is not")
        CONTAINS = "contains", _("contains")
        STARTS_WITH = "starts_with", _("starts with")
        OLDER_THAN_DAYS = "older_than_days", _("more than N days ago")
        NEWER_THAN_DAYS = "newer_than_days", _("less than N days ago")

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="rules")
    field = models.CharField(_("device field"), max_length=64)
    operator = models.CharField(_("operator"), max_length=20, choices=Operator.choices)
    value = models.CharField(_("value"), max_length=256)

    class Meta:
        ordering = ["pk"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.field} {self.get_operator_display()} {self.value}"


class CollectionMember(models.Model):
    """A device's membership of a collection: by its rules, or direct."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="members")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="memberships")
    direct = models.BooleanField(_("direct member"), default=False)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["collection", "device"], name="collectionmember_unique")]
        indexes = [models.Index(fields=["device", "collection"], name="collectionmember_device")]


class UserDeviceAffinity(models.Model):
    """A user linked to a device (ConfigMgr's primary user)."""

    class Source(models.TextChoices):
        AUTOMATIC = "automatic", _("Automatic (Exchange Server connector)")
        MANUAL = "manual", _("Manual (administrator)")
        IMPORTED = "imported", _("Imported from a file")

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="affinities")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="device_affinities")
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        default_permissions = ()
        verbose_name = _("user device affinity")
        verbose_name_plural = _("user device affinities")
        constraints = [models.UniqueConstraint(fields=["device", "user"], name="affinity_unique")]

    def __str__(self) -> str:
        return f"{self.user} - {self.device}"


class DiscoveryRun(models.Model):
    """One full or delta discovery of a connector, with its progress and outcome."""

    class Kind(models.TextChoices):
        FULL = "full", _("Full discovery")
        DELTA = "delta", _("Delta discovery")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    connector = models.ForeignKey("easconsole.ExchangeConnector", on_delete=models.CASCADE, related_name="discovery_runs")
    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    phase = models.CharField(_("phase"), max_length=100, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    queued = models.DateTimeField(_("queued"), auto_now_add=True)
    started = models.DateTimeField(_("started"), null=True, blank=True)
    finished = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat = models.DateTimeField(_("last progress"), null=True, blank=True)
    devices_seen = models.PositiveIntegerField(_("devices read"), default=0)
    devices_added = models.PositiveIntegerField(_("added"), default=0)
    devices_changed = models.PositiveIntegerField(_("changed"), default=0)
    devices_missing = models.PositiveIntegerField(_("no longer in Exchange"), default=0)
    devices_ignored = models.PositiveIntegerField(_("ignored (inactive)"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-queued", "-pk"]
        verbose_name = _("discovery run")
        verbose_name_plural = _("discovery runs")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.connector} ({self.get_state_display()})"

    def get_absolute_url(self) -> str:
        return reverse("devices:discoveryrun_detail", args=[self.pk])

    @property
    def rate(self) -> float | None:
        """Devices read per second so far."""
        if not self.started or not self.devices_seen:
            return None
        end = self.finished or self.heartbeat
        seconds = (end - self.started).total_seconds() if end else 0
        return self.devices_seen / seconds if seconds > 0 else None


class DeviceAction(models.Model):
    """One action on a device, by a person, and its lifecycle: the spine of the product.

    A wipe goes Requested → Sent to Exchange → Pending on device → Acknowledged, or ends Cancelled,
    Failed (with Exchange's reason) or Expired (no acknowledgement in time). Other actions go
    Requested → Done, or Failed. The row is written in the same transaction as its audit record and
    the task that sends it is queued on commit; at most one wipe is open per device.
    """

    class Kind(models.TextChoices):
        WIPE = "wipe", _("Wipe")
        ACCOUNT_WIPE = "account_wipe", _("Account-only wipe")
        CANCEL_WIPE = "cancel_wipe", _("Cancel wipe")
        ALLOW = "allow", _("Allow")
        BLOCK = "block", _("Block")
        DELETE = "delete", _("Delete")

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        SENT = "sent", _("Sent to Exchange")
        PENDING = "pending", _("Pending on device")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    WIPES = (Kind.WIPE, Kind.ACCOUNT_WIPE)
    OPEN = (State.REQUESTED, State.SENT, State.PENDING)

    device = models.ForeignKey(Device, null=True, on_delete=models.SET_NULL, related_name="actions", verbose_name=_("device"))
    device_name = models.CharField(_("device"), max_length=300)
    device_identity = models.CharField(_("Exchange identity"), max_length=1024)
    connector = models.ForeignKey("easconsole.ExchangeConnector", null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(_("action"), max_length=16, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.REQUESTED, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("requested by"))
    requested_by_name = models.CharField(_("requested by"), max_length=150)
    via_catalog = models.BooleanField(_("from the Application Catalog"), default=False)
    address = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    # Why the person asked (a ticket number, "lost in a taxi"): kept with the action and its audit record.
    reason = models.CharField(_("reason or ticket"), max_length=200, blank=True)
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Attempts in a row that ended with no outcome recorded: the worker died while sending.
    unanswered_attempts = models.PositiveSmallIntegerField(_("attempts without an outcome"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent to Exchange"), null=True, blank=True)
    pending_at = models.DateTimeField(_("pending on device"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("reason"), blank=True)
    cmdlet = models.CharField(_("cmdlet"), max_length=100, blank=True)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    exchange_answer = models.TextField(_("Exchange's answer"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("device action")
        verbose_name_plural = _("device actions")
        default_permissions = ()
        constraints = [
            # A double click, or two administrators at once, make one wipe request.
            models.UniqueConstraint(
                fields=["device"], condition=models.Q(kind__in=["wipe", "account_wipe"], state__in=["requested", "sent", "pending"]),
                name="deviceaction_one_open_wipe",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.device_name} ({self.get_state_display()})"

    def get_absolute_url(self) -> str:
        return reverse("devices:deviceaction_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN

    @property
    def is_wipe(self) -> bool:
        return self.kind in self.WIPES


class FleetSnapshot(models.Model):
    """The fleet's figures on one day (every device, whoever reads them), for the trend charts: the only
    history the console keeps of its inventory. Taken daily and after each full discovery (devices/history.py);
    taking it again the same day replaces that day's figures."""

    date = models.DateField(_("date"), unique=True)
    taken_at = models.DateTimeField(_("taken"), auto_now=True)
    total = models.PositiveIntegerField(_("devices"), default=0)
    # Devices per sync-age bucket (devices.history.SYNC_AGES, then "never synced"), and per access state token.
    sync_ages = models.JSONField(_("devices by time since their last sync"), default=list)
    access_states = models.JSONField(_("devices by access state"), default=dict)

    class Meta:
        ordering = ["date"]
        default_permissions = ()
        verbose_name = _("fleet snapshot")

    def __str__(self) -> str:
        return f"{self.date}: {self.total} devices"


# ---- discovery staging (devices/discovery/): what a run read, applied to Device only when it succeeds ----
class DiscoveryStagedDevice(models.Model):
    """A device one discovery run read from Exchange, held until the run applies it (then deleted).

    ``data`` holds the Device fields as read (JSON); it is None for a row that only lists the device
    (delta discovery lists every Guid to find removed devices) and for an ignored (inactive) device.
    """

    run = models.ForeignKey(DiscoveryRun, on_delete=models.CASCADE, related_name="+")
    exchange_guid = models.UUIDField()
    when_changed = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(null=True, blank=True)
    ignored = models.BooleanField(default=False)

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["run", "exchange_guid"], name="stageddevice_run_guid")]


class DiscoveryStagedMailbox(models.Model):
    """A mailbox one full discovery read (Get-Mailbox), to name devices and link them to their users."""

    run = models.ForeignKey(DiscoveryRun, on_delete=models.CASCADE, related_name="+")
    identity_key = models.CharField(max_length=1024)  # the mailbox's Identity, lower case
    alias_key = models.CharField(max_length=256)  # its Alias, lower case
    display_name = models.CharField(max_length=256, blank=True)
    sam_account_name = models.CharField(max_length=256, blank=True)
    user_principal_name = models.CharField(max_length=256, blank=True)
    primary_smtp_address = models.CharField(max_length=320, blank=True)

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["run", "identity_key"], name="stagedmailbox_run_identity"),
                   models.Index(fields=["run", "alias_key"], name="stagedmailbox_run_alias")]


# ---- offboarding (devices/offboarding/): a leaver's devices wiped, then their mailbox closed to ActiveSync ----
class Offboarding(models.Model):
    """One leaver's offboarding: their devices as they were (the evidence), a wipe per device, then
    Exchange ActiveSync turned off for their mailbox once every wipe has ended (with ActiveSync off
    Exchange answers the device 403 and never delivers a wipe still waiting)."""

    class Block(models.TextChoices):
        WAITING = "waiting", _("Waiting for the wipes")
        REQUESTED = "requested", _("Being sent to Exchange")
        DONE = "done", _("ActiveSync turned off")
        FAILED = "failed", _("Failed")

    connector = models.ForeignKey("easconsole.ExchangeConnector", null=True, on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("Exchange Server connector"))
    mailbox = models.CharField(_("mailbox"), max_length=256)
    user_display_name = models.CharField(_("user"), max_length=256, blank=True)
    user_principal_name = models.CharField(_("user principal name"), max_length=256, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("requested by"))
    requested_by_name = models.CharField(_("requested by"), max_length=150)
    address = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True, db_index=True)
    block_state = models.CharField(_("ActiveSync for the mailbox"), max_length=16, choices=Block.choices, default=Block.WAITING)
    block_requested_at = models.DateTimeField(_("every wipe ended"), null=True, blank=True)
    block_attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    block_next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    blocked_at = models.DateTimeField(_("ActiveSync turned off"), null=True, blank=True)
    block_error = models.TextField(_("reason"), blank=True)
    block_answer = models.TextField(_("Exchange's answer"), blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("offboarding")
        verbose_name_plural = _("offboardings")
        default_permissions = ()

    def __str__(self) -> str:
        return self.user_display_name or self.mailbox

    def get_absolute_url(self) -> str:
        return reverse("devices:offboarding_detail", args=[self.pk])


class OffboardingDevice(models.Model):
    """One device of an offboarding: what it was when the offboarding began, and its wipe (or why none)."""

    offboarding = models.ForeignKey(Offboarding, on_delete=models.CASCADE, related_name="devices")
    device = models.ForeignKey(Device, null=True, on_delete=models.SET_NULL, related_name="+")
    snapshot = models.JSONField(_("snapshot"), default=dict)
    wipe = models.ForeignKey(DeviceAction, null=True, blank=True, on_delete=models.SET_NULL, related_name="offboardings")
    refusal = models.TextField(_("not wiped because"), blank=True)

    class Meta:
        ordering = ["pk"]
        default_permissions = ()


# ---- stale-device cleanup (devices/cleanup/) ----
from devices.cleanup.models import CleanupCandidate, CleanupRule, CleanupRun  # noqa: E402,F401
