"""Issue 11: the house reads read → resolve → classify → decide → summarise → render, with every
file read and write in ``auditlib.io`` and the built-in formats registered in one place."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "auditlib"
STAGES = ("resolve", "domains", "classify", "textfeatures", "textmodel", "decide", "review_decisions", "summarise", "frames", "history")
FILE_CALLS = {"open", "read_text", "write_text", "read_bytes", "write_bytes", "read_csv", "to_csv", "read_parquet",
              "to_parquet", "read_json", "mkdir", "unlink", "savez", "savez_compressed", "makedirs", "listdir", "scandir",
              "rmtree"}  # os may be imported (cpu_count) but not to touch files


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("stage", STAGES)
def test_stages_touch_no_files(stage):
    tree = _tree(PACKAGE / f"{stage}.py")
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.split(".")[0] in ("io", "readers", "pathlib", "shutil")}
    calls = {getattr(n.func, "attr", getattr(n.func, "id", "")) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not calls & FILE_CALLS


def test_formats_are_registered_in_one_place_and_in_order():
    for module in (PACKAGE / "io" / "formats").glob("*.py"):
        if module.name not in ("__init__.py", "base.py"):
            assert "register_format" not in module.read_text(encoding="utf-8"), module
    from auditlib.io.formats import FORMATS, register_builtin_formats

    before = list(FORMATS)
    register_builtin_formats()
    assert list(FORMATS) == before and before[:3] == ["csv", "parquet", "jsonl"]


@pytest.mark.parametrize("module", ["auditlib.io.formats", "auditlib.io.log", "auditlib.io.registry_files", "auditlib.registry",
                                    "auditlib.io.manifest", "auditlib.readers", "auditlib.report", "auditlib.engines",
                                    "auditlib.io.previous", "auditlib.whatif", "auditlib.notify",
                                    "auditlib.io.decisions", "auditlib.review"])
def test_every_module_imports_first_without_a_cycle(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
