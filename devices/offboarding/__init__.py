"""The offboarding playbook: a leaver's devices snapshotted and wiped, then their mailbox closed to ActiveSync."""
