"""Stale-device cleanup: a rule per connector, a dry run that freezes the list, a Full Administrator's
approval, then the frozen list removed through the device-delete path in throttled batches (docs/cleanup.md)."""
