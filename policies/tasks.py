"""django-q2 tasks of settings pushes. They take ids and call the services."""
from policies import push


def execute_push(push_id: int) -> str:
    result = push.push_execute(push_id)
    return "Nothing to send." if result is None else f"{result}"


def requeue_due_pushes() -> str:
    return f"Queued {push.requeue_due_pushes()} settings push(es) again."
