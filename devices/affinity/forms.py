"""The forms of Edit Primary Users and Import User Device Affinity: they only validate."""
from django import forms
from django.utils.translation import gettext_lazy as _

from devices.affinity.csv_import import MAX_BYTES


class AffinityImportForm(forms.Form):
    """Choose Mapping, as ConfigMgr's wizard: the file, and whether its first line is a header."""

    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("One DOMAIN\\user,device pair a line (for example CONTOSO\\jdoe,jdoe_iPhone); the device by its name or "
                    "its device ID. UTF-8, at most %(mb)d MB.") % {"mb": MAX_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )
    has_header = forms.BooleanField(
        label=_("This file has column headings"), required=False,
        help_text=_("Skip the first line. Unticked, a first line of headings such as \"User,Device\" is recognised anyway."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than %(mb)d MB. Split it into smaller files.") % {
                "mb": MAX_BYTES // (1024 * 1024)})
        return upload


class UserSearchForm(forms.Form):
    q = forms.CharField(label=_("Search users by user name, name or email"), required=False, max_length=150)
