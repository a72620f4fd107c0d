"""Administration ▸ Sites and Security: sites, roles and their assignments."""
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class Site(models.Model):
    """A site that runs Exchange Server connectors (ConfigMgr's primary site)."""

    code = models.CharField(
        _("site code"),
        max_length=3,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{3}$", _("A site code is three capital letters or digits, such as P01."))],
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        default_permissions = ()
        permissions = [
            ("read_site", "Read"),
            ("modify_site", "Modify"),
            ("modify_connector_policy", "ModifyConnectorPolicy"),
        ]

    def __str__(self) -> str:
        return f"{self.code} - {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("easconsole:site_detail", args=[self.pk])


class Role(models.Model):
    """A security role: a named set of permissions, as ConfigMgr's built-in roles."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    role_id = models.CharField(_("role ID"), max_length=10, unique=True, help_text=_("As ConfigMgr numbers it, e.g. SMS0001R."))
    description = models.TextField(_("description"), blank=True)
    permissions = models.ManyToManyField(Permission, blank=True, verbose_name=_("permissions"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("security role")
        verbose_name_plural = _("security roles")
        default_permissions = ()
        permissions = [("assign_role", "Manage administrative users")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("easconsole:role_detail", args=[self.pk])


class RoleAssignment(models.Model):
    """A role given to a user or a group, for all or for chosen sites and collections.

    The assignment is the source of truth; the Django and django-guardian permissions it implies are
    derived from it by ``easconsole.services.principal_permissions_rebuild``.
    """

    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("role"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="role_assignments", verbose_name=_("user")
    )
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE, related_name="role_assignments", verbose_name=_("group"))
    all_sites = models.BooleanField(_("all sites"), default=True)
    sites = models.ManyToManyField(Site, blank=True, verbose_name=_("sites"))
    all_collections = models.BooleanField(_("all collections"), default=True)
    collections = models.ManyToManyField("devices.Collection", blank=True, verbose_name=_("collections"))
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["role__name", "pk"]
        verbose_name = _("administrative user")
        verbose_name_plural = _("administrative users")
        default_permissions = ()
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True) | models.Q(user__isnull=True, group__isnull=False),
                name="roleassignment_user_xor_group",
            ),
            models.UniqueConstraint(fields=["role", "user"], name="roleassignment_unique_user_role"),
            models.UniqueConstraint(fields=["role", "group"], name="roleassignment_unique_group_role"),
        ]

    def __str__(self) -> str:
        return f"{self.principal_name} - {self.role}"

    @property
    def principal_name(self) -> str:
        return self.user.get_username() if self.user_id else f"{self.group.name} (group)"

    def clean(self) -> None:
        if bool(self.user_id or self.user) == bool(self.group_id or self.group):
            raise ValidationError(_("Choose either a user or a group."))

    def get_absolute_url(self) -> str:
        return reverse("easconsole:roleassignment_detail", args=[self.pk])
