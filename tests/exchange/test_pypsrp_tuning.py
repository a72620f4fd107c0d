"""The pypsrp deserializer speed-up changes no result: primitives and complex objects come out the same."""
import xml.etree.ElementTree as ET

import pypsrp.serializer as serializer
from pypsrp.serializer import Serializer

from easconsole.exchange import pypsrp_tuning

PYPSRP_DESERIALIZE_STRING = pypsrp_tuning.PYPSRP_DESERIALIZE_STRING

DEVICE = (
    '<Obj RefId="0"><TN RefId="0"><T>Microsoft.Exchange.Data.Directory.SystemConfiguration.MobileDevice</T>'
    '<T>System.Object</T></TN><ToString>iPhone§ABC</ToString><Props>'
    '<S N="DeviceId">ABC</S><G N="Guid">5ab1c2d3-0000-4000-8000-000000000001</G><DT N="WhenChanged">2026-11-27T04:00:00Z</DT>'
    '<B N="IsManaged">false</B><I32 N="ProvisioningFlags">0</I32><Nil N="DeviceImei" />'
    '<Obj N="DeviceAccessState" RefId="1"><TN RefId="1"><T>System.Enum</T></TN><ToString>Allowed</ToString><I32>1</I32></Obj>'
    '<Obj N="ObjectClass" RefId="2"><TN RefId="2"><T>System.Collections.ArrayList</T><T>System.Object</T></TN>'
    '<LST><S>top</S><S>msExchActiveSyncDevice</S></LST></Obj>'
    '</Props></Obj>'
)


def deserialize(xml):
    obj = Serializer().deserialize(ET.fromstring(xml))
    return obj, {k: str(v) for k, v in obj.adapted_properties.items()}


def test_installed_on_the_checked_version_and_results_unchanged(monkeypatch):
    assert pypsrp_tuning.install() and serializer.ET.tostring is pypsrp_tuning._tostring
    tuned, tuned_props = deserialize(DEVICE)
    monkeypatch.setattr(serializer, "ET", ET)
    plain, plain_props = deserialize(DEVICE)
    assert tuned_props == plain_props and tuned_props["DeviceId"] == "ABC" and tuned_props["IsManaged"] == "False"
    assert tuned.adapted_properties["ObjectClass"] == ["top", "msExchActiveSyncDevice"]
    assert tuned._xml == plain._xml and "MobileDevice" in tuned._xml  # complex objects keep their XML


def test_primitive_elements_are_not_turned_back_into_text():
    assert pypsrp_tuning._tostring(ET.fromstring('<S N="x">abc</S>')) == b""
    assert b"<Obj" in pypsrp_tuning._tostring(ET.fromstring('<Obj RefId="0"><S>a</S></Obj>'))


ODD_DEVICE = DEVICE.replace('<S N="DeviceId">ABC</S>',
                            '<S N="FriendlyName">Anna_xD800_s phone_x0000_ _xD83D__xDE00_ _x005F_x0041_ 山田</S>'
                            '<S N="DeviceId">ABC</S>')


def test_a_lone_surrogate_is_kept_instead_of_failing_the_whole_answer(monkeypatch):
    """Plain pypsrp cannot decode one device's odd FriendlyName, and so loses the whole pipeline."""
    assert pypsrp_tuning.install()
    _, props = deserialize(ODD_DEVICE)
    assert props["FriendlyName"] == "Anna\ud800s phone\x00 😀 _x0041_ 山田"
    assert props["DeviceId"] == "ABC"

    monkeypatch.setattr(Serializer, "_deserialize_string", PYPSRP_DESERIALIZE_STRING)
    assert deserialize(DEVICE)[1]["DeviceId"] == "ABC"
    try:
        deserialize(ODD_DEVICE)
    except UnicodeDecodeError:
        pass
    else:
        raise AssertionError("pypsrp now decodes lone surrogates: the lenient decoder may be dropped")


def test_decoder_matches_pypsrp_on_well_formed_strings():
    for text in ("plain", "tab_x0009_here", "_x005F_x0041_", "caf\u00e9 _xD83D__xDE00_", "_x00e9_", ""):
        assert pypsrp_tuning.decode_string(text) == PYPSRP_DESERIALIZE_STRING(Serializer(), text)
    assert pypsrp_tuning.decode_string(None) == ""
