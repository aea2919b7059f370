"""Report notebooks share a worker's kernel, never what a notebook left in it."""
from __future__ import annotations

import nbformat
import papermill as pm
import pytest

from auditlib import kernels


def notebook(path, *sources: str):
    book = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    book.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(book, path)
    return str(path)


def printed(book) -> list[str]:
    return [o["text"].strip() for cell in book.cells for o in cell.get("outputs", []) if o.get("name") == "stdout"]


@pytest.fixture
def engine():
    yield kernels.register_engine()
    kernels.discard_kernel()


def test_the_next_notebook_runs_in_the_same_kernel_with_an_empty_namespace(tmp_path, engine):
    first = pm.execute_notebook(notebook(tmp_path / "a.ipynb", "import os\ncustomer = 'C-of-partner-A'\nprint(os.getpid())"),
                                str(tmp_path / "a.out.ipynb"), engine_name=engine, progress_bar=False)
    second = pm.execute_notebook(notebook(tmp_path / "b.ipynb", "import os\nprint(os.getpid())\nprint('customer' in dir())"),
                                 str(tmp_path / "b.out.ipynb"), engine_name=engine, progress_bar=False)
    (pid,), (same_pid, leaked) = printed(first), printed(second)[0].split("\n")
    assert same_pid == pid
    assert leaked == "False"


def test_a_failed_notebook_leaves_a_kernel_that_still_serves(tmp_path, engine):
    with pytest.raises(pm.PapermillExecutionError):
        pm.execute_notebook(notebook(tmp_path / "bad.ipynb", "x = 1\nraise ValueError('boom')"), str(tmp_path / "bad.out.ipynb"),
                            engine_name=engine, progress_bar=False)
    book = pm.execute_notebook(notebook(tmp_path / "ok.ipynb", "print('x' in dir())"), str(tmp_path / "ok.out.ipynb"),
                               engine_name=engine, progress_bar=False)
    assert printed(book) == ["False"]


def test_a_kernel_that_died_is_replaced(tmp_path, engine):
    with pytest.raises(Exception):
        pm.execute_notebook(notebook(tmp_path / "die.ipynb", "import os\nos._exit(1)"), str(tmp_path / "die.out.ipynb"),
                            engine_name=engine, progress_bar=False)
    book = pm.execute_notebook(notebook(tmp_path / "after.ipynb", "print(6 * 7)"), str(tmp_path / "after.out.ipynb"),
                               engine_name=engine, progress_bar=False)
    assert printed(book) == ["42"]
