"""django-q2 task of stale-device cleanup: it takes the run's id and calls the service."""
from devices.cleanup import services


def cleanup_step(run_id: int) -> str:
    run = services.cleanup_step(run_id)
    return "Nothing to do." if run is None else f"{run}: {services.summary(run)}"


def queue_due_runs() -> str:
    return f"Queued {services.queue_due_runs()} cleanup step(s)."
