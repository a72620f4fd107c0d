"""django-q2 tasks of the offboarding playbook. They take ids and call the services."""
from devices.offboarding import services


def block_mailbox(offboarding_id: int) -> str:
    offboarding = services.block_mailbox(offboarding_id)
    return "Nothing to send." if offboarding is None else f"{offboarding.mailbox}: {offboarding.get_block_state_display()}"


def resume_offboardings() -> str:
    return f"Queued {services.resume_offboardings()} offboarding(s)."
