"""The import rules of ARCHITECTURE.md, read from the source.

core/ never imports Qt, pyqtgraph, widgets/ or lab/; widgets/ imports neither core/,
torch nor lab/; no import circles (imports inside functions count); a lab imports no
other lab, only shared modules; no private name crosses a module boundary.
"""

import ast
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "widgets", "lab", "assets")
LABS = ("network", "images", "optimizer_race", "activations", "initialization", "augmentation", "convolution", "bias_variance")
FORBIDDEN = {
    "core": {"PySide6", "PyQt5", "PyQt6", "pyqtgraph", "superqt", "qtpy", "widgets", "lab"},
    "widgets": {"lab", "core", "torch", "torchvision"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def project_modules() -> dict[str, Path]:
    """Every module of the application packages, by dotted name."""
    return {module_name(p): p for pkg in PACKAGES if (ROOT / pkg).is_dir() for p in sorted((ROOT / pkg).rglob("*.py"))}


@dataclass(frozen=True)
class Import:
    """One imported name: `import module [as asname]` or `from module import name [as asname]`."""

    line: int
    module: str  # relative imports resolved
    name: str | None
    asname: str | None


def imports_of(path: Path, tree: ast.AST | None = None):
    """Every import statement in the file, those inside functions included."""
    tree = tree or ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(node.lineno, alias.name, None, alias.asname)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            for alias in node.names:
                yield Import(node.lineno, module, alias.name, alias.asname)


def imported_project_module(imp: Import) -> str | None:
    """The project module an import loads by name (`from pkg import mod` names mod)."""
    modules = project_modules()
    if imp.name is not None and f"{imp.module}.{imp.name}" in modules:
        return f"{imp.module}.{imp.name}"
    return imp.module if imp.module in modules else None


@cache
def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported project module: line of the first import}."""
    graph = {}
    for name, path in project_modules().items():
        edges = {}
        for imp in imports_of(path):
            target = imported_project_module(imp)
            if target is not None and target != name:
                edges.setdefault(target, imp.line)
        graph[name] = edges
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; the components of more than one module."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(graph[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def lab_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "core" and parts[1] in LABS:
        return parts[1]
    if len(parts) >= 3 and parts[:2] == ["lab", "tabs"] and parts[2] in LABS:
        return parts[2]
    return None


def lab_import_allowed(importer: str, target: str) -> bool:
    """A lab's modules import their own packages, shared core, and (on the Qt side)
    widgets/ and the shared lab modules; never another lab."""
    lab = lab_of(importer)
    if target.split(".")[0] == "assets":
        return True
    if importer.startswith("core."):
        return lab_of(target) in (None, lab) and target.startswith("core")
    target_lab = lab_of(target)
    return target_lab is None or target_lab == lab


# ---------------------------------------------------------------------------- layers


def top_level_imports(path: Path):
    for imp in imports_of(path):
        if imp.module:
            yield imp.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down_only(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = set(top_level_imports(path)) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert not offenders, "\n".join(offenders)


def test_core_imports_without_qt_at_runtime():
    modules = sorted(name for name in project_modules() if name.split(".")[0] == "core")
    assert "core.datasets.images" in modules and "core.bias_variance.fit" in modules  # the walk reaches sub-packages
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'superqt', 'widgets', 'lab')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# ---------------------------------------------------------------------------- graph


def test_relative_and_from_package_imports_resolve():
    """The graph sees `from . import mod`, `from ..pkg.mod import name`, `from pkg import mod`
    and `import pkg.mod`, inside functions too; imports from outside the project are not edges."""
    source = (
        "import numpy\n"
        "def f():\n"
        "    from . import mix\n"
        "    from ..datasets.images import load\n"
        "    from core.engine import RunControl\n"
        "    from core import transforms\n"
        "    import core.devices\n"
    )
    path = ROOT / "core" / "augmentation" / "draws.py"
    found = {imported_project_module(imp) for imp in imports_of(path, ast.parse(source))}
    assert found == {None, "core.augmentation.mix", "core.datasets.images", "core.engine", "core.transforms", "core.devices"}


def test_circle_finder_finds_a_circle():
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def test_no_import_circles():
    graph = import_graph()
    circles = []
    for component in strongly_connected(graph):
        members = set(component)
        edges = [f"  {m} -> {t} (line {line})" for m in component for t, line in sorted(graph[m].items()) if t in members]
        circles.append(" <-> ".join(component) + "\n" + "\n".join(edges))
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_no_lab_imports_another_lab():
    offenders = []
    for importer, edges in import_graph().items():
        for target, line in sorted(edges.items()):
            if lab_of(importer) is not None and not lab_import_allowed(importer, target):
                offenders.append(f"{project_modules()[importer].relative_to(ROOT)}:{line} imports {target}")
    assert not offenders, "\n".join(offenders)


def test_shared_modules_import_no_lab():
    """Shared modules stay below every lab: none imports a lab's package (the main window
    knows the labs only through the registry's module names), so adding a lab touches
    one line outside its own packages."""
    offenders = []
    for importer, edges in import_graph().items():
        if lab_of(importer) is None:
            offenders += [f"{importer} imports {t}" for t in sorted(edges) if lab_of(t) is not None]
    assert not offenders, "\n".join(offenders)


def test_lab_rule_judges_examples():
    assert lab_import_allowed("lab.tabs.images.tab", "core.images.training")
    assert lab_import_allowed("lab.tabs.images.tab", "lab.tabs.training_form")
    assert lab_import_allowed("lab.tabs.images.tab", "widgets.live_plot")
    assert lab_import_allowed("core.images.training", "core.datasets.images")
    assert not lab_import_allowed("lab.tabs.images.tab", "core.network.model")
    assert not lab_import_allowed("lab.tabs.images.tab", "lab.tabs.network.layers")
    assert not lab_import_allowed("core.images.training", "core.network.model")
    assert not lab_import_allowed("core.images.training", "widgets.live_plot")


# ---------------------------------------------------------------------------- private names


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_names_crossing(path: Path, tree: ast.AST | None = None) -> list[str]:
    """`from X import _name`, and `X._name` where X is a project module, or a class or
    function of one, bound by an import."""
    tree = tree or ast.parse(path.read_text(encoding="utf-8"))
    modules = project_modules()
    found = []
    bound = {}  # local name -> the project module, or module.name, it denotes
    for imp in imports_of(path, tree):
        if imp.name is None:  # `import a.b` binds a; `import a.b as x` binds x to a.b
            target = imp.module if imp.asname else imp.module.split(".")[0]
            if target in modules:
                bound[imp.asname or target] = target
        elif imp.module in modules:
            if is_private(imp.name):
                found.append(f"line {imp.line}: from {imp.module} import {imp.name}")
            else:  # a sub-module, or a class or function of the module: both are theirs
                bound[imp.asname or imp.name] = f"{imp.module}.{imp.name}"

    def project_name_denoted(expr) -> str | None:
        if isinstance(expr, ast.Name):
            return bound.get(expr.id)
        if isinstance(expr, ast.Attribute):
            outer = project_name_denoted(expr.value)
            if outer and f"{outer}.{expr.attr}" in modules:
                return f"{outer}.{expr.attr}"
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = project_name_denoted(node.value)
            if owner is not None:
                found.append(f"line {node.lineno}: {owner}.{node.attr}")
    return found


def test_private_name_finder_finds_both_kinds():
    source = (
        "import core.transforms\n"
        "import core.engine as eng\n"
        "from core.datasets import images\n"
        "from core.augmentation.draws import _hidden, public\n"
        "from widgets.param_form import NumberField as Field\n"
        "def f():\n"
        "    Field._check(1)\n"
        "    core.transforms._make()\n"
        "    eng._clock\n"
        "    images._cache\n"
        "    images.__name__\n"
        "    public().attribute._fine_on_an_object\n"
    )
    found = private_names_crossing(ROOT / "lab" / "example.py", ast.parse(source))
    assert sorted(f.split(": ")[1] for f in found) == [
        "core.datasets.images._cache",
        "core.engine._clock",
        "core.transforms._make",
        "from core.augmentation.draws import _hidden",
        "widgets.param_form.NumberField._check",
    ]


def source_files():
    for top in (*PACKAGES, "tests"):
        if (ROOT / top).is_dir():
            yield from sorted((ROOT / top).rglob("*.py"))


def test_no_private_name_crosses_a_module():
    offenders = []
    for path in source_files():
        offenders += [f"{path.relative_to(ROOT)} {finding}" for finding in private_names_crossing(path)]
    assert not offenders, "\n".join(offenders)
