"""WSMan SOAP for the shell operations pypsrp uses against an Exchange `/PowerShell` endpoint.

Requests are parsed with ElementTree (they are small); responses are string templates because
Receive responses are the hot path. Every response carries `wsa:RelatesTo` (pypsrp raises
otherwise). Faults are HTTP 500 with a `WSManFault Code=...` detail, which pypsrp turns into
`WSManFaultError(code, reason)`.
"""
from __future__ import annotations

import base64
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape as xml_escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
}
EXCHANGE_RESOURCE_URI = "http://schemas.microsoft.com/powershell/Microsoft.Exchange"
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
STATE_DONE = SHELL_URI + "/CommandState/Done"
STATE_RUNNING = SHELL_URI + "/CommandState/Running"

# WSMan fault codes pypsrp and Exchange clients look at.
TIMED_OUT = 0x80338029  # ERROR_WSMAN_OPERATION_TIMEDOUT: pypsrp polls again
SHELL_NOT_FOUND = 0x8033805B  # ERROR_WSMAN_UNEXPECTED_SELECTORS: pool gone
INVALID_RESOURCE_URI = 0x80338043
MAX_SHELLS = 0x803381A5  # per-user shell quota, what Exchange's MaxConcurrency surfaces as
ACCESS_DENIED = 0x80070005
UNSUPPORTED_ACTION = 0x80338039  # ERROR_WSMAN_ACTION_NOT_SUPPORTED
BAD_REQUEST = 0x8033800C  # ERROR_WSMAN_INVALID_MESSAGE

