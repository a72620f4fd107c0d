"""factory_boy factories of the console's objects."""
import datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from devices.models import Collection
from easconsole.models import Site

PASSWORD = "Correct-Horse-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@contoso.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Group {n}")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:02d}"[:3])
    name = factory.Faker("city")


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collection
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Collection {n}")


# --- devices (issue 5, pages and collections): a realistic discovered device.
class DeviceFactory(factory.django.DjangoModelFactory):
    """A device as discovery stores it: ``<user>_<DeviceType>``, an iPhone of a Contoso user by default."""

    class Meta:
        model = "devices.Device"

    class Params:
        user = factory.Sequence(lambda n: f"user{n:04d}")

    device_type = "iPhone"
    device_model = "iPhone15C2"
    device_os = "iOS 17.5.1 21F90"
    device_os_language = "en-US"
    device_user_agent = "Apple-iPhone15C2/2105.90"
    device_active_sync_version = "16.1"
    device_mobile_operator = "Vodafone"
    device_imei = factory.Sequence(lambda n: f"35{n:013d}")
    device_telephone_number = factory.Sequence(lambda n: f"+4179{n:07d}")
    client_type = "EAS"
    device_id = factory.Sequence(lambda n: f"{n:08X}{'A1B2C3D4E5F60718'}"[:32])
    exchange_guid = factory.Faker("uuid4")
    mailbox = factory.LazyAttribute(lambda d: d.user)
    name = factory.LazyAttribute(lambda d: f"{d.mailbox}_{d.device_type}")
    identity = factory.LazyAttribute(lambda d: f"contoso.com/Users/{d.mailbox}/ExchangeActiveSyncDevices/{d.device_type}§{d.device_id}")
    friendly_name = factory.LazyAttribute(lambda d: f"{d.mailbox}'s {d.device_type}")
    user_display_name = factory.LazyAttribute(lambda d: d.mailbox.replace(".", " ").title())
    user_principal_name = factory.LazyAttribute(lambda d: f"{d.mailbox}@contoso.com")
    user_sam_account_name = factory.LazyAttribute(lambda d: d.mailbox[:20])
    user_primary_smtp_address = factory.LazyAttribute(lambda d: f"{d.mailbox}@contoso.com")
    access_state = "Allowed"
    access_state_reason = "Global"
    status = "DeviceOk"
    is_remote_wipe_supported = True
    policy_applied = "Default"
    policy_application_status = "AppliedInFull"
    first_sync_time = factory.Faker("date_time_between", start_date="-400d", end_date="-30d", tzinfo=datetime.timezone.utc)
    last_success_sync = factory.Faker("date_time_between", start_date="-2d", end_date="now", tzinfo=datetime.timezone.utc)
    last_sync_attempt_time = factory.LazyAttribute(lambda d: d.last_success_sync)
    last_discovered = factory.LazyFunction(lambda: datetime.datetime.now(datetime.timezone.utc))
# --- end devices
