"""The import rules of architecture.md, checked by parsing every module with ``ast``.

- ``deadlines/workdays.py``, ``deadlines/due_dates.py`` and ``deadlines/lifecycle.py`` are pure:
  the standard library only (and ``deadlines.workdays``, and for lifecycle ``deadlines.due_dates``);
- ``deadlines/time_used.py``: the standard library, ``deadlines.workdays`` and ``deadlines.due_dates``;
- ``deadlines/offdays.py``: the standard library, ``holidays`` and ``deadlines.workdays``;
- nothing under ``deadlines/`` imports ``intake``;
- ``tthc/`` imports the feature packages (``intake``, ``deadlines``) only inside
  ``create_app()`` in ``tthc/__init__.py``, so that ``tthc`` never depends on them at
  import time; the pure deadline modules are the domain's vocabulary, which ``tthc`` may
  import anywhere;
- no module but the writer (``deadlines/store.py``) assigns a derived column of a dossier
  (``dossier.status = ...``, ``setattr(dossier, "deadline_at", ...)``, ``Dossier(status=...)``).

Imports inside functions count as imports (a lazy import is still a dependency);
``importlib.import_module("x")`` and ``__import__("x")`` with a literal name count too.
A failure names every offending ``file:line``.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tthc", "intake", "deadlines")
FEATURE_PACKAGES = ("intake", "deadlines")
PURE_DEADLINE_MODULES = ("deadlines.workdays", "deadlines.due_dates", "deadlines.lifecycle", "deadlines.time_used")
STDLIB = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True)
class Import:
    path: str  # relative to the project root, e.g. "deadlines/workdays.py"
    line: int
    module: str  # absolute dotted name; for ``from a import b``: "a.b"
    functions: tuple[str, ...]  # enclosing function names, outermost first ("" chain at module level)

    @property
    def top(self) -> str:
        return self.module.split(".", 1)[0]

    def where(self) -> str:
        scope = f" (in {'.'.join(self.functions)}())" if self.functions else " (at module level)"
        return f"{self.path}:{self.line}: imports {self.module}{scope}"


def _module_name(rel_path: str) -> tuple[str, bool]:
    """The dotted name of a module file, and whether it is a package ``__init__``."""
    parts = rel_path[:-3].split("/")
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _resolve_from(node: ast.ImportFrom, rel_path: str) -> str:
    if not node.level:
        return node.module or ""
    name, is_package = _module_name(rel_path)
    base = name.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(source: str, rel_path: str) -> list[Import]:
    """Every import of a module's source, with its line and enclosing functions."""
    found: list[Import] = []

    def visit(node: ast.AST, functions: tuple[str, ...]) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(rel_path, node.lineno, alias.name, functions))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(node, rel_path)
            for alias in node.names:
                name = base if alias.name == "*" else f"{base}.{alias.name}" if base else alias.name
                found.append(Import(rel_path, node.lineno, name, functions))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            dynamic = (isinstance(func, ast.Name) and func.id in ("__import__", "import_module")) or (
                isinstance(func, ast.Attribute) and func.attr == "import_module")
            if dynamic:
                found.append(Import(rel_path, node.lineno, node.args[0].value, functions))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions = functions + (node.name,)
        for child in ast.iter_child_nodes(node):
            visit(child, functions)

    visit(ast.parse(source, filename=rel_path), ())
    return sorted(found, key=lambda i: (i.line, i.module))


def project_files() -> list[str]:
    files = []
    for package in PACKAGES:
        files += [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / package).rglob("*.py"))]
    return files


def project_imports() -> list[Import]:
    found: list[Import] = []
    for rel_path in project_files():
        found += imports_of((ROOT / rel_path).read_text("utf-8"), rel_path)
    return found


def _within(module: str, allowed: str) -> bool:
    return module == allowed or module.startswith(allowed + ".")


def only_stdlib_and(*allowed: str):
    def ok(imp: Import) -> bool:
        return imp.top in STDLIB or any(_within(imp.module, a) for a in allowed)

    return ok


