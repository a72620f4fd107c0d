"""The profile page's API tokens: create one (shown once), see when each was last used, revoke."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from easconsole.generic import ConsoleView
from easconsole.models import ApiToken
from easconsole.services.tokens import LIFETIMES_DAYS, api_token_create, api_token_revoke


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("What the token is for, e.g. ServiceNow offboarding."),
                           widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}))
    days = forms.TypedChoiceField(label=gettext_lazy("Expires after"), coerce=int, initial=90,
                                  choices=[(d, gettext_lazy("%(days)d days") % {"days": d}) for d in LIFETIMES_DAYS],
                                  widget=forms.Select(attrs={"class": "form-select"}))


class ProfileView(ConsoleView):
    """Your profile: your personal API tokens (docs/api.md)."""

    template_name = "easconsole/profile.html"

    def render_page(self, form, new_token: str | None = None):
        user = self.request.user
        return self.render_to_response(self.get_context_data(
            title=_("Your profile"), form=form, new_token=new_token, tokens=ApiToken.objects.filter(user=user),
            api_url=self.request.build_absolute_uri(reverse("api:api-root"))))

    def get(self, request, *args, **kwargs):
        return self.render_page(ApiTokenForm())

    def post(self, request, *args, **kwargs):
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            try:
                _token, plain = api_token_create(user=request.user, address=self.address, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                # Rendered, not redirected: the token is shown this once and kept nowhere.
                return self.render_page(ApiTokenForm(), new_token=plain)
        return self.render_page(form)


class ApiTokenRevokeView(ConsoleView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        token = get_object_or_404(ApiToken, pk=self.kwargs["pk"], user=request.user)  # only one's own tokens
        api_token_revoke(token=token, user=request.user, address=self.address)
        messages.success(request, _("Revoked the token %(token)s.") % {"token": token})
        return HttpResponseRedirect(reverse("easconsole:profile"))
