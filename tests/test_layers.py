"""The core has no UI: importing it loads neither rich nor typer."""

import subprocess
import sys

CORE = ["errors", "ops", "graph", "syntax", "engine", "numeric", "jsonout", "compiled",
        "descend", "optimizers", "descend_run", "request", "explain", "diagnostics", "examples",
        "dot", "files", "streams", "sample"]


def test_core_imports_no_ui_library():
    code = (
        "import sys\n"
        + "".join(f"import gradcli.{m}\n" for m in CORE)
        + "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'typer')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_print_in_the_core_and_no_eval_anywhere():
    import re
    from pathlib import Path

    import gradcli

    package = Path(gradcli.__file__).parent
    for module in CORE:
        assert not re.search(r"\bprint\(", (package / f"{module}.py").read_text()), module
    for path in package.glob("*.py"):
        if path.name == "compiled.py":  # runs code generated from the op table only
            continue
        assert not re.search(r"\b(eval|exec)\(", path.read_text()), path.name
