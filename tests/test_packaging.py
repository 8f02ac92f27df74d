"""The wheel ships the grammar and the parser's tables inside the package, built the way pip
builds it (sdist, then a wheel from the sdist)."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_the_grammar_and_the_parser_tables(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("gradcli-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "gradcli/grammars/gradcli.lark" in names
    # grad example logistic's data set
    shipped = zipfile.ZipFile(wheel).read("gradcli/data/logistic.csv").decode()
    assert shipped == (ROOT / "gradcli" / "data" / "logistic.csv").read_text()
    assert not any(n.startswith(("grammars/", "tests/")) for n in names)
    packaged = zipfile.ZipFile(wheel).read("gradcli/grammars/gradcli.lark").decode()
    assert packaged == (ROOT / "grammars" / "gradcli.lark").read_text()
    tables = zipfile.ZipFile(wheel).read("gradcli/core/lalr_tables.py").decode()
    assert tables == (ROOT / "gradcli" / "core" / "lalr_tables.py").read_text()
    metadata = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        .decode()
    )
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    # Lark only makes the tables: an installed gradcli does not need it
    assert all("extra ==" in line for line in requires if "lark" in line), requires
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "grad = gradcli.start:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_package_finds_its_grammar_outside_the_checkout(tmp_path):
    code = "from gradcli.core.syntax import grammar_text; print(len(grammar_text()))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 100
