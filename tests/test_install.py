"""A plain, non-editable ``pip install`` makes reports from any folder: the notebooks and templates
are package data. The venv sees this environment's dependencies through a path file, so only
auditlib itself is installed (``--no-deps``), from a copy of the sources (the checkout stays clean)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"

pytestmark = pytest.mark.skipif(not (SAMPLE / "registry").is_dir(), reason="data/sample not generated")


def run(*args, cwd: Path) -> subprocess.CompletedProcess:
    """The dependencies' data files (nbconvert's base templates) are where this environment keeps them."""
    env = {**os.environ, "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=600, env=env)


def test_a_non_editable_install_reports_from_another_folder_with_the_given_policy(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "auditlib", source / "auditlib", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip())
    (purelib / "_parent_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # dependencies, not auditlib
    installed = run(python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q", source, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    where = run(python, "-c", "import auditlib; print(auditlib.__file__)", cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(purelib), where
    shutil.rmtree(source)  # nothing may be read from the sources

    policy = tmp_path / "policy"
    shutil.copytree(ROOT / "auditlib" / "policy", policy)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ran = run(venv / "bin" / "auditlib", "report", SAMPLE / "messages.csv", "--registry", SAMPLE / "registry",
              "--output", "out", "--jobs", "2", "--partner", "P1004", "--policy", policy / "csp_communication.toml", cwd=elsewhere)
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr and "KeyboardInterrupt" not in ran.stderr
    pages = sorted((elsewhere / "out" / "partners").glob("*.html"))
    assert len(pages) == 1 and (elsewhere / "out" / "index.html").is_file() and (elsewhere / "out" / "overview.html").is_file()
    for notebook in (pages[0].with_suffix(".ipynb"), elsewhere / "out" / "overview.ipynb"):
        parameters = nbformat.read(notebook, as_version=4).metadata["papermill"]["parameters"]
        assert parameters["policy"] == str(policy / "csp_communication.toml")
