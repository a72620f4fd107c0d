"""Assets and Compliance: device collections (devices and discovery come with their own issues)."""
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

ALL_MOBILE_DEVICES = "All Mobile Devices"


class Collection(models.Model):
    """A set of devices that permissions are granted on, as ConfigMgr's device collections."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    comment = models.TextField(_("comment"), blank=True)
    is_builtin = models.BooleanField(_("built-in"), default=False, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)

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