_ENVELOPE = (
    '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" '
    'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">'
    "<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{message_id}</a:MessageID>"
    "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
    "<a:RelatesTo>{relates_to}</a:RelatesTo></s:Header><s:Body>{body}</s:Body></s:Envelope>"
)
_DURATION = re.compile(r"^P(?:T)?(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


class WSManFault(Exception):
    """Raised by an operation to answer with a WSMan fault."""

    def __init__(self, code: int, reason: str, subcode: str = "w:InternalError") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.subcode = subcode


@dataclass
class Request:
    """The parts of a WSMan request the operations need."""

    action: str
    message_id: str
    resource_uri: str
    max_envelope_size: int
    operation_timeout: float
    selectors: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    body: ET.Element | None = None

    @property
    def operation(self) -> str:
        """The last segment of the action URI: Create, Command, Receive, ..."""
        return self.action.rstrip("/").rsplit("/", 1)[-1]

    @property
    def shell_id(self) -> uuid.UUID | None:
        value = next((v for k, v in self.selectors.items() if k.lower() == "shellid"), None)
        return parse_guid(value) if value else None


def parse_guid(text: str | None) -> uuid.UUID:
    try:
        return uuid.UUID((text or "").strip())
    except ValueError:
        raise WSManFault(BAD_REQUEST, f"Invalid GUID '{text}'.") from None


def parse_duration(text: str | None, default: float = 20.0) -> float:
    """Seconds of an xs:duration such as PT20S or PT60.000S."""
    match = _DURATION.match((text or "").strip())
    if not match:
        return default
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_request(data: bytes) -> Request:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WSManFault(BAD_REQUEST, f"The WS-Management service cannot process the request: {exc}.") from None
    header = root.find("s:Header", NS)
    body = root.find("s:Body", NS)
    if header is None:
        raise WSManFault(BAD_REQUEST, "The SOAP envelope has no header.")

    def text(path: str) -> str:
        element = header.find(path, NS)
        return (element.text or "").strip() if element is not None else ""

    selectors = {e.get("Name", ""): (e.text or "").strip() for e in header.findall("wsman:SelectorSet/wsman:Selector", NS)}
    options = {e.get("Name", ""): (e.text or "").strip() for e in header.findall("wsman:OptionSet/wsman:Option", NS)}
    try:
        max_envelope = int(text("wsman:MaxEnvelopeSize") or 153600)
    except ValueError:
        max_envelope = 153600
    return Request(
        action=text("wsa:Action"),
        message_id=text("wsa:MessageID"),
        resource_uri=text("wsman:ResourceURI"),
        max_envelope_size=max(max_envelope, 8192),
        operation_timeout=parse_duration(text("wsman:OperationTimeout")),
        selectors=selectors,
        options=options,
        body=body[0] if body is not None and len(body) else None,
    )


def envelope(request: Request | None, action: str, body: str) -> bytes:
    return _ENVELOPE.format(
        action=action,
        message_id=str(uuid.uuid4()).upper(),
        relates_to=xml_escape(request.message_id) if request else "",
        body=body,
    ).encode("utf-8")


def response(request: Request, body: str = "") -> bytes:
    return envelope(request, request.action + "Response", body)


def fault(request: Request | None, error: WSManFault, machine: str) -> bytes:
    reason = xml_escape(error.reason)
    body = (
        '<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>'
        f"{error.subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{reason}</s:Text></s:Reason>'
        '<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" '
        f'Code="{error.code}" Machine="{xml_escape(machine)}"><f:Message>{reason}</f:Message>'
        "</f:WSManFault></s:Detail></s:Fault>"
    )
    return envelope(request, FAULT_ACTION, body)


# -- bodies ---------------------------------------------------------------------------------------
def xs_duration(seconds: float) -> str:
    """A duration as WinRM writes ShellRunTime and ShellInactivity: P0DT1H2M3S."""
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"P{days}DT{hours}H{minutes}M{secs}S"


def shell_xml(shell_id: uuid.UUID, owner: str, client_ip: str, state: str | None = None, *, name: str = "",
              idle_timeout: float = 7200.0, run_time: float = 0.0, inactivity: float = 0.0) -> str:
    """An `rsp:Shell` as WinRM answers Create, Get and Enumerate (in WinRM's element order)."""
    sid = str(shell_id).upper()
    return (
        f"<rsp:Shell><rsp:ShellId>{sid}</rsp:ShellId>"
        + (f"<rsp:Name>{xml_escape(name)}</rsp:Name>" if name else "")
        + f"<rsp:ResourceUri>{EXCHANGE_RESOURCE_URI}</rsp:ResourceUri>"
        f"<rsp:Owner>{xml_escape(owner)}</rsp:Owner><rsp:ClientIP>{xml_escape(client_ip)}</rsp:ClientIP>"
        f"<rsp:IdleTimeOut>PT{idle_timeout:.3f}S</rsp:IdleTimeOut><rsp:InputStreams>stdin pr</rsp:InputStreams>"
        "<rsp:OutputStreams>stdout</rsp:OutputStreams>"
        + (f"<rsp:State>{state}</rsp:State>" if state else "")
        + f"<rsp:ShellRunTime>{xs_duration(run_time)}</rsp:ShellRunTime>"
        f"<rsp:ShellInactivity>{xs_duration(inactivity)}</rsp:ShellInactivity></rsp:Shell>"
    )


def enumerate_xml(shells: list[str]) -> str:
    """A WS-Enumeration answer holding every item at once (OptimizeEnumeration), as WinRM gives a few shells."""
    return (
        '<n:EnumerateResponse xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration">'
        f"<w:Items>{''.join(shells)}</w:Items><w:EndOfSequence/></n:EnumerateResponse>"
    )


def created_xml(address: str, shell_id: uuid.UUID, owner: str, client_ip: str, name: str = "") -> str:
    sid = str(shell_id).upper()
    return (
        f"<x:ResourceCreated><a:Address>{xml_escape(address)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{EXCHANGE_RESOURCE_URI}</w:ResourceURI><w:SelectorSet>"
        f'<w:Selector Name="ShellId">{sid}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
        f"</x:ResourceCreated>" + shell_xml(shell_id, owner, client_ip, name=name)
    )


def receive_xml(data: bytes, command_id: str | None, done: bool) -> str:
    attr = f' CommandId="{command_id}"' if command_id else ""
    parts = ["<rsp:ReceiveResponse>"]
    if data:
        parts.append(f'<rsp:Stream Name="stdout"{attr}>{base64.b64encode(data).decode("ascii")}</rsp:Stream>')
    if command_id:
        parts.append(f'<rsp:CommandState{attr} State="{STATE_DONE if done else STATE_RUNNING}"/>')
    parts.append("</rsp:ReceiveResponse>")
    return "".join(parts)


def shell_name(body: ET.Element | None) -> str:
    """The `rsp:Name` a client gave its shell at Create (pypsrp: `WinRS.name`), or ""."""
    element = body.find("rsp:Name", NS) if body is not None else None
    return (element.text or "").strip() if element is not None else ""


def command_xml(command_id: str) -> str:
    return f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"


def receive_budget(max_envelope_size: int) -> int:
    """Raw PSRP bytes that fit one Receive response once base64-encoded inside the envelope."""
    return max((max_envelope_size - 2048) * 3 // 4, 2048)


def creation_xml(body: ET.Element | None) -> bytes:
    element = body.find("creationXml") if body is not None else None
    if element is None and body is not None:
        element = next((e for e in body.iter() if e.tag.endswith("creationXml")), None)
    if element is None or not (element.text or "").strip():
        raise WSManFault(BAD_REQUEST, "The shell creation request has no creationXml.")
    return base64.b64decode(element.text.strip())


def command_arguments(body: ET.Element | None) -> tuple[str, bytes]:
    if body is None:
        raise WSManFault(BAD_REQUEST, "The Command request has no body.")
    command_id = body.get("CommandId") or str(uuid.uuid4()).upper()
    data = b"".join(base64.b64decode((a.text or "").strip()) for a in body.findall("rsp:Arguments", NS))
    return command_id, data


def send_streams(body: ET.Element | None) -> list[tuple[str | None, bytes]]:
    if body is None:
        return []
    return [
        (s.get("CommandId"), base64.b64decode((s.text or "").strip()))
        for s in body.findall("rsp:Stream", NS)
        if (s.text or "").strip()
    ]


def receive_command_id(body: ET.Element | None) -> str | None:
    stream = body.find("rsp:DesiredStream", NS) if body is not None else None
    return stream.get("CommandId") if stream is not None else None


def signal_of(body: ET.Element | None) -> tuple[str, str]:
    if body is None:
        raise WSManFault(BAD_REQUEST, "The Signal request has no body.")
    code = body.find("rsp:Code", NS)
    return body.get("CommandId", ""), (code.text or "").strip() if code is not None else ""


def same_resource(uri: str, expected: str = EXCHANGE_RESOURCE_URI) -> bool:
    return uri.rstrip("/").lower() == expected.lower()
