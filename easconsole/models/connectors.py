"""Administration ▸ Hierarchy Configuration ▸ Exchange Server Connectors, and their status messages."""
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from easconsole import credentials
from easconsole.models.security import Site

# A DNS name (a server's FQDN or a CAS array's name), or an IPv4 address.
FQDN_VALIDATOR = RegexValidator(
    r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$",
    _("Enter a server name such as cas01.contoso.com (letters, digits, hyphens and dots)."),
)


class ExchangeConnector(models.Model):
    """One connector per Exchange organization, run by a site."""

    class Environment(models.TextChoices):
        ON_PREMISES = "onprem", _("On-premises Exchange Server")
        ONLINE = "online", _("Exchange Online")

    class Authentication(models.TextChoices):
        KERBEROS = "kerberos", _("Kerberos")
        NEGOTIATE = "negotiate", _("Negotiate")
        NTLM = "ntlm", _("NTLM")
        BASIC = "basic", _("Basic")

    class State(models.TextChoices):
        FLAGGED = "flagged", _("Flagged for installation")
        INSTALLING = "installing", _("Installing")
        INSTALLED = "installed", _("Installed")
        FAILED = "failed", _("Installation failed; retrying")
        # Exchange refused the password (HTTP 401): retrying would lock the service account out.
        AUTH_FAILED = "auth_failed", _("Password refused; waiting for a new password")

    class AccessLevel(models.TextChoices):
        ALLOW = "Allow", _("Allow")
        BLOCK = "Block", _("Block")
        QUARANTINE = "Quarantine", _("Quarantine")

    name = models.CharField(_("name"), max_length=100, help_text=_("How the console names this connector."))
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="connectors", verbose_name=_("site"))
    environment = models.CharField(_("environment"), max_length=10, choices=Environment.choices, default=Environment.ON_PREMISES)
    online_tenant = models.CharField(_("Exchange Online organization"), max_length=253, blank=True,
                                     help_text=_("The tenant ID or the tenant's domain, e.g. contoso.onmicrosoft.com."))
    # Exchange Online: the application ID is kept in `username`, its certificate or secret in the
    # encrypted password. Blank URLs mean Microsoft's worldwide cloud.
    online_endpoint = models.URLField(_("Exchange Online REST endpoint"), blank=True,
                                      help_text=_("Blank for https://outlook.office365.com; set it for a sovereign cloud."))
    online_authority = models.URLField(_("sign-in authority"), blank=True,
                                       help_text=_("Blank for https://login.microsoftonline.com; set it for a sovereign cloud."))

    # Account
    authentication = models.CharField(_("authentication"), max_length=10, choices=Authentication.choices, default=Authentication.KERBEROS)
    username = models.CharField(_("connection account"), max_length=256, blank=True, help_text=_("DOMAIN\\user or user@domain."))
    password_encrypted = models.TextField(editable=False, blank=True)
    kerberos_realm = models.CharField(_("Kerberos realm"), max_length=253, blank=True,
                                      help_text=_("Kerberos only. E.g. CONTOSO.COM; empty: the domain of a user@domain account, in capitals."))
    kerberos_kdc = models.CharField(_("KDC"), max_length=500, blank=True,
                                    help_text=_("Kerberos only. Domain controllers, e.g. dc1.contoso.com, dc2.contoso.com:88; empty: found through DNS."))
    port = models.PositiveIntegerField(_("port"), default=80, validators=[MinValueValidator(1), MaxValueValidator(65535)])
    use_tls = models.BooleanField(_("use HTTPS"), default=False)
    verify_tls = models.BooleanField(_("validate the server certificate"), default=True)
    ca_bundle = models.TextField(_("trusted CA certificates (PEM)"), blank=True)
    notification_account = models.EmailField(_("notification account"), blank=True,
                                             help_text=_("A mailbox that sends the email to users whose devices are blocked or wiped."))

    # Discovery
    full_discovery_days = models.PositiveSmallIntegerField(_("full discovery every (days)"), default=1,
                                                           validators=[MinValueValidator(1), MaxValueValidator(30)])
    full_discovery_time = models.TimeField(_("full discovery at"), default="02:00")
    delta_interval_minutes = models.PositiveIntegerField(_("delta discovery every (minutes)"), default=240,
                                                         validators=[MinValueValidator(5), MaxValueValidator(1440)])
    all_recipients = models.BooleanField(_("all recipients"), default=True)
    ad_containers = models.TextField(_("Active Directory containers"), blank=True,
                                     help_text=_("One organizational unit per line, e.g. contoso.com/Sales."))
    ignore_inactive_days = models.PositiveSmallIntegerField(_("ignore devices inactive for more than (days)"), default=30,
                                                            validators=[MinValueValidator(1), MaxValueValidator(999)])
    max_concurrency = models.PositiveSmallIntegerField(_("concurrent Exchange sessions"), default=4,
                                                       validators=[MinValueValidator(1), MaxValueValidator(12)],
                                                       help_text=_("Stays below Exchange's throttling limit of 18 sessions per account."))

    # What Exchange reported, and the state of the connector
    organization_name = models.CharField(_("Exchange organization"), max_length=256, blank=True, editable=False)
    organization_guid = models.UUIDField(_("organization GUID"), null=True, blank=True, unique=True, editable=False)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.FLAGGED, editable=False)
    state_message = models.TextField(_("status"), blank=True, editable=False)
    server_in_use = models.CharField(_("server in use"), max_length=253, blank=True, editable=False)
    ad_site_in_use = models.CharField(_("Active Directory site in use"), max_length=100, blank=True, editable=False)
    known_servers = models.JSONField(_("servers Exchange reported"), default=list, blank=True, editable=False)
    installed_at = models.DateTimeField(_("installed"), null=True, blank=True, editable=False)
    next_retry_at = models.DateTimeField(_("next installation attempt"), null=True, blank=True, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    # The last "Check connection now": the preflight with the stored password
    checked_at = models.DateTimeField(_("connection checked"), null=True, blank=True, editable=False)
    check_ok = models.BooleanField(_("connection check succeeded"), null=True, blank=True, editable=False)
    check_message = models.TextField(_("connection check result"), blank=True, editable=False)
    check_missing = models.JSONField(_("cmdlets the account lacks"), default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Exchange Server connector")
        verbose_name_plural = _("Exchange Server connectors")
        default_permissions = ()

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("easconsole:exchangeconnector_detail", args=[self.pk])

    @property
    def is_online(self) -> bool:
        return self.environment == self.Environment.ONLINE

    def set_password(self, password: str) -> None:
        self.password_encrypted = credentials.encrypt(password)

    def get_password(self) -> str:
        """The connection account's password, decrypted at the moment of use. Never log or render it."""
        return credentials.decrypt(self.password_encrypted)


class ConnectorServer(models.Model):
    """The Client Access Server (or CAS array) a connector uses in one Active Directory site."""

    connector = models.ForeignKey(ExchangeConnector, on_delete=models.CASCADE, related_name="servers")
    ad_site = models.CharField(_("Active Directory site"), max_length=100)
    server = models.CharField(_("Client Access Server or CAS array"), max_length=253, validators=[FQDN_VALIDATOR])

    class Meta:
        ordering = ["pk"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["connector", "ad_site"], name="connectorserver_one_per_site")]

    def __str__(self) -> str:
        return f"{self.ad_site}: {self.server}"


class StatusMessage(models.Model):
    """A status message of a site component, as ConfigMgr's (1015 = the component is installed)."""

    class Severity(models.TextChoices):
        INFORMATION = "info", _("Information")
        WARNING = "warning", _("Warning")
        ERROR = "error", _("Error")

    time = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    site = models.ForeignKey(Site, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("site"))
    connector = models.ForeignKey(ExchangeConnector, null=True, blank=True, on_delete=models.SET_NULL, related_name="status_messages")
    component = models.CharField(_("component"), max_length=50, default="SMS_EXCHANGE_CONNECTOR")
    message_id = models.PositiveIntegerField(_("message ID"))
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.INFORMATION)
    description = models.TextField(_("description"))

    class Meta:
        ordering = ["-time", "-pk"]
        verbose_name = _("status message")
        verbose_name_plural = _("status messages")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.message_id} {self.component}"

    def get_absolute_url(self) -> str:
        return reverse("easconsole:statusmessage_detail", args=[self.pk])
