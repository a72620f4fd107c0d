"""LeanFormRenderer writes the widgets Django's templates would write, character for character."""
import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.test import RequestFactory
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from devices.filtersets import DeviceFilterSet
from easconsole.lean import LEAN_FORM_RENDERER, LeanForm, LeanFormRenderer
from easconsole.models import ExchangeConnector
from tests.factories import CollectionFactory, DeviceFactory, SiteFactory
from tests.personas import make_user

pytestmark = pytest.mark.django_db

TEMPLATES = DjangoTemplates()


class Everything(LeanForm):
    text = forms.CharField(label="Text", widget=forms.TextInput(attrs={"placeholder": 'say "hi" <b>&</b>', "autofocus": True,
                                                                     "disabled": False, "data-n": 3}))
    number = forms.IntegerField(min_value=0, max_value=9, widget=forms.NumberInput(attrs={"class": "input-days"}))
    email = forms.EmailField(required=False)
    hidden = forms.CharField(widget=forms.HiddenInput)
    tick = forms.BooleanField(required=False)
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    choice = forms.ChoiceField(choices=[("", gettext_lazy("Any")), ("a&b", "A & B"), (3, mark_safe("<i>three</i>")),
                                        ("Fruit", [("apple", "Apple"), ("pear", "Pear <sweet>")])], required=False)
    several = forms.MultipleChoiceField(choices=[("x", "X"), ("y", "Y")], required=False)
    yes_no = forms.NullBooleanField(required=False, widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]))


def written(form, monkeypatch=None) -> list[str]:
    """Each field's widget as the lean renderer writes it, and as the templates write it (with ``monkeypatch``:
    the lean renderer must not use a template)."""
    if monkeypatch:
        with monkeypatch.context() as patched:
            patched.setattr(LeanFormRenderer, "get_template", lambda *args: pytest.fail(f"a template was used: {args}"))
            lean = [str(field) for field in form]
    else:
        lean = [str(field) for field in form]
    form.renderer = TEMPLATES
    return lean, [str(field) for field in form]


@pytest.mark.parametrize("data", [
    None,
    {},
    {"text": '"><script>', "number": "0", "email": "x@example.com", "hidden": "h", "tick": "on", "day": "2026-12-01",
     "choice": "a&b", "several": ["x", "y"], "yes_no": "true"},
    {"text": "", "number": "99", "email": "not an address", "choice": "nothing", "several": ["z"], "yes_no": "maybe"},
    {"choice": "pear", "number": "-1"},
    {"choice": "3"},
])
def test_the_widgets_are_written_as_the_templates_write_them(data, monkeypatch):
    form = Everything(data) if data is not None else Everything(initial={"text": "start", "number": 5, "tick": True})
    assert form.renderer is LEAN_FORM_RENDERER
    if data is not None:
        form.is_valid()  # errors add aria-invalid and aria-describedby to the widgets
    lean, templates = written(form, monkeypatch)
    assert lean == templates
    assert any("<select" in html for html in lean) and any("<input" in html for html in lean)


def test_the_device_filter_form_is_written_as_the_templates_write_it(db, monkeypatch):
    site = SiteFactory(code="P01")
    ExchangeConnector.objects.create(name='Contoso "Exchange" <1>', site=site)
    collection = CollectionFactory(name="Executives & <VIPs>")
    DeviceFactory(device_type="iPhone")
    DeviceFactory(device_type='Odd"Type<')
    request = RequestFactory().get("/")
    request.user = make_user("reader", "Operations Administrator")
    for data in ({}, {"q": "anna", "device_type": "iPhone", "os_family": "ios", "access_state": "Blocked", "collection": str(collection.pk),
                      "inactive_days": "30", "missing": "true"},
                 {"access_state": "Bogus", "inactive_days": "-4", "collection": "999999"}):
        filterset = DeviceFilterSet(data, request=request)
        filterset.is_valid()
        lean, templates = written(filterset.form, monkeypatch)
        assert lean == templates
        assert len(lean) == len(DeviceFilterSet.Meta.fields)


def test_a_widget_it_does_not_know_is_left_to_the_templates():
    class Other(LeanForm):
        notes = forms.CharField(widget=forms.Textarea)
        pick = forms.ChoiceField(choices=[("a", "A")], widget=forms.RadioSelect)

    lean, templates = written(Other({"notes": "<hello>"}))
    assert lean == templates and "<textarea" in lean[0] and 'type="radio"' in lean[1]
