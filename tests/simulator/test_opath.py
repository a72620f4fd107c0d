"""The OPATH -Filter parser: what an Exchange admin types must select the same objects here."""
from __future__ import annotations

import datetime as dt

import pytest

from easconsole.exchange.simulator.opath import OPathError, compile_filter

PROPS = {"DeviceType": "str", "DeviceOS": "str", "FirstSyncTime": "datetime", "Enabled": "bool",
         "Count": "int", "Ids": "str", "Rule": "str"}
ROW = {"DeviceType": "iPhone", "DeviceOS": "iOS 17.5.1 21F90", "FirstSyncTime": dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc),
       "Enabled": True, "Count": 3, "Ids": ["AAA", "BBB"], "Rule": None}


def matches(text: str, row: dict = ROW) -> bool:
    return compile_filter(text, PROPS)(row.get)


@pytest.mark.parametrize("text, expected", [
    ("DeviceType -eq 'iPhone'", True),
    ("devicetype -EQ 'IPHONE'", True),  # names, operators and string values are case-insensitive
    ('DeviceType -eq "Android"', False),
    ("DeviceType -ne 'Android'", True),
    ("DeviceOS -like 'iOS 17*'", True),
    ("DeviceOS -like 'iOS 1?.5*'", True),
    ("DeviceOS -notlike 'Android*'", True),
    ("DeviceType -eq 'iPhone' -and DeviceOS -like 'Android*'", False),
    ("DeviceType -eq 'Android' -or DeviceOS -like 'iOS*'", True),
    ("-not (DeviceType -eq 'iPhone')", False),
    ("-not DeviceType -eq 'Android'", True),
    ("(DeviceType -eq 'x' -or DeviceType -eq 'iPhone') -and Count -ge 3", True),
    ("Count -gt 3", False),
    ("Count -lt 4", True),
    ("Count -le 2", False),
    ("Enabled -eq $true", True),
    ("Enabled -eq $false", False),
    ("Rule -eq $null", True),
    ("DeviceType -ne $null", True),
    ("FirstSyncTime -gt '2024-01-01'", True),
    ("FirstSyncTime -lt '1/31/2024 10:00:00'", False),
    ("FirstSyncTime -ge '05/01/2024'", True),
    ("Ids -eq 'bbb'", True),  # a multi-valued property matches when any value does
    ("{ DeviceType -eq 'iPhone' }", True),  # script-block style text
    ("DeviceType -eq 'O''Brien'", False),  # doubled quote inside single quotes
])
def test_filter_selects_like_exchange(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_and_binds_tighter_than_or() -> None:
    # true -or (false -and false) = true; (true -or false) -and false would be false
    assert matches("DeviceType -eq 'iPhone' -or DeviceType -eq 'x' -and Count -eq 99")


def test_unknown_property_is_rejected_with_an_exchange_like_message() -> None:
    with pytest.raises(OPathError, match="'Colour' is not a recognized filterable property"):
        compile_filter("Colour -eq 'red'", PROPS)


@pytest.mark.parametrize("text", ["", "DeviceType", "DeviceType -eq", "DeviceType = 'x'", "(DeviceType -eq 'x'",
                                  "DeviceType -eq 'x' -and", "DeviceType -contains 'x'", "DeviceType -eq 'x')"])
def test_syntax_errors_say_invalid_filter_syntax(text: str) -> None:
    with pytest.raises(OPathError, match="Invalid filter syntax"):
        compile_filter(text, PROPS)


@pytest.mark.parametrize("text", ["Count -eq 'many'", "FirstSyncTime -gt 'yesterday'", "Enabled -eq 'perhaps'"])
def test_values_that_do_not_convert_are_rejected(text: str) -> None:
    with pytest.raises(OPathError, match="Cannot convert value"):
        compile_filter(text, PROPS)


def test_filter_is_parsed_not_evaluated() -> None:
    # Python syntax is just text to the parser: nothing is executed.
    with pytest.raises(OPathError):
        compile_filter("__import__('os').system('true')", PROPS)
