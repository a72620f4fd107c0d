"""Discovery of Exchange ActiveSync devices: full and delta, staged, applied in one transaction.

    run = discovery_request(connector=connector, kind="full", user=request.user)   # queued, audited
    full_discovery(run)      # or delta_discovery(run): what the task and `manage.py discover` call

Modules: ``records`` (Exchange values -> Device fields, pure), ``staging`` (read -> staging rows,
progress), ``apply`` (staging -> inventory, one transaction), ``affinity`` (automatic user device
affinity), ``runs`` (the run's life: claim, read, apply, fail; stale runs; purge), ``services``
(requests and schedules).
"""
from devices.discovery.runs import (DiscoveryBusy, delta_discovery, execute, fail_stale_runs, full_discovery,
                                    purge_missing_devices)
from devices.discovery.services import discovery_request, discovery_schedules_save

__all__ = ["DiscoveryBusy", "delta_discovery", "discovery_request", "discovery_schedules_save", "execute",
           "fail_stale_runs", "full_discovery", "purge_missing_devices"]
