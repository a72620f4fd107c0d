"""Saving settings on an installed connector and running the push it queues, as the worker would."""
from policies import push, services
from policies.models import PolicyPush

ACCESS = {"default_access_level": "Allow", "admin_mail_recipients": [], "user_mail_insert": "", "rules": []}


def run_pushes() -> list[PolicyPush]:
    """Run every push that is due (what the worker does with the queued tasks)."""
    done = []
    for pk in PolicyPush.objects.filter(state=PolicyPush.State.REQUESTED).values_list("pk", flat=True):
        result = push.push_execute(pk)
        if result is not None:
            done.append(result)
    return done


def save_settings(connector, user, values, allow_external_mdm=False) -> PolicyPush:
    services.policy_settings_save(connector=connector, user=user, values=values, allow_external_mdm=allow_external_mdm)
    [result] = run_pushes()
    return result


def save_access(connector, user, **changes) -> PolicyPush:
    services.access_settings_save(connector=connector, user=user, **{**ACCESS, **changes})
    [result] = run_pushes()
    return result


def default_policy(gateway):
    return next(p for p in gateway.mailbox_policies() if p.is_default)
