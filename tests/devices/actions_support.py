"""A connector installed against the simulator and its devices in the inventory, for the action tests."""
from devices.models import Collection, CollectionMember, Device
from easconsole import tasks as easconsole_tasks
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT
from easconsole.models import ExchangeConnector
from easconsole.services import connectors
from tests.factories import SiteFactory

DEVICE_FIELDS = {f.name for f in Device._meta.get_fields() if getattr(f, "concrete", False)}


def installed_connector(exchange) -> ExchangeConnector:
    connector = ExchangeConnector(name="Contoso", site=SiteFactory(code="P01"), authentication="basic",
                                  username=DEFAULT_ACCOUNT[0], port=exchange.port)
    connectors.connector_save(connector=connector, servers=[("HQ", exchange.server_address("EXCAS01"))], user=None,
                              password=DEFAULT_ACCOUNT[1])
    easconsole_tasks.install_connector(connector.pk)
    connector.refresh_from_db()
    assert connector.state == ExchangeConnector.State.INSTALLED, connector.state_message
    return connector


def inventory(connector: ExchangeConnector, limit: int = 30) -> list[Device]:
    """Read devices from Exchange through the gateway into the inventory (what discovery does, for a few devices)."""
    devices = []
    everyone = Collection.objects.get(name="All Mobile Devices")
    with connectors.connector_gateway(connector) as gateway:
        for record in list(gateway.devices(result_size=limit)):
            stats = gateway.device_statistics(record.identity)
            values = {k: v for k, v in vars(record).items() if k in DEVICE_FIELDS and v is not None}
            values.update({k: v for k, v in vars(stats).items() if k in DEVICE_FIELDS and v is not None})
            device = Device.objects.create(
                connector=connector, exchange_guid=record.guid, identity=record.identity, device_id=record.device_id,
                mailbox=record.mailbox, name=f"{record.mailbox}_{record.device_type}",
                access_state=record.device_access_state or "",
                **{k: v for k, v in values.items() if k not in {"identity", "device_id", "name", "guid"}},
            )
            CollectionMember.objects.create(collection=everyone, device=device)
            devices.append(device)
    return devices
