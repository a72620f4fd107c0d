"""manage.py discover <connector id or name> --full|--delta: run a discovery now, here, and print its figures."""
from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from devices import discovery
from devices.discovery.runs import ACTIVE
from devices.models import DiscoveryRun
from easconsole.models import ExchangeConnector


class Command(BaseCommand):
    help = "Run a full or delta discovery of an Exchange Server connector now (synchronously), printing its progress."

    def add_arguments(self, parser):
        parser.add_argument("connector", help="the connector's id or name")
        kind = parser.add_mutually_exclusive_group(required=True)
        kind.add_argument("--full", action="store_const", const="full", dest="kind", help="every device")
        kind.add_argument("--delta", action="store_const", const="delta", dest="kind", help="only what changed")

    def handle(self, *args, connector: str, kind: str, **options):
        target = self.find(connector)
        if target.state != ExchangeConnector.State.INSTALLED:
            raise CommandError(f"The connector {target.name} is not installed ({target.get_state_display()}).")
        discovery.fail_stale_runs(connector_id=target.pk)
        if DiscoveryRun.objects.filter(connector=target, state__in=ACTIVE).exists():
            raise CommandError(f"A discovery of {target.name} is already queued or running.")
        run = DiscoveryRun.objects.create(connector=target, kind=kind)
        self.stdout.write(f"{run.get_kind_display()} of {target.name} (run {run.pk})")
        started = time.monotonic()
        last = {"phase": None, "at": 0.0}

        def show(current: DiscoveryRun) -> None:
            now = time.monotonic()
            if current.phase != last["phase"] or now - last["at"] >= 2:
                last.update(phase=current.phase, at=now)
                self.stdout.write(f"  {now - started:7.1f} s  {current.phase}: {current.devices_seen} devices read")

        try:
            run = (discovery.full_discovery if kind == "full" else discovery.delta_discovery)(run, on_progress=show)
        except discovery.DiscoveryBusy as busy:
            discovery.runs.fail(run, str(busy))
            raise CommandError(str(busy)) from None
        elapsed = time.monotonic() - started
        if run.state != DiscoveryRun.State.SUCCEEDED:
            raise CommandError(f"Discovery failed after {elapsed:.1f} s: {run.error}")
        rate = run.devices_seen / elapsed if elapsed else 0
        self.stdout.write(self.style.SUCCESS(
            f"Succeeded in {elapsed:.1f} s ({rate:.0f} devices/s): {run.devices_seen} read, {run.devices_added} added, "
            f"{run.devices_changed} changed, {run.devices_missing} no longer in Exchange, "
            f"{run.devices_ignored} ignored (inactive)."))

    @staticmethod
    def find(value: str) -> ExchangeConnector:
        connector = None
        if value.isdigit():
            connector = ExchangeConnector.objects.filter(pk=int(value)).first()
        connector = connector or ExchangeConnector.objects.filter(name__iexact=value).first()
        if connector is None:
            raise CommandError(f"No Exchange Server connector has the id or name {value!r}.")
        return connector
