"""Device actions: wipe, account-only wipe, cancel wipe, allow, block, delete, and their lifecycle."""
