"""What an end user may see in the Application Catalog: the devices affine to them, nothing else."""
from django.db.models import QuerySet

from devices.models import Device


def my_devices(user) -> QuerySet:
    return (Device.objects.filter(affinities__user=user, missing_since__isnull=True)
            .select_related("connector").order_by("-last_success_sync", "name").distinct())