# -- the rules, as functions of one module's imports, so that they can be checked on samples too ---------

PURE_MODULES = {
    "deadlines/workdays.py": (only_stdlib_and(), "the standard library only"),
    "deadlines/due_dates.py": (only_stdlib_and("deadlines.workdays"), "the standard library and deadlines.workdays"),
    "deadlines/time_used.py": (only_stdlib_and("deadlines.workdays", "deadlines.due_dates"),
                               "the standard library, deadlines.workdays and deadlines.due_dates"),
    "deadlines/lifecycle.py": (only_stdlib_and("deadlines.workdays", "deadlines.due_dates"),
                               "the standard library, deadlines.workdays and deadlines.due_dates"),
    "deadlines/offdays.py": (only_stdlib_and("holidays", "deadlines.workdays"),
                             "the standard library, holidays and deadlines.workdays"),
}


def purity_violations(imports: list[Import]) -> list[str]:
    out = []
    for imp in imports:
        rule = PURE_MODULES.get(imp.path)
        if rule is not None and not rule[0](imp):
            out.append(f"{imp.where()}: {imp.path} may import {rule[1]}")
    return out


def deadlines_intake_violations(imports: list[Import]) -> list[str]:
    return [f"{imp.where()}: deadlines never imports intake" for imp in imports
            if imp.path.startswith("deadlines/") and imp.top == "intake"]


def tthc_feature_violations(imports: list[Import]) -> list[str]:
    out = []
    for imp in imports:
        if not imp.path.startswith("tthc/") or imp.top not in FEATURE_PACKAGES:
            continue
        if imp.path == "tthc/__init__.py" and imp.functions[:1] == ("create_app",):
            continue
        if any(_within(imp.module, pure) for pure in PURE_DEADLINE_MODULES):
            continue
        out.append(f"{imp.where()}: tthc imports feature packages only inside create_app() in tthc/__init__.py")
    return out


# -- the one writer -------------------------------------------------------------------------------------

WRITER = "deadlines/store.py"
MODEL_CONSTRUCTORS = ("Dossier",)
#: Attributes of other objects that happen to share a derived column's name: (file, "variable.attribute").
NOT_A_DOSSIER = frozenset({("deadlines/scan.py", "run.finished_at")})


def derived_columns() -> frozenset[str]:
    """The derived Dossier columns, as the writer declares them."""
    from deadlines.store import DERIVED_COLUMNS

    return frozenset(DERIVED_COLUMNS)


def derived_assignments(source: str, rel_path: str, columns: frozenset[str]) -> list[str]:
    """Every place in a module's source that assigns one of ``columns`` on an object: attribute
    assignment (also augmented, annotated, or in a tuple), ``setattr(x, "name", ...)`` with a literal
    name, and ``Dossier(name=...)``."""
    found = []

    def targets(node):
        if isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                yield from targets(elt)
        else:
            yield node

    for node in ast.walk(ast.parse(source, filename=rel_path)):
        assigned = []
        if isinstance(node, ast.Assign):
            assigned = [t for target in node.targets for t in targets(target)]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            assigned = [node.target]
        for t in assigned:
            if not isinstance(t, ast.Attribute) or t.attr not in columns:
                continue
            owner = t.value.id if isinstance(t.value, ast.Name) else ""
            if owner == "self" or (rel_path, f"{owner}.{t.attr}") in NOT_A_DOSSIER:
                continue  # an object setting its own attribute (an exception's status) is not a dossier
            found.append(f"{rel_path}:{node.lineno}: assigns .{t.attr}")
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name == "setattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in columns:
                found.append(f"{rel_path}:{node.lineno}: assigns .{node.args[1].value} (setattr)")
            if name in MODEL_CONSTRUCTORS:
                for kw in node.keywords:
                    if kw.arg in columns:
                        found.append(f"{rel_path}:{node.lineno}: assigns .{kw.arg} ({name}(...))")
    return found


def writer_violations(files: list[str], columns: frozenset[str]) -> list[str]:
    out = []
    for rel_path in files:
        if rel_path == WRITER:
            continue
        out += derived_assignments((ROOT / rel_path).read_text("utf-8"), rel_path, columns)
    return out


