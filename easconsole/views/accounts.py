"""Administration ▸ Security ▸ Accounts: local accounts for organizations without a directory, and the
accounts the directory or Entra ID made at sign-in."""
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from easconsole import filtersets, tables
from easconsole.forms.accounts import AccountForm, AccountPasswordForm
from easconsole.generic import Action, ObjectDetailView, ObjectEditView, ObjectListView
from easconsole.models import ConsoleAccount
from easconsole.services.accounts import account_save, account_set_password

PERMISSION = "easconsole.assign_role"
ACCOUNT_ACTIONS = (
    Action(_("Add Account"), "easconsole:consoleaccount_add", PERMISSION, "primary"),
    Action(_("Properties"), "easconsole:consoleaccount_edit", PERMISSION, needs_object=True),
    Action(_("Reset Password"), "easconsole:consoleaccount_password", PERMISSION, needs_object=True),
)


class AccountListView(ObjectListView):
    queryset = ConsoleAccount.objects.all()
    table = tables.AccountTable
    filterset = filtersets.AccountFilterSet
    permission_required = PERMISSION
    object_permission = False
    actions = ACCOUNT_ACTIONS


class AccountDetailView(ObjectDetailView):
    queryset = ConsoleAccount.objects.all()
    permission_required = PERMISSION
    actions = ACCOUNT_ACTIONS

    def get_sections(self, obj):
        return [(_("Account"), [
            (_("User name"), obj.username), (_("Name"), obj.get_full_name()), (_("E-mail address"), obj.email),
            (_("Enabled"), _("Yes") if obj.is_active else _("No")), (_("Signs in with"), obj.source),
            (_("Last sign-in"), obj.last_login or _("Never")), (_("Groups"), ", ".join(g.name for g in obj.groups.all())),
        ])]


class AccountEditView(ObjectEditView):
    queryset = ConsoleAccount.objects.all()
    model = ConsoleAccount
    form = AccountForm
    permission_required = PERMISSION

    def perform_save(self, form):
        return account_save(account=form.instance, user=self.request.user, address=self.address,
                            password=form.cleaned_data.get("password1", ""))


class AccountPasswordView(ObjectEditView):
    queryset = ConsoleAccount.objects.all()
    model = ConsoleAccount
    form = AccountPasswordForm
    permission_required = PERMISSION

    def perform_save(self, form):
        try:
            return account_set_password(account=form.instance, user=self.request.user, address=self.address,
                                        password=form.cleaned_data["password1"])
        except ValidationError as error:
            form.add_error("password1", error)
            raise ValidationError(_("The password was not changed."))
