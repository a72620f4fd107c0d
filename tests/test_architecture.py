"""Dependencies point one way (docs/architecture.md): a package imports only the layers beneath it.

Read from the source with ``ast``, so an import inside a function counts as much as one at the top.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EDGE, SIMULATOR = "easconsole.exchange", "easconsole.exchange.simulator"

# Each layer and the layers it may import. Anything not listed (Django, pypsrp, ...) is free.
ALLOWED = {
    SIMULATOR: set(),  # a plain Python package: no Django, no console
    EDGE: set(),  # the only code that talks to Exchange; it knows nothing of the console
    "easconsole": {EDGE, SIMULATOR},  # the project package: what the apps build on
    "devices": {"easconsole", EDGE},
    "policies": {"easconsole", EDGE, "devices"},
    "devices.reports": {"easconsole", EDGE, "devices", "policies"},  # reports read inventory and settings
    "catalog": {"easconsole", "devices"},
}


def layer(module: str) -> str | None:
    """The layer a dotted module name belongs to (the longest listed prefix)."""
    matches = [name for name in ALLOWED if module == name or module.startswith(name + ".")]
    return max(matches, key=len) if matches else None


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, relative imports resolved."""
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [module] if node.module else [f"{module}.{alias.name}" for alias in node.names]
            found += [(node.lineno, name) for name in names]
    return found


def violations(root: Path = ROOT) -> list[str]:
    found = []
    for top in ("easconsole", "devices", "policies", "catalog"):
        for path in sorted((root / top).rglob("*.py")):
            if "migrations" in path.parts:  # migrations name other apps' migrations, as Django requires
                continue
            source = layer(module_name(path, root))
            for line, module in imported(path, root):
                target = layer(module)
                if target and target != source and target not in ALLOWED[source]:
                    found.append(f"{path.relative_to(root)}:{line} ({source}) imports {module} ({target})")
    return found


def test_every_import_points_down():
    assert violations() == []


def test_the_layers_have_no_cycle():
    """The allowed graph itself is acyclic, so following the rule can never build an import circle."""
    visiting, done = set(), set()

    def visit(name: str) -> None:
        assert name not in visiting, f"cycle through {name}"
        if name in done:
            return
        visiting.add(name)
        for below in ALLOWED[name]:
            visit(below)
        visiting.discard(name)
        done.add(name)

    for name in ALLOWED:
        visit(name)


def test_a_wrong_import_is_caught(tmp_path):
    """The check finds upward imports: the project package reaching into an app, the edge into the console."""
    (tmp_path / "easconsole" / "exchange").mkdir(parents=True)
    (tmp_path / "easconsole" / "views.py").write_text("def f():\n    from devices.models import Device\n")
    (tmp_path / "easconsole" / "exchange" / "gateway.py").write_text("from .. import audit\nfrom . import errors\n")
    assert violations(tmp_path) == [
        "easconsole/exchange/gateway.py:1 (easconsole.exchange) imports easconsole.audit (easconsole)",
        "easconsole/views.py:2 (easconsole) imports devices.models (devices)",
    ]
