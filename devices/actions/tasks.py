"""django-q2 tasks of device actions. They take ids and call the services."""
from devices.actions import services, watch


def execute_action(action_id: int) -> str:
    action = services.action_execute(action_id)
    return "Nothing to send." if action is None else f"{action}"


def poll_open_wipes() -> str:
    """The every-minute schedule: (re)starts the watcher, which follows open wipes every few seconds."""
    return watch.watch()


def requeue_lost_actions() -> str:
    return f"Queued {services.requeue_lost_actions()} action(s) again."
