"""Parameter binding as PowerShell does it (case-insensitive names, unambiguous prefixes) and the
error records Exchange and PowerShell write.

Values arrive decoded by psrpcore: str (or a str subclass), bool, int, None, lists, dicts (hashtables),
uuid.UUID or other objects; converters are lenient and fall back to str().
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from .types import CmdletError, CommandCall, ErrorCategory, ErrorInfo, utcnow

UNLIMITED = None  # -ResultSize Unlimited
COMMON = ("DomainController", "Verbose", "Debug", "ErrorAction", "WarningAction", "ErrorVariable",
          "WarningVariable", "OutVariable", "OutBuffer", "InformationAction", "InformationVariable",
          "PipelineVariable")
SHOULD_PROCESS = ("Confirm", "WhatIf")


@dataclass(frozen=True)
class Param:
    name: str
    kind: Any = "str"  # str, identity, bool, switch, int, resultsize, list, mv, any, or a tuple of choices
    position: int | None = None
    mandatory: bool = False


@dataclass
class CmdletDef:
    """One command: its parameters and the function that runs it."""

    name: str
    params: tuple[Param, ...]
    func: Callable[..., Any]
    should_process: bool = False  # takes -Confirm/-WhatIf
    confirm: bool = False  # prompts unless -Confirm:$false (Remove-*, Clear-*)
    exchange: bool = True  # an Exchange cmdlet (RBAC, budget) rather than a PowerShell built-in
    by_name: dict[str, Param] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = list(self.params)
        extra = COMMON + (SHOULD_PROCESS if self.should_process else ())
        names += [Param(n, "bool" if n == "Confirm" else "switch" if n in ("WhatIf", "Verbose", "Debug") else "any")
                  for n in extra if n.lower() not in {p.name.lower() for p in self.params}]
        self.by_name = {p.name.lower(): p for p in names}


# ---- error records ---------------------------------------------------------------------------
def exchange_error(cmdlet: str, server: str, message: str, exception: str, category: ErrorCategory,
                   target: Any = None, code: str = "A1B2C3D4") -> ErrorInfo:
    """An error as an Exchange task writes it, with its decorated FullyQualifiedErrorId."""
    short = exception.rsplit(".", 1)[-1]
    stamp = utcnow().strftime("%m/%d/%Y %I:%M:%S %p")
    fq = (f"[Server={server},RequestId={uuid.uuid4()},TimeStamp={stamp}] [FailureCategory=Cmdlet-{short}] "
          f"{code},Microsoft.Exchange.Management.Tasks.{cmdlet.replace('-', '')}")
    return ErrorInfo(message=message, exception_type=exception, fq_error_id=fq, category=category,
                     target=None if target is None else str(target), activity=cmdlet)


def not_found(cmdlet: str, server: str, identity: Any, dc: str) -> ErrorInfo:
    return exchange_error(cmdlet, server, f"The operation couldn't be performed because object '{identity}' "
                          f"couldn't be found on '{dc}'.",
                          "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                          ErrorCategory.ObjectNotFound, identity, "9C8D4A3E")


def ambiguous(cmdlet: str, server: str, identity: Any) -> ErrorInfo:
    return exchange_error(cmdlet, server, f"The operation couldn't be performed because '{identity}' matches "
                          "multiple entries.",
                          "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException",
                          ErrorCategory.InvalidArgument, identity, "2F1E0D6B")


def invalid(cmdlet: str, server: str, message: str, target: Any = None) -> ErrorInfo:
    return exchange_error(cmdlet, server, message, "Microsoft.Exchange.Data.DataValidationException",
                          ErrorCategory.InvalidArgument, target, "6D5C4B3A")


def binding_error(cmdlet: str, message: str, fq: str, category: ErrorCategory = ErrorCategory.InvalidArgument,
                  target: Any = None) -> CmdletError:
    return CmdletError(ErrorInfo(message=message, exception_type="System.Management.Automation.ParameterBindingException",
                                 fq_error_id=f"{fq},{cmdlet}", category=category,
                                 target=None if target is None else str(target), activity=cmdlet))


# ---- conversion ------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def _type_error(cmdlet: str, param: str, value: Any, type_name: str, detail: str = "") -> CmdletError:
    msg = f"Cannot bind parameter '{param}'. Cannot convert value \"{value}\" to type \"{type_name}\".{detail}"
    return binding_error(cmdlet, msg, "CannotConvertArgumentNoMessage", target=value)


def convert(cmdlet: str, param: Param, value: Any) -> Any:
    kind = param.kind
    if kind in ("any", "identity"):
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        return value if value is None or isinstance(value, (uuid.UUID, str)) else _text(value)
    if kind == "str":
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        return None if value is None else _text(value)
    if kind in ("bool", "switch"):
        if value is None:
            return kind == "switch"
        if isinstance(value, str):
            low = value.strip().lower().lstrip("$")
            if low in ("true", "1"):
                return True
            if low in ("false", "0", ""):
                return False
            raise _type_error(cmdlet, param.name, value, "System.Boolean")
        return bool(value)
    if kind == "int":
        try:
            return None if value is None else int(value)
        except (TypeError, ValueError):
            raise _type_error(cmdlet, param.name, value, "System.Int32") from None
    if kind == "resultsize":
        if value is None or _text(value).strip().lower() == "unlimited":
            return UNLIMITED
        try:
            size = int(_text(value))
        except ValueError:
            raise _type_error(cmdlet, param.name, value, "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]") from None
        if size < 1:
            raise binding_error(cmdlet, f"Cannot validate argument on parameter 'ResultSize'. The value {size} "
                                "isn't valid. Valid values are from 1 to Unlimited.", "ParameterArgumentValidationError")
        return size
    if kind == "list":
        return None if value is None else [_text(v) for v in as_list(value)]
    if kind == "mv":  # MultiValuedProperty: a full list, $null, or @{Add=...; Remove=...}
        if isinstance(value, dict):
            out: dict[str, list[str]] = {}
            for key, items in value.items():
                op = _text(key).strip().lower()
                if op not in ("add", "remove"):
                    raise _type_error(cmdlet, param.name, value, "Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]",
                                      f" Error: \"Unrecognized key '{key}'. Valid keys are 'Add' and 'Remove'.\"")
                out[op] = [_text(v) for v in as_list(items)]
            return out
        return None if value is None else [_text(v) for v in as_list(value)]
    if isinstance(kind, tuple):  # an enum: canonical spelling, case-insensitive
        text = "" if value is None else _text(value).strip()
        for choice in kind:
            if choice.lower() == text.lower():
                return choice
        raise _type_error(cmdlet, param.name, value, f"{param.name}",
                          f" Error: \"Unable to match the identifier name {text} to a valid enumerator name. "
                          f"Specify one of the following enumerator names and try again: {', '.join(kind)}\"")
    return value


def resolve_name(defn: CmdletDef, given: str) -> Param:
    name = given.lstrip("-").rstrip(":").lower()
    if name in defn.by_name:
        return defn.by_name[name]
    matches = [p for key, p in defn.by_name.items() if key.startswith(name)] if name else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise binding_error(defn.name, f"Parameter cannot be processed because the parameter name '{given}' is "
                            f"ambiguous. Possible matches include: {' '.join('-' + p.name for p in matches)}.",
                            "AmbiguousParameter", target=given)
    raise binding_error(defn.name, f"A parameter cannot be found that matches parameter name '{given}'.",
                        "NamedParameterNotFound", target=given)


def bind(defn: CmdletDef, call: CommandCall, pipeline_input: bool = False) -> dict[str, Any]:
    """Bind a call's parameters to canonical names; raise CmdletError as PowerShell would."""
    bound: dict[str, Any] = {}
    positional = sorted((p for p in defn.params if p.position is not None), key=lambda p: p.position or 0)
    for name, value in call.parameters:
        if name is None:
            slot = next((p for p in positional if p.name not in bound), None)
            if slot is None:
                raise binding_error(defn.name, f"A positional parameter cannot be found that accepts argument '{value}'.",
                                    "PositionalParameterNotFound", target=value)
            param = slot
        else:
            param = resolve_name(defn, _text(name))
        if param.name in bound:
            raise binding_error(defn.name, f"Cannot bind parameter because parameter '{param.name}' is specified "
                                "more than once.", "ParameterAlreadyBound", target=param.name)
        bound[param.name] = convert(defn.name, param, value)
    missing = [p.name for p in defn.params if p.mandatory and p.name not in bound
               and not (pipeline_input and p.name == "Identity")]
    if missing:
        raise binding_error(defn.name, "Cannot process command because of one or more missing mandatory parameters: "
                            f"{' '.join(missing)}.", "MissingMandatoryParameter")
    return bound