def _report(violations: list[str]) -> str:
    return "import rule broken:\n  " + "\n  ".join(violations)


# -- the project ---------------------------------------------------------------------------------------


def test_the_checked_packages_and_pure_modules_exist():
    files = project_files()
    for package in PACKAGES:
        assert f"{package}/__init__.py" in files, f"{package}/ not found under {ROOT}"
    for rel_path in PURE_MODULES:
        assert rel_path in files, f"{rel_path} not found: the import rule would check nothing"


def test_every_project_module_parses():
    for rel_path in project_files():
        ast.parse((ROOT / rel_path).read_text("utf-8"), filename=rel_path)


@pytest.mark.parametrize("rel_path", sorted(PURE_MODULES))
def test_pure_deadline_module_imports_only_what_it_is_allowed(rel_path):
    imports = [i for i in project_imports() if i.path == rel_path]
    violations = purity_violations(imports)
    assert not violations, _report(violations)


def test_nothing_under_deadlines_imports_intake():
    violations = deadlines_intake_violations(project_imports())
    assert not violations, _report(violations)


def test_tthc_imports_feature_packages_only_inside_create_app():
    violations = tthc_feature_violations(project_imports())
    assert not violations, _report(violations)


def test_no_module_but_the_writer_assigns_a_derived_column():
    violations = writer_violations(project_files(), derived_columns())
    assert not violations, "only deadlines/store.py (write_life) stores what the events imply:\n  " + \
        "\n  ".join(violations)


def test_the_writer_does_assign_the_derived_columns():
    """Guards the previous test against passing vacuously: the writer's own assignments are found."""
    source = (ROOT / WRITER).read_text("utf-8")
    assert derived_assignments(source, WRITER, derived_columns()) or "setattr(dossier, column" in source
    assert {"status", "deadline_at", "appointment_at", "current_unit_id"} <= derived_columns()


@pytest.mark.parametrize("source, expected", [
    ("d.status = 'x'\n", ["1: assigns .status"]),
    ("a, d.deadline_at = 1, 2\n", ["1: assigns .deadline_at"]),
    ("d.supplement_count += 1\n", ["1: assigns .supplement_count"]),
    ("setattr(d, 'appointment_at', x)\n", ["1: assigns .appointment_at (setattr)"]),
    ("Dossier(code='x', status='received')\n", ["1: assigns .status (Dossier(...))"]),
    ("models.Dossier(current_unit_id=3)\n", ["1: assigns .current_unit_id (Dossier(...))"]),
    ("x = d.status\nd.applicant_name = 'A'\nresponse.headers['status'] = 1\n", []),
    ("setattr(d, name, value)\nUnit(status=1)\nself.status = 404\n", []),
])
def test_the_writer_check_flags_exactly_the_assignments(source, expected):
    found = derived_assignments(source, "intake/x.py", frozenset({"status", "deadline_at", "supplement_count",
                                                                    "appointment_at", "current_unit_id"}))
    assert [f.split(":", 1)[1] for f in found] == expected


def test_create_app_registers_the_feature_packages_lazily():
    """Guards the previous test against passing vacuously: create_app() does import them."""
    inside = [i for i in project_imports() if i.path == "tthc/__init__.py" and i.functions[:1] == ("create_app",)]
    assert {i.top for i in inside} >= set(FEATURE_PACKAGES)


# -- the checker itself, on samples --------------------------------------------------------------------

