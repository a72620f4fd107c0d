"""Forms of the Administration workspace."""
from crispy_forms.layout import Div, Fieldset, Layout
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from easconsole.forms.base import ConsoleModelForm
from easconsole.models import RoleAssignment, Site


class SiteForm(ConsoleModelForm):
    class Meta:
        model = Site
        fields = ["code", "name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()

    def get_layout(self):
        return Layout(Fieldset(_("Site"), "code", "name", "description"))


class RoleAssignmentForm(ConsoleModelForm):
    """Assign a role to a user or a group, for all or chosen sites and collections."""

    PRINCIPAL_USER, PRINCIPAL_GROUP = "user", "group"
    principal_type = forms.ChoiceField(
        label=_("Assign to"), choices=[(PRINCIPAL_USER, _("A user")), (PRINCIPAL_GROUP, _("A group"))], widget=forms.RadioSelect
    )
    directory_group = forms.CharField(
        label=_("Or a directory group"), required=False, max_length=150,
        help_text=_("The group's name in Active Directory / LDAP or Entra ID, exactly (EAS-Operators), even before any of "
                    "its members signed in. Membership is read at each sign-in; nested groups count."),
    )

    class Meta:
        model = RoleAssignment
        fields = ["principal_type", "user", "group", "directory_group", "role", "all_sites", "sites", "all_collections", "collections"]
        widgets = {"sites": forms.CheckboxSelectMultiple, "collections": forms.CheckboxSelectMultiple}
        help_texts = {
            "all_sites": _("Untick to limit the role's site permissions to the sites chosen below."),
            "all_collections": _("Untick to limit the role's collection permissions to the collections chosen below."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["group"].queryset = Group.objects.order_by("name")
        self.fields["sites"].queryset = Site.objects.all()
        self.initial.setdefault("principal_type", self.PRINCIPAL_GROUP if self.instance.group_id else self.PRINCIPAL_USER)

    def get_layout(self):
        return Layout(
            Fieldset(_("Administrative user"), "principal_type", Div("user", data_show_when="principal_type=user"),
                     Div("group", "directory_group", data_show_when="principal_type=group")),
            Fieldset(_("Security role"), "role"),
            Fieldset(_("Security scopes"), "all_sites", Div("sites", data_show_when="all_sites=off"),
                     "all_collections", Div("collections", data_show_when="all_collections=off")),
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("principal_type") == self.PRINCIPAL_USER:
            cleaned["group"] = None
            if not cleaned.get("user"):
                self.add_error("user", _("Choose the user who gets the role."))
        else:
            cleaned["user"] = None
            if not cleaned.get("group") and (name := cleaned.get("directory_group", "").strip()):
                # a directory group no member brought in yet: made when the assignment is saved
                cleaned["group"] = Group.objects.filter(name__iexact=name).first() or Group(name=name)
            if not cleaned.get("group"):
                self.add_error("group", _("Choose the group that gets the role."))
        if not cleaned.get("all_sites") and not cleaned.get("sites"):
            self.add_error("sites", _("Choose at least one site, or tick All sites."))
        if not cleaned.get("all_collections") and not cleaned.get("collections"):
            self.add_error("collections", _("Choose at least one collection, or tick All collections."))
        self.instance.user = cleaned.get("user")
        self.instance.group = cleaned.get("group")
        return cleaned

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        if self.instance.group is not None and self.instance.group.pk is None:
            exclude |= {"user", "group"}  # a new directory group: the service saves it, then checks the whole assignment
        return exclude

    def validate_unique(self):
        # The user/group were set in clean(), after ModelForm's own pass: check again so a duplicate
        # role for the same person gets a message instead of an IntegrityError.
        super().validate_unique()
        duplicate = RoleAssignment.objects.exclude(pk=self.instance.pk).filter(role=self.cleaned_data.get("role"))
        principal = {"user": self.instance.user} if self.instance.user else {"group": self.instance.group}
        if self.instance.group and self.instance.group.pk is None:
            return  # a new group has no assignment yet
        if self.cleaned_data.get("role") and duplicate.filter(**principal).exists():
            self.add_error("role", _("This role is already assigned to them; edit that assignment instead."))
