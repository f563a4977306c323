"""
The house's arrows (design card): scim → accounts, scim → provisioning_logs, provisioning_logs →
accounts, and nothing back; no import circle between modules, inside an app or across apps. Data-
level dependencies count like imports: a string foreign key ("app.Model") and apps.get_model("app",
…) point at that app's models. Function-local imports count too: they only hide a circle.
"""

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest
from django.apps import apps


ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "scim", "provisioning_logs")
ALLOWED = {("scim", "accounts"), ("scim", "provisioning_logs"), ("provisioning_logs", "accounts")}
RELATION_FIELDS = ("ForeignKey", "OneToOneField", "ManyToManyField")


def _modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:  # the recorded history, not the code's dependencies
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _models_module(app_label: str) -> str:
    """Where an app's models live: a model's own module (accounts keeps some in a package)."""
    return f"{apps.get_app_config(app_label).name}.models"


def _targets(node, module: str, package: str, modules: dict) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(parts + ([base] if base else []))
        return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        strings = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if name == "get_model" and strings:
            return [_model_module(".".join(strings[:2]) if "." not in strings[0] else strings[0])]
        if name in RELATION_FIELDS and strings and re.fullmatch(r"\w+\.\w+", strings[0]):
            return [_model_module(strings[0])]
    return []


def _model_module(reference: str) -> str:
    app_label, _, model_name = reference.partition(".")
    try:
        return apps.get_model(app_label, model_name).__module__
    except (LookupError, ValueError):
        return _models_module(app_label)


def import_graph() -> dict[str, set[str]]:
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = defaultdict(set)
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            for target in _targets(node, module, package, modules):
                resolved = owner(target)
                if resolved and resolved != module:
                    graph[module].add(resolved)
    return graph


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_no_import_circle_between_modules(graph):
    assert _cycles(graph) == []


def test_apps_import_each_other_only_along_the_allowed_arrows(graph):
    crossings = {
        (source.split(".")[0], target.split(".")[0], source, target)
        for source, targets in graph.items()
        for target in targets
        if source.split(".")[0] != target.split(".")[0]
    }
    assert sorted(c for c in crossings if (c[0], c[1]) not in ALLOWED) == []


def test_graph_sees_string_foreign_keys_and_get_model(tmp_path):
    """The detector itself: a data-level reference is an arrow (so the tests above can fail)."""
    tree = ast.parse(
        'models.ForeignKey("provisioning_logs.ProvisioningEvent", on_delete=models.CASCADE)\n'
        'apps.get_model("scim", "Anything")\n'
    )
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and node.args]
    targets = [t for call in calls for t in _targets(call, "accounts.x", "accounts", {})]
    assert targets == ["provisioning_logs.models", "scim.models"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
