"""The dependency rule of docs/architecture.md, read from the code.

Apps depend one way: onepage <- contacts <- emails <- tracking. The few doors
the other way are named here; any other import between apps fails this test
with the file, the line and the rule it breaks. Tests and migrations are not
held to it (tests build data across apps)."""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("onepage", "contacts", "emails", "tracking", "demo")

# What each app may import from each other app: a module prefix, or "*" for
# any module of that app. An app not listed may not be imported at all.
ALLOWED: dict[str, dict[str, tuple[str, ...]]] = {
    "onepage": {},
    "contacts": {"onepage": ("*",), "emails": ("emails.selectors",)},
    "emails": {
        "onepage": ("*",),
        "contacts": ("*",),
        "tracking": ("emails.policy", "emails.pixels", "tracking.reports"),
    },
    "tracking": {"onepage": ("*",), "emails": ("emails.models",), "contacts": ("contacts.models",)},
    # Demo data sits above everything: it may use every app, and none uses it.
    "demo": {"onepage": ("*",), "contacts": ("*",), "emails": ("*",), "tracking": ("*",)},
}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    module: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.module}: {self.rule}"


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _imported_modules(tree: ast.Module, package: str) -> list[tuple[int, str]]:
    """Every module named by an import statement, relative ones made absolute,
    wherever the statement is (function bodies included)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # `from emails import selectors` imports emails.selectors.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def check_source(path: str, source: str) -> list[Violation]:
    """The imports in one file of an app that break the rule."""
    parts = Path(path).with_suffix("").parts
    app = parts[0]
    package = ".".join(parts[:-1]) if parts[-1] != "__init__" else ".".join(parts)
    violations = []
    for line, module in _imported_modules(ast.parse(source), package):
        target = module.split(".")[0]
        if target == app or target not in APPS:
            continue
        allowed = ALLOWED[app].get(target, ())
        if "*" in allowed or any(module == a or module.startswith(a + ".") for a in allowed):
            continue
        doors = ", ".join(allowed) if allowed else "nothing"
        violations.append(Violation(path, line, module, f"{app} may import {doors} of {target}"))
    return violations


def _app_files() -> list[Path]:
    files = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).parts
            if "tests" in relative or "migrations" in relative:
                continue
            files.append(path)
    return files


def test_apps_import_each_other_only_through_the_named_doors():
    violations = []
    for path in _app_files():
        violations += check_source(str(path.relative_to(ROOT)), path.read_text())
    assert not violations, "Imports against docs/architecture.md:\n" + "\n".join(map(str, violations))


def test_the_check_reads_every_app():
    modules = {_module_of(p) for p in _app_files()}
    assert {"onepage.middleware", "contacts.timeline", "emails.sending", "tracking.recording"} <= modules


@pytest.mark.parametrize(
    ("path", "source", "offending"),
    [
        ("onepage/middleware.py", "from emails.models import EmailConfiguration\n", "emails.models.EmailConfiguration"),
        ("onepage/urls.py", "import tracking.views\n", "tracking.views"),
        ("contacts/timeline.py", "from tracking import reports\n", "tracking.reports"),
        ("contacts/views.py", "from emails.models import Email\n", "emails.models.Email"),
        ("tracking/recording.py", "from emails.sending import email_send\n", "emails.sending.email_send"),
        ("emails/views/folders.py", "def f():\n    from tracking.recording import write_opens\n", "tracking.recording"),
        ("tracking/views.py", "from demo.management.commands import seed_demo\n", "demo.management"),
    ],
)
def test_a_forbidden_import_is_reported_with_its_line(path, source, offending):
    (violation,) = check_source(path, source)
    assert violation.module.startswith(offending)
    assert violation.line == source.count("\n", 0, source.index("import")) + 1
    assert str(violation).startswith(f"{path}:{violation.line}: imports ")


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("emails/views/compose.py", "from ..forms import ComposeForm\nfrom tracking import policy\n"),
        ("contacts/timeline.py", "from emails import selectors\nfrom onepage.models import User\n"),
        ("tracking/policy.py", "from contacts.models import Contact\nfrom emails.models import Email\n"),
    ],
)
def test_the_named_doors_and_an_apps_own_modules_pass(path, source):
    assert check_source(path, source) == []
