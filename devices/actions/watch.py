"""The watcher: fast news of device actions, and retries on time, without load when nothing is open.

django-q2's scheduler looks at its schedules about every 30 s, too coarse to show a wipe's
acknowledgement or a waiting action going out within seconds. So while there is something to watch
(an open wipe, or an action waiting for a retry), a short task runs one cycle and queues itself again:

- open wipes sent in the last hour are read every POLL_SECONDS, older ones every SLOW_POLL_SECONDS;
- a retry that falls due is queued at once (not at the next minute);
- a connector whose actions wait only because Exchange could not be reached is tried every
  PROBE_SECONDS: first a bare TCP connection to its servers (quiet, no credentials sent while they
  are down), then, once one accepts, a session; as soon as that opens, they are sent.

When nothing is open or waiting, the chain stops: no Exchange traffic, no busy worker. It starts
again when a wipe is sent or a retry is scheduled, and the every-minute schedule
(``devices-poll-open-wipes``) restarts it should its worker die. One chain runs at a time on a host:
the chain's id and heartbeat are kept in a small file under ``VAR_DIR`` (several console hosts
would each run one: harmless, twice the polling). Between cycles the watcher waits up to
CYCLE_SECONDS, but gives its worker up as soon as another task is queued (it queues itself behind
it), so a wipe request never waits for the watcher.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from devices.actions import services
from easconsole.credentials import CredentialError
from easconsole.exchange.errors import ExchangeError
from easconsole.models import ExchangeConnector

log = logging.getLogger("easconsole.easdisc")

CYCLE_SECONDS = 1.0
POLL_SECONDS = 5.0
SLOW_POLL_SECONDS = 60.0
RECENT = dt.timedelta(hours=1)
PROBE_SECONDS = 2.0
TCP_TIMEOUT = 1.0
STALE_SECONDS = 30.0  # a chain silent for this long is presumed dead: another may take over
TASK = "devices.actions.watch.watch"
TASK_NAME = "Watch device actions"


def _state_file() -> Path:
    return Path(settings.VAR_DIR) / "device-actions-watch.json"


def _claim(chain: str, *, release: bool = False) -> bool:
    """Record this chain's heartbeat if it is the running one, or if none runs (True); else False."""
    path = _state_file()
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        try:
            current = json.loads(handle.read() or "{}")
        except ValueError:
            current = {}
        now = time.time()
        alive = current.get("chain") and now - float(current.get("beat", 0)) < STALE_SECONDS
        if alive and current["chain"] != chain:
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({} if release else {"chain": chain, "beat": now}))
        return True


def start() -> None:
    """Queue the watcher (it returns at once if a chain is already running)."""
    from django_q.tasks import async_task

    async_task(TASK, task_name=TASK_NAME, group="Device actions", save=False)


def watch(state: dict[str, Any] | None = None) -> str:
    """One cycle of the chain; queues the next while there is something to watch."""
    state = dict(state or {})
    chain = state.setdefault("chain", uuid.uuid4().hex)
    if not _claim(chain):
        return "Another watcher is running."
    if not services.anything_to_watch():
        _claim(chain, release=True)
        return "Nothing open or waiting: stopped watching."
    now = time.time()
    checked = dt.datetime.fromtimestamp(state.get("checked", now - SLOW_POLL_SECONDS), dt.timezone.utc)
    services.queue_due_retries(since=checked)
    state["checked"] = now
    if _others_queued():  # a request waits for this worker: let it go first, read Exchange next cycle
        return _next_cycle(chain, state, pause=False)
    if now - state.get("probed", 0) >= PROBE_SECONDS:
        state["probed"] = now
        for connector_id in services.waiting_connectors():
            _probe(connector_id)
    if now - state.get("polled_all", 0) >= SLOW_POLL_SECONDS:
        state["polled_all"] = state["polled"] = now
        services.poll_open_wipes(stop=_others_queued)
    elif now - state.get("polled", 0) >= POLL_SECONDS:
        state["polled"] = now
        services.poll_open_wipes(sent_since=timezone.now() - RECENT, stop=_others_queued)
    return _next_cycle(chain, state)


def _next_cycle(chain: str, state: dict[str, Any], *, pause: bool = True) -> str:
    from django_q.tasks import async_task

    if pause:
        _pause()
    _claim(chain)
    async_task(TASK, state, task_name=TASK_NAME, group="Device actions", save=False)
    return "Watching."


def _pause() -> None:
    """The chain's pace (a cycle a second at most), cut short when another task waits for a worker."""
    deadline = time.monotonic() + CYCLE_SECONDS
    while time.monotonic() < deadline and not _others_queued():
        time.sleep(0.05)


def _others_queued() -> bool:
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if Conf.ORM:  # a task the cluster already took from the queue for its next free worker is still listed
        return any(queued.name() != TASK_NAME for queued in OrmQ.objects.all()[:100])
    return get_broker().queue_size() > 0


def _probe(connector_id: int) -> None:
    """Open a session to the connector; if it answers, send what waited for it."""
    connector = ExchangeConnector.objects.filter(pk=connector_id).first()
    if connector is None or not _accepts_connections(connector):
        return
    try:
        with services.connector_gateway(connector):
            pass
    except (ExchangeError, CredentialError, ValueError) as error:
        log.debug(f"Connector {connector} still cannot be used: {error}")
        return
    services.retry_unreachable(connector_id)


def _accepts_connections(connector: ExchangeConnector) -> bool:
    """Does any of the connector's servers accept a TCP connection on its port? (Nothing is sent.)"""
    addresses = [s.server for s in connector.servers.all()]
    addresses += [s["fqdn"] for s in connector.known_servers if s.get("fqdn") and s["fqdn"] not in addresses]
    for address in addresses:
        try:
            socket.create_connection((address, connector.port), timeout=TCP_TIMEOUT).close()
            return True
        except OSError:
            continue
    return False
