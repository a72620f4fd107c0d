"""The people who use the console, made the way an administrator would make them: by role assignment.

Personas: anonymous, end_user (no role), analyst (Read-only Analyst), operator (Operations
Administrator), full_admin (Full Administrator), all for all sites and collections.
"""
from easconsole import services
from easconsole.models import RoleAssignment
from tests.factories import PASSWORD, UserFactory

ROLE_OF = {
    "end_user": None,
    "analyst": "Read-only Analyst",
    "operator": "Operations Administrator",
    "full_admin": "Full Administrator",
}
PERSONAS = ("anonymous", *ROLE_OF)


def make_user(username: str, role: str | None = None, *, sites=None, collections=None):
    """A user holding ``role`` (a role name), for all scopes unless ``sites``/``collections`` limit it."""
    user = UserFactory(username=username)
    if role:
        assignment = RoleAssignment(
            user=user, role=services.role_by_name(role), all_sites=sites is None, all_collections=collections is None
        )
        services.role_assignment_save(assignment=assignment, user=None, sites=sites or [], collections=collections or [])
    return user


def make_persona(persona: str):
    """The user of a persona (None for anonymous), with password ``tests.factories.PASSWORD``."""
    if persona == "anonymous":
        return None
    return make_user(persona, ROLE_OF[persona])


__all__ = ["PASSWORD", "PERSONAS", "make_persona", "make_user"]
