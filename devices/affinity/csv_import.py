"""Import User Device Affinity: a CSV file of ``DOMAIN\\user,device`` lines read into a preview.

As ConfigMgr's Import User Device Affinity wizard: one pair a line, ``<domain>\\<username>,<device>``,
an optional header line (ticked, or recognised by its words), the device named by its name or its
device ID, and only devices already discovered. Nothing is written here: ``parse`` is pure (bytes in,
rows and errors out, streamed line by line), ``resolve`` looks the users and devices up with a
bounded number of queries (batches, or one scan of the table for a large file, never one per row),
and the result is a ``Preview`` that says what would change and why each row in error is refused.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from typing import BinaryIO, Iterable, Iterator

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from devices.models import Device, UserDeviceAffinity
from devices.selectors import devices_for

MAX_BYTES = 10 * 1024 * 1024
MAX_VALUE = 320  # longer than any user name, SMTP address or device name the console stores
CHUNK = 64 * 1024
BATCH = 900  # values in one SQL IN (...), under every database's limit
SCAN_ABOVE = 5000  # more distinct values than this: read the whole table once instead
USER_FORMAT = re.compile(r"^[^\\@\s]+\\[^\\\s]+$")
UPN_FORMAT = re.compile(r"^[^@\s\\]+@[^@\s\\]+$")
HEADER_WORDS = ("user", "device", "name", "account", "computer", "machine", "domain")


class FileRefused(Exception):
    """The whole file cannot be read (size, encoding, binary, empty); the message says why and what to do."""


@dataclass(frozen=True)
class Row:
    line: int
    user: str
    device: str


@dataclass(frozen=True)
class RowError:
    line: int
    text: str
    reason: str


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    header: list[str] | None = None
    header_detected: bool = False
    lines: int = 0


@dataclass(frozen=True)
class Link:
    """A row that names a known user and device: a new link, or one that already exists (``source`` set)."""

    line: int
    user_id: int
    username: str
    device_pk: int
    device_name: str
    device_id: str
    source: str = ""


@dataclass
class Preview:
    file_name: str
    lines: int
    header: list[str] | None
    header_detected: bool
    new: list[Link]
    existing: list[Link]
    errors: list[RowError]
    refused_devices: list[str]  # devices found but not modifiable by the person: the import is refused

    @property
    def importable(self) -> bool:
        return bool(self.new) and not self.refused_devices


# ---- parsing (pure) ----

def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """The file's physical lines as bytes, numbered from 1, read a chunk at a time; refuses binary and oversized files."""
    size = getattr(stream, "size", None)
    if size is None and stream.seekable():
        size = stream.seek(0, 2)
        stream.seek(0)
    if size is not None and size > MAX_BYTES:
        raise FileRefused(_("The file is larger than %(limit)d MB. Split it into smaller files.") % {"limit": MAX_BYTES // (1024 * 1024)})
    first = stream.read(CHUNK)
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(_("The file is in UTF-16 (Excel's \"Unicode Text\"). Save it as \"CSV UTF-8 (Comma delimited)\" and upload it again."))
    total, pending, number, chunk = 0, b"", 0, first
    while chunk:
        total += len(chunk)
        if total > MAX_BYTES:
            raise FileRefused(_("The file is larger than %(limit)d MB. Split it into smaller files.") % {"limit": MAX_BYTES // (1024 * 1024)})
        if b"\x00" in chunk:
            raise FileRefused(_("This is not a text file (it contains binary data). Upload a CSV file of DOMAIN\\user,device lines."))
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            number += 1
            yield number, line
        chunk = stream.read(CHUNK)
    if pending:
        yield number + 1, pending


def _decoded(stream: BinaryIO, counter: list[int]) -> Iterator[str]:
    """The lines decoded as UTF-8 (a byte order mark is dropped); refuses another encoding, naming the line."""
    for number, raw in _lines(stream):
        counter[0] = number
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FileRefused(_("Line %(line)d is not UTF-8 text: the file was probably saved as \"CSV (Comma delimited)\" "
                                "in a Windows code page. Save it as \"CSV UTF-8 (Comma delimited)\" and upload it again.")
                              % {"line": number}) from None
        yield text.rstrip("\r") + "\n"


def _looks_like_header(cells: list[str]) -> bool:
    """Headings are words ("User,Device", "DOMAIN\\username,Device name"); a row has digits, "_" or "@" somewhere."""
    cells = [cell for cell in cells if cell]
    if any(char.isdigit() or char in "_@" for cell in cells for char in cell):
        return False
    text = " ".join(cells).lower()
    return any(word in text for word in HEADER_WORDS)


def _check(cells: list[str]) -> str | None:
    """Why a line cannot be a row, or None."""
    columns = len(cells)
    while cells and not cells[-1]:
        cells.pop()  # spreadsheets add empty trailing columns
    if not cells:
        return _("Blank line.")
    if len(cells) == 1 and columns > 1:
        return _("The device is missing.")
    if len(cells) == 1:
        if ";" in cells[0] or "\t" in cells[0]:
            return _("The values are separated by a semicolon or a tab: separate the user and the device with a comma.")
        return _("Malformed line: expected DOMAIN\\user,device (two values separated by a comma).")
    if len(cells) > 2:
        return _("Too many columns: expected 2 (DOMAIN\\user,device), found %(n)d.") % {"n": len(cells)}
    user, device = cells
    if not user:
        return _("The user is missing.")
    if not device:
        return _("The device is missing.")
    if len(user) > MAX_VALUE or len(device) > MAX_VALUE:
        return _("A value is longer than %(n)d characters.") % {"n": MAX_VALUE}
    if not (USER_FORMAT.match(user) or UPN_FORMAT.match(user)):
        return _("The user must be written DOMAIN\\user (for example CONTOSO\\jdoe), or as a user principal name (jdoe@contoso.com).")
    return None


def _cells(text: str) -> list[str] | None:
    """The values of one line, or None when a quote is left open or text follows a closing quote.

    Each line is read on its own: no user or device name holds a line break, so one stray quote
    costs its own line rather than swallowing every line after it into one value.
    """
    if '"' not in text:
        return text.split(",")
    try:
        return next(csv.reader([text], skipinitialspace=True, strict=True), [])
    except csv.Error:
        return None


def parse(stream: BinaryIO, *, has_header: bool = False) -> Parsed:
    """Read ``DOMAIN\\user,device`` lines. Raises FileRefused when the file as a whole cannot be read.

    Each line in error is kept with its number and reason; a row repeating an earlier one (the same
    user and device, ignoring case) is an error that names the first line.
    """
    parsed = Parsed()
    counter = [0]
    seen: dict[tuple[str, str], int] = {}
    first_record = True
    for text in _decoded(stream, counter):
        line = counter[0]
        cells = _cells(text)
        if cells is None:
            first_record = False
            parsed.errors.append(RowError(line, text.strip()[:200], _(
                "Unbalanced quote: a value on this line opens a quote (\") it does not close, or has text after its closing "
                "quote. Remove the stray quote (values need no quotes).")))
            continue
        cells = [cell.strip() for cell in cells]
        raw = ",".join(cells)[:200]
        if first_record and any(cells):
            first_record = False
            if has_header or _looks_like_header(cells):
                parsed.header, parsed.header_detected = cells, not has_header
                continue
        reason = _check(cells)
        if reason is None:
            key = (cells[0].lower(), cells[1].lower())
            if key in seen:
                reason = _("Duplicate of line %(line)d.") % {"line": seen[key]}
            else:
                seen[key] = line
                parsed.rows.append(Row(line, cells[0], cells[1]))
                continue
        parsed.errors.append(RowError(line, raw, reason))
    parsed.lines = counter[0]
    if not parsed.rows and all(e.reason == _("Blank line.") for e in parsed.errors):
        if parsed.header is not None:
            raise FileRefused(_("The file has a header line but no rows."))
        raise FileRefused(_("The file is empty."))
    return parsed


# ---- resolution (reads the database) ----

def _batches(values: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _scan(keys: list[str]) -> bool:
    """Read the whole table rather than batches: many keys, or keys that SQLite's LOWER() (ASCII only) would miss."""
    return len(keys) > SCAN_ABOVE or not all(key.isascii() for key in keys)


class Accounts:
    """The active console accounts, indexed by user name and email address (lower case): one query."""

    def __init__(self) -> None:
        self.by_username: dict[str, list[tuple[int, str]]] = {}
        self.by_email: dict[str, list[tuple[int, str]]] = {}
        rows = get_user_model().objects.filter(is_active=True).values_list("pk", "username", "email")
        for pk, username, email in rows.iterator(chunk_size=5000):
            self.by_username.setdefault(username.strip().lower(), []).append((pk, username))
            if email and email.strip():
                self.by_email.setdefault(email.strip().lower(), []).append((pk, username))

    def named(self, *keys: str) -> list[tuple[int, str]]:
        """Accounts whose user name, or else email address, is one of ``keys`` (the first key that matches wins)."""
        for index in (self.by_username, self.by_email):
            found: dict[int, str] = {}
            for key in keys:
                found.update(index.get(key, []))
            if found:
                return sorted(found.items())
        return []


def _exchange_owners(sams: list[str]) -> dict[str, set[str]]:
    """SamAccountName (lower case) → the UPNs and primary SMTP addresses Exchange gave for it, from the inventory."""
    owners: dict[str, set[str]] = {}
    if not sams:
        return owners
    queryset = Device.objects.annotate(sam_key=Lower("user_sam_account_name")).exclude(user_sam_account_name="")
    batches = [queryset] if _scan(sams) else (queryset.filter(sam_key__in=batch) for batch in _batches(sams))
    wanted = set(sams)
    for batch in batches:
        for sam, upn, smtp in batch.values_list("sam_key", "user_principal_name", "user_primary_smtp_address").iterator(chunk_size=5000):
            if sam in wanted:
                owners.setdefault(sam, set()).update(v.strip().lower() for v in (upn, smtp) if v and v.strip())
    return owners


def resolve_users(names: Iterable[str]) -> dict[str, tuple[int, str] | str]:
    """Each user as written (lower case) → (account pk, user name), or the reason it matches no single account.

    ``DOMAIN\\user`` matches the account named ``DOMAIN\\user``, else the account named ``user``
    (SamAccountName), else the account whose user name or email address is the UPN or primary SMTP
    address that Exchange gave for that SamAccountName. ``user@domain`` matches a user name or an
    email address. Several accounts at the first step that matches make the user ambiguous.
    """
    accounts = Accounts()
    names = sorted(set(names))
    result: dict[str, tuple[int, str] | str] = {}
    unresolved: dict[str, str] = {}
    for name in names:
        keys = (name,) if "\\" not in name else (name, name.split("\\", 1)[1])
        found = accounts.named(keys[0]) or (accounts.named(keys[1]) if len(keys) > 1 else [])
        if found:
            result[name] = found[0] if len(found) == 1 else _(
                "Ambiguous user: it matches the accounts %(names)s.") % {"names": ", ".join(n for _pk, n in found)}
        elif "\\" in name:
            unresolved[name] = keys[1]
        else:
            result[name] = _("Unknown user: no active console account has this user name or email address.")
    owners = _exchange_owners(sorted(set(unresolved.values())))
    for name, sam in unresolved.items():
        found = accounts.named(*sorted(owners.get(sam, ())))
        if len(found) == 1:
            result[name] = found[0]
        elif found:
            result[name] = _("Ambiguous user: it matches the accounts %(names)s.") % {"names": ", ".join(n for _pk, n in found)}
        else:
            result[name] = _("Unknown user: no active console account has this user name (with or without its domain), "
                             "nor the UPN or primary SMTP address that Exchange gives for this user.")
    return result


def resolve_devices(actor, names: Iterable[str]) -> dict[str, tuple[int, str, str] | str]:
    """Each device as written (lower case) → (pk, name, device ID), or why it names no single device.

    Only devices the person may read are looked at (a device outside their collections is unknown to
    them), and only those still in the inventory (a deleted one is named as such). A name shared by
    several devices is ambiguous: the device ID names one.
    """
    names = sorted(set(names))
    scope = devices_for(actor, "devices.read_collection").annotate(name_key=Lower("name"), id_key=Lower("device_id"))
    by_name: dict[str, list[tuple[int, str, str]]] = {}
    by_id: dict[str, list[tuple[int, str, str]]] = {}
    if _scan(names):
        querysets = [scope]
    else:
        querysets = [q for batch in _batches(names) for q in (scope.filter(name_key__in=batch), scope.filter(id_key__in=batch))]
    deleted: dict[str, str] = {}  # a deleted device (or one Exchange no longer has) keeps its row: name or ID → its name
    seen: set[int] = set()
    for queryset in querysets:
        for pk, name, device_id, missing in queryset.values_list("pk", "name", "device_id", "missing_since").iterator(chunk_size=5000):
            if pk in seen:
                continue
            seen.add(pk)
            if missing is not None:
                deleted[name.lower()] = deleted[device_id.lower()] = name
                continue
            by_name.setdefault(name.lower(), []).append((pk, name, device_id))
            by_id.setdefault(device_id.lower(), []).append((pk, name, device_id))
    result: dict[str, tuple[int, str, str] | str] = {}
    for key in names:
        named, identified = by_name.get(key, []), by_id.get(key, [])
        if len(named) == 1:
            result[key] = named[0]
        elif named:
            ids = ", ".join(device_id for _pk, _name, device_id in sorted(named, key=lambda d: d[2])[:5])
            result[key] = _("Ambiguous device: %(n)d devices are named %(name)s. Name the device by its device ID instead (%(ids)s).") % {
                "n": len(named), "name": named[0][1], "ids": ids}
        elif len(identified) == 1:
            result[key] = identified[0]
        elif identified:
            result[key] = _("Ambiguous device: %(n)d devices have the device ID %(id)s (one phone with several mailboxes): "
                            "name the device by its name instead.") % {"n": len(identified), "id": identified[0][2]}
        elif key in deleted:
            result[key] = _("Deleted device: %(name)s was deleted from the console or is no longer in Exchange.") % {"name": deleted[key]}
        else:
            result[key] = _("Unknown device: no discovered device you can see has this name or device ID.")
    return result


def _existing_links(device_pks: list[int]) -> dict[tuple[int, int], str]:
    queryset = UserDeviceAffinity.objects.all()
    batches = [queryset] if len(device_pks) > SCAN_ABOVE else (queryset.filter(device_id__in=b) for b in _batches(device_pks))
    wanted = set(device_pks)
    return {(device, user): source for batch in batches
            for device, user, source in batch.values_list("device_id", "user_id", "source").iterator(chunk_size=5000)
            if device in wanted}


def not_modifiable(actor, device_pks: Iterable[int]) -> set[int]:
    """The devices among ``device_pks`` the person may not modify (no Modify resource on a collection holding them)."""
    device_pks = sorted(set(device_pks))
    permitted: set[int] = set()
    for batch in _batches(device_pks):
        permitted.update(devices_for(actor, "devices.modify_resource", Device.objects.filter(pk__in=batch)).values_list("pk", flat=True))
    return set(device_pks) - permitted


def resolve(parsed: Parsed, *, actor, file_name: str = "") -> Preview:
    """What importing the parsed rows would change for ``actor``: new links, existing ones, and rows in error."""
    users = resolve_users(row.user.lower() for row in parsed.rows)
    devices = resolve_devices(actor, (row.device.lower() for row in parsed.rows))
    errors = list(parsed.errors)
    found: list[tuple[Row, tuple[int, str], tuple[int, str, str]]] = []
    pairs: dict[tuple[int, int], int] = {}
    for row in parsed.rows:
        user, device = users[row.user.lower()], devices[row.device.lower()]
        reasons = [r for r in (user, device) if isinstance(r, str)]
        if not reasons and (device[0], user[0]) in pairs:
            reasons = [_("Same user and device as line %(line)d.") % {"line": pairs[(device[0], user[0])]}]
        if reasons:
            errors.append(RowError(row.line, f"{row.user},{row.device}", " ".join(reasons)))
            continue
        pairs[(device[0], user[0])] = row.line
        found.append((row, user, device))
    existing = _existing_links(sorted({device[0] for _row, _user, device in found}))
    new, linked = [], []
    for row, (user_pk, username), (device_pk, device_name, device_id) in found:
        source = existing.get((device_pk, user_pk), "")
        (linked if source else new).append(Link(row.line, user_pk, username, device_pk, device_name, device_id, source))
    refused = not_modifiable(actor, (link.device_pk for link in new))
    refused_names = sorted({f"{link.device_name} ({link.device_id})" for link in new if link.device_pk in refused})
    errors.sort(key=lambda e: e.line)
    return Preview(file_name=file_name, lines=parsed.lines, header=parsed.header, header_detected=parsed.header_detected,
                   new=new, existing=linked, errors=errors, refused_devices=refused_names)


def preview_file(stream: BinaryIO, *, actor, has_header: bool = False, file_name: str = "") -> Preview:
    """Parse and resolve an uploaded file. Raises FileRefused when the file as a whole cannot be read."""
    return resolve(parse(stream, has_header=has_header), actor=actor, file_name=file_name)