SAMPLES = [
    # (path, source, rule, expected offending "line: module" or [] when clean)
    ("deadlines/workdays.py", "import re\nfrom datetime import date\nimport calendar as c\n", purity_violations, []),
    ("deadlines/workdays.py", "from __future__ import annotations\nimport flask\n", purity_violations,
     ["2: flask"]),
    ("deadlines/workdays.py", "def f():\n    from sqlalchemy import select\n", purity_violations,
     ["2: sqlalchemy.select"]),
    ("deadlines/workdays.py", "from tthc.clock import now\n", purity_violations, ["1: tthc.clock.now"]),
    ("deadlines/workdays.py", "import importlib\nimportlib.import_module('flask')\n", purity_violations,
     ["2: flask"]),
    ("deadlines/due_dates.py", "from deadlines.workdays import WorkCalendar\nfrom .workdays import OfficeHours\n",
     purity_violations, []),
    ("deadlines/due_dates.py", "from deadlines import offdays\n", purity_violations, ["1: deadlines.offdays"]),
    ("deadlines/due_dates.py", "from . import store\n", purity_violations, ["1: deadlines.store"]),
    ("deadlines/due_dates.py", "import holidays\n", purity_violations, ["1: holidays"]),
    ("deadlines/offdays.py", "import holidays\nfrom deadlines.workdays import WorkCalendar\nimport json\n",
     purity_violations, []),
    ("deadlines/offdays.py", "from deadlines.due_dates import Limit\n", purity_violations,
     ["1: deadlines.due_dates.Limit"]),
    ("deadlines/store.py", "import flask\nfrom tthc.models import Dossier\n", purity_violations, []),
    ("deadlines/scan.py", "def f():\n    from intake.services import x\n", deadlines_intake_violations,
     ["2: intake.services.x"]),
    ("deadlines/views.py", "from tthc import audit\n", deadlines_intake_violations, []),
    ("intake/views.py", "from deadlines.store import refresh_dossier\n", tthc_feature_violations, []),
    ("tthc/__init__.py", "def create_app():\n    from deadlines import views\n    def inner():\n"
                         "        import intake.api\n", tthc_feature_violations, []),
    ("tthc/__init__.py", "from intake import views\n", tthc_feature_violations, ["1: intake.views"]),
    ("tthc/__init__.py", "def helper():\n    from deadlines.workdays import OfficeHours\n",
     tthc_feature_violations, []),
    ("tthc/__init__.py", "def helper():\n    from deadlines.store import calendar_for\n",
     tthc_feature_violations, ["2: deadlines.store.calendar_for"]),
    ("tthc/reports.py", "from deadlines.store import calendar_for\n", tthc_feature_violations,
     ["1: deadlines.store.calendar_for"]),
    ("tthc/models.py", "from deadlines.lifecycle import STATUS_LABELS\nfrom deadlines import due_dates\n",
     tthc_feature_violations, []),
    ("deadlines/lifecycle.py", "from deadlines.due_dates import derive\nfrom deadlines.workdays import W\n",
     purity_violations, []),
    ("deadlines/lifecycle.py", "from tthc.models import Dossier\n", purity_violations, ["1: tthc.models.Dossier"]),
    ("deadlines/lifecycle.py", "from deadlines.store import write_life\n", purity_violations,
     ["1: deadlines.store.write_life"]),
    ("tthc/reports.py", "def create_app():\n    import deadlines\n", tthc_feature_violations, ["2: deadlines"]),
    ("tthc/catalog/services.py", "from ..models import Procedure\nfrom . import views\n", tthc_feature_violations,
     []),
]


@pytest.mark.parametrize("rel_path, source, rule, expected", SAMPLES,
                         ids=[f"{s[0]}:{s[1].splitlines()[-1].strip()}" for s in SAMPLES])
def test_import_checker_flags_exactly_the_offending_lines(rel_path, source, rule, expected):
    violations = rule(imports_of(source, rel_path))
    got = [v.split(": imports ", 1) for v in violations]
    assert [f"{where.rsplit(':', 1)[1]}: {rest.split(' ', 1)[0]}" for where, rest in got] == expected
    for v in violations:
        assert v.startswith(f"{rel_path}:")


def test_relative_imports_resolve_against_the_module_package():
    imports = imports_of("from . import a\nfrom .b import c\nfrom .. import models\n", "tthc/catalog/services.py")
    assert [i.module for i in imports] == ["tthc.catalog.a", "tthc.catalog.b.c", "tthc.models"]
    imports = imports_of("from . import cli\n", "tthc/__init__.py")
    assert [i.module for i in imports] == ["tthc.cli"]
