"""Reports ▸ device reports: inventory by OS, type and access state; inactive devices; compliance with the
connector's settings; settings summary. Every device count goes through ``devices.selectors.devices_for``."""
