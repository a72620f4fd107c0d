"""Each transport failure reads as a sentence an administrator can act on; the library's words go
to EasDisc.log, never into the message a page shows."""
from __future__ import annotations

import http.client
import logging
import ssl
import threading
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
import requests
import urllib3
from pypsrp.exceptions import AuthenticationError, InvalidPSRPOperation, WinRMTransportError, WSManFaultError

from easconsole.exchange.errors import (ExchangeCommandError, ExchangeConnectionError, ExchangeError,
                                        ExchangeThrottledError, throttle_wait)
from easconsole.exchange.gateway import PsrpGateway
from easconsole.exchange.simulator.testing import make_organization, running_simulator
from easconsole.exchange.transport import error_from_exception, error_from_record

from .conftest import settings_for


def _refused() -> BaseException:
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(
        None, "/PowerShell", urllib3.exceptions.NewConnectionError(
            None, "Failed to establish a new connection: [Errno 111] Connection refused")))


def _lost(cause: BaseException) -> BaseException:
    return requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted.", cause))


def _cert() -> BaseException:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "self-signed certificate"
    return requests.exceptions.SSLError(error)


WORDINGS = [
    (AuthenticationError("Failed to authenticate the user admin with ntlm"), "authentication",
     "authentication failed (HTTP 401): check the account, its password and the authentication method"),
    (_cert(), "tls", "the TLS handshake or certificate validation failed (certificate verify failed: self-signed certificate)"),
    (requests.exceptions.ConnectTimeout("timed out"), "unreachable",
     "the server did not accept a connection in time (it may be down, or a firewall drops the traffic)"),
    (requests.exceptions.ReadTimeout("read timed out"), "unreachable",
     "the server accepted the connection but did not answer in time"),
    (_refused(), "unreachable", "the server refused the connection (Exchange or IIS may be stopped, or the port is wrong)"),
    (_lost(http.client.RemoteDisconnected("Remote end closed connection without response")), "unreachable",
     "Exchange closed the connection before answering"),
    (_lost(ConnectionResetError(104, "Connection reset by peer")), "unreachable",
     "the connection was reset before Exchange answered (the server or a device in between dropped it)"),
    (_lost(BrokenPipeError(32, "Broken pipe")), "unreachable",
     "the connection was closed by the server while the request was being sent"),
    (requests.exceptions.ConnectionError("something else"), "unreachable",
     "the connection to Exchange was lost before it answered"),
    (WSManFaultError(2150858843, "", "The request for the Windows Remote Shell failed because the shell was not found.",
                     "", "", ""), "session",
     "Exchange's remote PowerShell refused the request: The request for the Windows Remote Shell failed because the "
     "shell was not found."),
    (WinRMTransportError("http", 400, "<bad request>"), "session",
     "Exchange rejected the request (HTTP 400); the session is opened again at the next attempt"),
    (WinRMTransportError("http", 403, "forbidden"), "session",
     "Exchange refused access to remote PowerShell (HTTP 403): check that the account is allowed to use it"),
    (WinRMTransportError("http", 404, "not found"), "session",
     "the server has no /PowerShell endpoint (HTTP 404): check the server name and the port"),
    (WinRMTransportError("http", 500, "<html>stack trace</html>"), "session",
     "Exchange failed while handling the request (HTTP 500)"),
    (WinRMTransportError("http", 503, "Service Unavailable"), "session",
     "Exchange is not available (HTTP 503): the server may be starting, overloaded or in maintenance"),
    (WinRMTransportError("http", 502, "Bad Gateway"), "session",
     "the server answered HTTP 502 instead of a remote PowerShell answer"),
    (InvalidPSRPOperation("Cannot invoke PowerShell when the pool is Broken"), "session",
     "the remote PowerShell session broke; it is opened again at the next attempt"),
    (RuntimeError("KeyError('Obj') in a fragment"), "session",
     "an unexpected error interrupted the conversation with Exchange (details in EasDisc.log)"),
]


@pytest.mark.parametrize(("exc", "kind", "reason"), WORDINGS, ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None)
def test_each_transport_failure_in_words(exc: BaseException, kind: str, reason: str, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="easconsole.easdisc")
    error = error_from_exception(exc, "Clear-ActiveSyncDevice", "EXCAS01")
    assert isinstance(error, ExchangeConnectionError) and error.kind == kind
    assert error.reason == reason
    assert str(error) == f"Running Clear-ActiveSyncDevice on EXCAS01 failed: {reason.rstrip('.')}."
    logged = [r.getMessage() for r in caplog.records if r.name == "easconsole.easdisc"]
    assert logged and type(exc).__name__ in logged[-1]  # the technical detail is in EasDisc.log...
    if not isinstance(exc, AuthenticationError):
        assert error.detail.startswith(type(exc).__name__) and error.detail not in str(error)  # ...not on the page


def test_an_authentication_failure_logs_no_account_text(caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="easconsole.easdisc")
    error_from_exception(AuthenticationError("Failed to authenticate the user CONTOSO\\svc with ntlm"), "", "EX1")
    assert "svc" not in caplog.text


