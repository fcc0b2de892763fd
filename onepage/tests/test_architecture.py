"""The dependency rule of docs/architecture.md, read from the code.

The apps stand in one order, and each imports only from the apps before it:
no exceptions. Where a lower app's page shows what a higher app provides
(onepage.health, contacts.timeline, emails.reports), the higher app plugs
it in from its AppConfig.ready. Within the project, no two modules import
each other, directly or round a longer circle. Tests and migrations are not
held to it (tests build data across apps)."""

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Lowest first: an app may import the apps before it, never those after.
ORDER = ("onepage", "contacts", "emails", "tracking", "alerts", "privacy", "demo")
APPS = ORDER


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
    """The imports in one file of an app that break the order."""
    parts = Path(path).with_suffix("").parts
    app = parts[0]
    package = ".".join(parts[:-1]) if parts[-1] != "__init__" else ".".join(parts)
    below = ORDER[: ORDER.index(app)]
    violations = []
    for line, module in _imported_modules(ast.parse(source), package):
        target = module.split(".")[0]
        if target == app or target not in APPS or target in below:
            continue
        rule = f"{app} may import {', '.join(below) or 'no app'}; {target} comes after it"
        violations.append(Violation(path, line, module, rule))
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


def test_apps_import_only_the_apps_before_them():
    violations = []
    for path in _app_files():
        violations += check_source(str(path.relative_to(ROOT)), path.read_text())
    assert not violations, "Imports against docs/architecture.md:\n" + "\n".join(map(str, violations))


def test_the_check_reads_every_app():
    modules = {_module_of(p) for p in _app_files()}
    assert {
        "onepage.middleware",
        "contacts.timeline",
        "emails.sending",
        "tracking.writer",
        "privacy.erasure",
    } <= modules


def import_graph(files: list[Path]) -> dict[str, set[str]]:
    """Each project module and the project modules it imports (anywhere in
    it, function bodies included); `from a import b` names the module a.b
    when there is one, else a."""
    modules = {_module_of(p): p for p in files}
    packages = {m.rsplit(".", 1)[0] for m in modules if m.endswith(".__init__")}
    known = set(modules) | packages

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        package = module.rsplit(".", 1)[0] if not module.endswith(".__init__") else module[: -len(".__init__")]
        for _, name in _imported_modules(ast.parse(path.read_text()), package):
            target = resolve(name)
            if target and target != module and not module.startswith(f"{target}."):
                graph[module].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: each group of modules that reach one another."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_round_a_circle():
    assert circles(import_graph(_app_files())) == []


def test_a_circle_of_modules_is_found():
    graph = {"emails.services": {"emails.tasks"}, "emails.tasks": {"emails.sending", "emails.services"}}
    assert circles(graph) == [["emails.services", "emails.tasks"]]


@pytest.mark.parametrize(
    ("path", "source", "offending"),
    [
        ("onepage/middleware.py", "from emails.models import EmailConfiguration\n", "emails.models.EmailConfiguration"),
        ("onepage/urls.py", "import tracking.views\n", "tracking.views"),
        ("contacts/timeline.py", "from emails import selectors\n", "emails.selectors"),
        ("contacts/views.py", "from emails.models import Email\n", "emails.models.Email"),
        (
            "emails/views/folders.py",
            "def f():\n    from tracking.reports import attach_open_reports\n",
            "tracking.reports",
        ),
        ("tracking/writer.py", "from privacy.erasure import contact_erase\n", "privacy.erasure"),
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
        ("emails/views/compose.py", "from ..forms import ComposeForm\nfrom contacts.models import Contact\n"),
        ("tracking/writer.py", "from emails.policy import open_mode\nfrom onepage.models import User\n"),
        ("privacy/erasure.py", "from tracking.erasure import delete_opens\nfrom contacts.models import Contact\n"),
    ],
)
def test_the_apps_before_and_an_apps_own_modules_pass(path, source):
    assert check_source(path, source) == []
