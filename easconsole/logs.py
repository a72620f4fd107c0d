"""EasDisc.log and SiteComp.log: component logs in CMTrace's line format, and reading them back.

Each line reads as CMTrace writes it, so administrators who know ConfigMgr can open the files in
CMTrace too:

    <![LOG[Failed to open runspace for site HQ]LOG]!><time="04:12:01.123+000" date="11-27-2026"
    component="SMS_EXCHANGE_CONNECTOR" context="" type="2" thread="1234" file="">
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

LOGS = {"EasDisc.log": "easconsole.easdisc", "SiteComp.log": "easconsole.sitecomp"}
SEVERITY_OF_LEVEL = {logging.DEBUG: 1, logging.INFO: 1, logging.WARNING: 2, logging.ERROR: 3, logging.CRITICAL: 3}
SEVERITY_NAMES = {1: "Information", 2: "Warning", 3: "Error"}
LINE = re.compile(
    r'<!\[LOG\[(?P<message>.*?)\]LOG\]!><time="(?P<time>[^"]*)" date="(?P<date>[^"]*)" component="(?P<component>[^"]*)" '
    r'context="[^"]*" type="(?P<type>\d)" thread="(?P<thread>[^"]*)"'
)

easdisc = logging.getLogger("easconsole.easdisc")
sitecomp = logging.getLogger("easconsole.sitecomp")


def log_dir() -> Path:
    path = Path(settings.VAR_DIR) / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


class CMTraceFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
        message = record.getMessage().replace("]LOG]!>", "]LOG]!&gt;").replace("\n", " ")
        component = getattr(record, "component", "SMS_EXCHANGE_CONNECTOR")
        return (
            f'<![LOG[{message}]LOG]!><time="{when:%H:%M:%S}.{when.microsecond // 1000:03d}+000" date="{when:%m-%d-%Y}" '
            f'component="{component}" context="" type="{SEVERITY_OF_LEVEL.get(record.levelno, 1)}" '
            f'thread="{record.thread % 100000 if record.thread else 0}" file="">'
        )


class ComponentLogHandler(logging.FileHandler):
    """Appends to var/logs/<name>; opened lazily so importing settings creates no file."""

    def __init__(self, name: str):
        super().__init__(log_dir() / name, encoding="utf-8", delay=True)
        self.setFormatter(CMTraceFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        # Tests and the demo may move VAR_DIR: follow it.
        wanted = str(log_dir() / Path(self.baseFilename).name)
        if wanted != self.baseFilename:
            self.close()
            self.baseFilename = wanted
        super().emit(record)


@dataclass(frozen=True)
class LogLine:
    time: str
    severity: int
    component: str
    thread: str
    message: str

    @property
    def severity_name(self) -> str:
        return SEVERITY_NAMES.get(self.severity, "Information")


def parse(line: str) -> LogLine | None:
    match = LINE.match(line)
    if not match:
        return None
    return LogLine(f"{match['date']} {match['time'][:12]}", int(match["type"]), match["component"], match["thread"], match["message"])


def tail(name: str, *, limit: int = 500, min_severity: int = 1, text: str = "") -> list[LogLine]:
    """The last ``limit`` lines of a log that match the filters, oldest first.

    Reads the file backwards in blocks, so a log of any size costs only what is shown.
    """
    if name not in LOGS:
        raise ValueError(name)
    path = log_dir() / name
    if not path.exists():
        return []
    needle = text.lower()
    found: list[LogLine] = []
    for raw in _reverse_lines(path):
        parsed = parse(raw)
        if parsed and parsed.severity >= min_severity and (not needle or needle in parsed.message.lower()):
            found.append(parsed)
            if len(found) >= limit:
                break
    return found[::-1]


def _reverse_lines(path: Path, block: int = 65536):
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        rest = b""
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step) + rest
            lines = chunk.split(b"\n")
            rest = lines.pop(0)
            for line in reversed(lines):
                if line.strip():
                    yield line.decode("utf-8", "replace")
        if rest.strip():
            yield rest.decode("utf-8", "replace")