@pytest.mark.parametrize(("code", "text", "wait"), [
    (0x803381A5, "Fail to create a runspace because you have exceeded the maximum number of connections allowed : 18 "
                 "for the policy party : MaxConcurrency. Please close existing runspace and try again.", None),
    (0x803381A4, "The WS-Management service cannot process the request. The user load quota of 10 requests per 60 "
                 "seconds has been exceeded. Send future requests at a slower rate or raise the quota for this user. "
                 "The next request from this user will not be approved for at least 2000 milliseconds.", 2.0),
    (0x803381A5, "", None),
])
def test_throttling_faults_are_not_final_and_carry_the_wait(code: int, text: str, wait: float | None) -> None:
    error = error_from_exception(WSManFaultError(code, "", text, "", "", ""), "", "EXCAS01")
    assert isinstance(error, ExchangeThrottledError) and error.retry_after == wait
    assert str(error).startswith("Talking to Exchange on EXCAS01 failed: Exchange's throttling refused the work")


@pytest.mark.parametrize(("text", "seconds"), [
    ("This operation exceeds the throttling budget for policy part 'PowerShellMaxCmdlets', policy value '10', "
     "Budget type: 'PowerShell'. Suggested backoff time 29734 ms.", 29.734),
    ("The user has exceeded the budget for PowerShell cmdlets (10 cmdlets in 60 seconds): wait 12 seconds.", 12.0),
    ("Fail to create a runspace because you have exceeded your budget to create runspace. Please wait for 45 seconds.", 45.0),
    ("Server busy. Back off for 500 msec.", 0.5),
    ("Your budget will be recharged in 30 seconds.", 30.0),
    ("WARNING: Micro delay applied. Actual delayed: 21956 msecs, Enforced: True", 21.956),
    ("The budget is 10 cmdlets in 60 seconds.", None),  # a policy's period is not a wait
])
def test_throttle_wait_reads_the_back_off_exchange_names(text: str, seconds: float | None) -> None:
    assert throttle_wait(text) == seconds


def _record(message: str, exception_type: str, category: int, fq: str = "") -> Any:
    exception = SimpleNamespace(types=[exception_type], adapted_properties={"Message": message})
    return SimpleNamespace(exception=exception, fq_error=fq, category=category, target_name="x", activity=None)


def test_records_over_budget_and_refusals() -> None:
    over = error_from_record(_record("This operation exceeds the throttling budget for policy part "
                                     "'PowerShellMaxCmdlets', policy value '5', Budget type: 'PowerShell'. Suggested "
                                     "backoff time 4000 ms.", "Microsoft.Exchange.Data.Directory.OverBudgetException", 29),
                             "Clear-ActiveSyncDevice", "EXCAS01", terminating=True)
    assert isinstance(over, ExchangeThrottledError) and over.retry_after == 4.0
    invalid = error_from_record(_record("The value is not valid.", "Microsoft.Exchange.Data.DataValidationException", 5),
                                "Set-CASMailbox", "EXCAS01", terminating=True)
    assert type(invalid) is ExchangeCommandError  # a bad argument is a refusal, not throttling


@pytest.fixture
def slow_sim() -> Iterator[Any]:
    with running_simulator(make_organization(devices=5, seed=3)) as sim:
        yield sim


def test_a_server_stopped_mid_request_is_said_in_words(slow_sim: Any, caplog: Any) -> None:
    """A write in flight when its server stops: not retried (it may have run), and said in words."""
    caplog.set_level(logging.INFO, logger="easconsole.easdisc")
    gateway = PsrpGateway(settings_for(slow_sim, sites={"HQ": "EXCAS01"}))
    gateway.open()
    device = next(iter(gateway.devices(result_size=1)))
    listener = slow_sim.listeners["EXCAS01"]
    in_flight, release = threading.Event(), threading.Event()

    def held() -> float:  # the server holds the next request until the test has stopped it
        in_flight.set()
        release.wait(10)
        return 0.0

    listener.latency = held
    caught: list[BaseException] = []

    def block() -> None:
        try:
            gateway.block_device(device.mailbox, device.device_id)
        except ExchangeError as exc:
            caught.append(exc)

    writer = threading.Thread(target=block)
    writer.start()
    try:
        assert in_flight.wait(10), "the request reached the server"
        slow_sim.stop_server("EXCAS01")
    finally:
        release.set()
        writer.join(30)
        listener.latency = lambda: 0.0
        slow_sim.start_server("EXCAS01")
        gateway.close()
    assert len(caught) == 1 and isinstance(caught[0], ExchangeConnectionError)
    error = caught[0]
    assert error.reason in ("Exchange closed the connection before answering",
                            "the connection was reset before Exchange answered (the server or a device in between "
                            "dropped it)")
    assert error.detail and error.detail not in str(error)
    assert any(r.name == "easconsole.easdisc" and error.detail in r.getMessage() for r in caplog.records)
