"""The package's layering, checked from its source (no import of the package, no browser).

Each module lives in a layer package with a rank; a module may import only its own package or a
package of strictly lower rank, so `content` and `collab` (both 1) may not import each other, nor
may `persist` and `tunnel` (both 2). `jupyterspot_magic/__init__.py` is the public API and may
import anything. Imports inside functions and under `if TYPE_CHECKING:` count: a lazy import is
still a dependency. No module uses another module's private names, neither by
`from .x import _name` nor by `x._name` on an imported module of the package.

Run on its own (prints the violations, exits 1 on any): python tests/unit/test_layers.py
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "jupyterspot_magic"

# The layers, lowest first (docs/architecture.md has the table with each package's job).
RANKS: dict[str, int] = {
    "base": 0,
    "content": 1,
    "collab": 1,
    "persist": 2,
    "tunnel": 2,
    "server": 3,
    "session": 4,
    "frontends": 5,
}
TOP = "<top>"  # the package's own __init__.py: above every layer


@dataclass(frozen=True)
class Module:
    name: str  # dotted: jupyterspot_magic.server.app
    path: Path
    is_package: bool  # an __init__.py: its relative imports resolve against itself

    @property
    def layer(self) -> str:
        return layer_of(self.name)


def modules_of(package_dir: Path) -> dict[str, Module]:
    """Every module of the package by dotted name (packages by their own name)."""
    root = package_dir.name
    found: dict[str, Module] = {}
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir).with_suffix("")
        parts = [root, *rel.parts]
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = Module(".".join(parts), path, is_package)
    return found


def layer_of(dotted: str) -> str:
    parts = dotted.split(".")
    return TOP if len(parts) == 1 else parts[1]


def resolve_from(module: Module, node: ast.ImportFrom) -> str | None:
    """The dotted module an ImportFrom reads from, or None when it is outside the package."""
    if node.level == 0:
        return node.module
    base = module.name.split(".")
    if not module.is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    if not base:
        return None
    return ".".join([*base, node.module] if node.module else base)


class _Checker(ast.NodeVisitor):
    def __init__(self, module: Module, modules: dict[str, Module], root: str, shown: str) -> None:
        self.module = module
        self.modules = modules
        self.root = root
        self.shown = shown  # the file as printed in a violation
        self.bound: dict[str, str] = {}  # local name -> dotted package module it is bound to
        self.problems: list[str] = []

    def report(self, node: ast.AST, what: str) -> None:
        self.problems.append(f"{self.shown}:{getattr(node, 'lineno', 1)}: {what}")

    def in_package(self, dotted: str | None) -> bool:
        return dotted is not None and (dotted == self.root or dotted.startswith(self.root + "."))

    def check_target(self, node: ast.AST, target: str) -> None:
        """The rank rule for one imported module of the package."""
        here = self.module.layer
        there = layer_of(target)
        if here == TOP or there == here or here not in RANKS:
            return  # a module in no layer is reported once, by check()
        if there == TOP:
            self.report(node, f"{here} imports the package's public API {target}")
            return
        if there not in RANKS:
            self.report(node, f"{here} imports {target}, which is in no layer package")
            return
        if RANKS[there] >= RANKS[here]:
            self.report(
                node,
                f"{here} (rank {RANKS[here]}) imports {target} "
                f"({there}, rank {RANKS[there]}): not a lower layer",
            )

    def bind(self, node: ast.Import | ast.ImportFrom) -> None:
        """Remember the local names this import binds to modules of the package."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not self.in_package(alias.name):
                    continue
                if alias.asname:
                    self.bound[alias.asname] = alias.name
                else:  # `import pkg.a.b` binds `pkg`; attribute chains are followed from there
                    self.bound[alias.name.split(".")[0]] = self.root
            return
        source = resolve_from(self.module, node)
        if not self.in_package(source):
            return
        for alias in node.names:
            if f"{source}.{alias.name}" in self.modules:
                self.bound[alias.asname or alias.name] = f"{source}.{alias.name}"

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if self.in_package(alias.name):
                self.check_target(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = resolve_from(self.module, node)
        if not self.in_package(source):
            return
        assert source is not None
        targets: set[str] = set()
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            is_module = submodule in self.modules
            target = submodule if is_module else source
            if target not in targets:
                targets.add(target)
                self.check_target(node, target)
            private = alias.name.startswith("_") and not alias.name.endswith("__")
            # A private submodule (`from . import _impl`) is its own package's business.
            own_submodule = is_module and layer_of(submodule) == self.module.layer
            if private and target != self.module.name and not own_submodule:
                self.report(node, f"imports private {alias.name} from {source}")

    def dotted(self, node: ast.expr) -> str | None:
        """`R` or `R.a.b` as the dotted package name it denotes, if R is a bound package module."""
        if isinstance(node, ast.Name):
            return self.bound.get(node.id)
        if isinstance(node, ast.Attribute):
            head = self.dotted(node.value)
            return f"{head}.{node.attr}" if head else None
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        owner = self.dotted(node.value)
        private = node.attr.startswith("_") and not node.attr.endswith("__")
        if private and owner in self.modules and owner != self.module.name:
            self.report(node, f"uses private {owner}.{node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        """Imports spelled as calls: `importlib.import_module("pkg.x")`, `__import__("pkg.x")`
        (checked like an import; a name that is not a literal cannot be checked, so it is
        reported), and `getattr(mod, "_x")` on a module of the package (a private name)."""
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        first = node.args[0] if node.args else None
        literal = first.value if isinstance(first, ast.Constant) else None
        if name in ("import_module", "__import__") and first is not None:
            if not isinstance(literal, str):
                self.report(node, f"{name}() of a computed name: the layers cannot be checked")
            elif self.in_package(literal):
                self.check_target(node, literal)
        if name == "getattr" and len(node.args) >= 2:
            owner = self.dotted(node.args[0])
            attr = node.args[1].value if isinstance(node.args[1], ast.Constant) else None
            if owner in self.modules and owner != self.module.name:
                if not isinstance(attr, str):
                    self.report(node, f"getattr on {owner} with a computed name")
                elif attr.startswith("_") and not attr.endswith("__"):
                    self.report(node, f"uses private {owner}.{attr}")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        """`sys.modules["pkg.x"]` reaches a module as an import would."""
        value, key = node.value, node.slice
        if (
            isinstance(value, ast.Attribute)
            and value.attr == "modules"
            and isinstance(key, ast.Constant)
            and isinstance(key.value, str)
            and self.in_package(key.value)
        ):
            self.check_target(node, key.value)
        self.generic_visit(node)


def check(package_dir: Path, shown_from: Path | None = None) -> list[str]:
    """Every violation under package_dir as `file:line: what`."""
    modules = modules_of(package_dir)
    shown_from = shown_from or package_dir.parent
    problems: list[str] = []
    for module in modules.values():
        tree = ast.parse(module.path.read_text(), filename=str(module.path))
        shown = str(module.path.relative_to(shown_from))
        checker = _Checker(module, modules, package_dir.name, shown)
        if module.layer != TOP and module.layer not in RANKS:
            checker.report(tree, f"{module.name} is in no layer package {sorted(RANKS)}")
        # Bindings first: a function may use a module that an import further down binds.
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                checker.bind(node)
        checker.visit(tree)
        problems.extend(checker.problems)
    return problems


def test_no_upward_import_and_no_private_name_across_modules() -> None:
    problems = check(PACKAGE_DIR)
    assert not problems, f"{len(problems)} layering violation(s):\n" + "\n".join(problems)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_check_reports_what_it_forbids(tmp_path: Path) -> None:
    """A synthetic tree with one of each fault: the check must name every one (it cannot pass by
    seeing nothing), and must not flag what the rule allows."""
    pkg = tmp_path / "jupyterspot_magic"
    _write(
        pkg,
        {
            "__init__.py": "from .frontends import cli\n",  # the public API: imports anything
            "base/__init__.py": "",
            "base/text.py": "def _helper(): pass\n",
            "content/__init__.py": "",
            "content/render.py": "from ..base import text\nfrom . import live\n",
            "content/live.py": (
                "def f():\n    from ..server.app import serve\n"  # upward, lazy
                "from ..collab import room\n"  # same rank, other package
            ),
            "collab/__init__.py": "",
            "collab/room.py": "from ..base.text import _helper\n",  # private across modules
            "server/__init__.py": "from .app import serve, _shared\n",  # private, own package
            "server/app.py": (
                "import jupyterspot_magic.content.render as R\n"
                "from ..base import text\n"
                "_shared = 1\n"
                "def g():\n    return R._read(text._helper)\n"  # two private attribute uses
            ),
            "frontends/__init__.py": "",
            "frontends/cli.py": "from jupyterspot_magic.server import app\nfrom .. import base\n",
            "loose.py": "",  # a module in no layer
            "base/dyn.py": (
                "import importlib, sys\n"
                "importlib.import_module('jupyterspot_magic.session.share')\n"  # upward
                "__import__(NAME)\n"  # computed: cannot be checked
                "sys.modules['jupyterspot_magic.frontends.cli']\n"  # upward
            ),
            "persist/__init__.py": "",
            "persist/keep.py": "from ..base import text\ngetattr(text, '_helper')\n",
        },
    )
    problems = check(pkg)
    expected = [  # (file:line under jupyterspot_magic/, what is reported)
        ("content/live.py:2", "content (rank 1) imports jupyterspot_magic.server"),
        ("content/live.py:3", "content (rank 1) imports jupyterspot_magic.collab"),
        ("collab/room.py:1", "imports private _helper"),
        ("server/app.py:5", "uses private jupyterspot_magic.content.render._read"),
        ("server/app.py:5", "uses private jupyterspot_magic.base.text._helper"),
        ("server/__init__.py:1", "imports private _shared"),
        ("loose.py:1", "jupyterspot_magic.loose is in no layer package"),
        ("base/dyn.py:2", "base (rank 0) imports jupyterspot_magic.session"),
        ("base/dyn.py:3", "__import__() of a computed name"),
        ("base/dyn.py:4", "base (rank 0) imports jupyterspot_magic.frontends"),
        ("persist/keep.py:2", "uses private jupyterspot_magic.base.text._helper"),
    ]
    for where, what in expected:
        at = f"jupyterspot_magic/{where}:"
        assert any(p.startswith(at) and what in p for p in problems), (where, what, problems)
    assert len(problems) == len(expected), problems


if __name__ == "__main__":
    found = check(PACKAGE_DIR)
    print("\n".join(found) or "no layering violations")
    sys.exit(1 if found else 0)
