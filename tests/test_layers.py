"""The layers: gradcli/core (no UI), gradcli/output (renderers and the file writer) and
gradcli/cli (the front ends). Imports only point down that stack, nothing imports in a
cycle, and the core neither prints nor loads a UI library."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import gradcli

PACKAGE = Path(gradcli.__file__).parent
RANK = {"core": 0, "output": 1, "cli": 2}  # imports go to an equal or lower rank
UI_LIBRARIES = {"rich", "typer", "click", "prompt_toolkit"}


def _modules() -> dict[str, Path]:
    """Dotted module name (without the 'gradcli.' prefix) -> file."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer(module: str) -> str | None:
    head = module.split(".")[0]
    return head if head in RANK and "." in module else None


def _imports(module: str, path: Path) -> tuple[set[str], set[str]]:
    """(gradcli modules, top-level outside packages) imported anywhere in the file, function
    bodies included: a lazy import is still a dependency."""
    is_package = path.name == "__init__.py"
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    inside, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("gradcli."):
                    inside.add(alias.name.removeprefix("gradcli."))
                else:
                    outside.add(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == "gradcli" or node.module.startswith("gradcli.")):
                target = node.module.removeprefix("gradcli").lstrip(".")
            else:
                outside.add((node.module or "").split(".")[0])
                continue
            for alias in node.names:  # `from . import render` names a module
                candidate = f"{target}.{alias.name}" if target else alias.name
                inside.add(candidate if candidate in MODULES else target)
    inside.discard("")
    return inside, outside


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def test_every_module_lives_in_a_layer():
    top_level = {m for m in MODULES if "." not in m and m not in RANK and m}
    assert top_level <= {"start", "__main__"}, top_level


def test_imports_only_go_down():
    wrong = []
    for module, (inside, _) in GRAPH.items():
        layer = _layer(module)
        if layer is None:
            continue
        for target in inside:
            target_layer = _layer(target)
            if target_layer is not None and RANK[target_layer] > RANK[layer]:
                wrong.append(f"{module} -> {target}")
    assert wrong == [], "\n".join(wrong)


def test_no_import_cycle():
    edges = {m: {t for t in inside if t in MODULES and t != m} for m, (inside, _) in GRAPH.items()}
    # Packages' __init__ files are empty or docstrings; they are not part of any cycle.
    state: dict[str, int] = {}
    cycles = []
    for start in edges:  # iterative depth-first search
        if state.get(start):
            continue
        stack = [(start, iter(sorted(edges[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:
                cycles.append(path[path.index(child) :] + [child])
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(edges[child]))))
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_the_core_imports_no_ui_library_even_lazily():
    for module, (_, outside) in GRAPH.items():
        if _layer(module) == "core":
            assert not (outside & UI_LIBRARIES), module


def test_importing_the_core_loads_no_ui_library():
    core = [m for m in MODULES if _layer(m) == "core"]
    code = (
        "import sys\n"
        + "".join(f"import gradcli.{m}\n" for m in core)
        + "print(sorted({m.split('.')[0] for m in sys.modules} & "
        + repr(UI_LIBRARIES)
        + "))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_print_in_the_core_and_no_eval_anywhere():
    for module, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if _layer(module) == "core":
            assert not re.search(r"\bprint\(", text), module
        if path.name == "compiled.py":  # runs code generated from the op table only
            continue
        assert not re.search(r"\b(eval|exec)\(", text), module
