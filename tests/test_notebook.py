"""docs/tutorial.ipynb is the tutorial as a notebook, and current (issue: pictures)."""

import importlib.util
import json
import pathlib

import pytest

from test_docs import code_blocks

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def make_notebook():
    # docs/ is not a package: load the script by its path.
    spec = importlib.util.spec_from_file_location("make_notebook", DOCS / "make_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def notebook():
    return json.loads((DOCS / "tutorial.ipynb").read_text(encoding="utf-8"))


def test_notebook_is_current(make_notebook):
    expected = make_notebook.notebook_text((DOCS / "tutorial.md").read_text(encoding="utf-8"))
    assert (DOCS / "tutorial.ipynb").read_text(encoding="utf-8") == expected, (
        "docs/tutorial.ipynb is out of date with docs/tutorial.md; run `python docs/make_notebook.py`."
    )
    assert make_notebook.main(["--check"]) == 0


def test_code_cells_are_the_pages_blocks_in_order(notebook):
    """Read with the docs test's own parser: every runnable block, nothing else."""
    blocks = [
        ("%%bash\n" if language == "bash" else "") + code.rstrip("\n")
        for language, _, code in code_blocks("docs/tutorial.md") if language in ("bash", "python")
    ]
    cells = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert blocks and cells == blocks


def test_no_line_of_the_page_is_lost(notebook):
    text = "\n".join("".join(cell["source"]) for cell in notebook["cells"])
    runnable_fences = {"```bash", "```python"}
    missing = [
        line for line in (DOCS / "tutorial.md").read_text(encoding="utf-8").splitlines()
        if line.strip() and line not in runnable_fences and line != "```" and line not in text
    ]
    assert not missing, f"lines of docs/tutorial.md missing from the notebook: {missing[:5]}"
    assert text.count("](images/") >= 5  # the figures, beside the notebook


def test_notebook_has_the_nbformat_4_structure(notebook):
    assert (notebook["nbformat"], notebook["nbformat_minor"]) == (4, 5)
    assert notebook["metadata"]["kernelspec"]["language"] == "python"
    identifiers = [cell["id"] for cell in notebook["cells"]]
    assert len(set(identifiers)) == len(identifiers)
    for cell in notebook["cells"]:
        assert cell["cell_type"] in ("markdown", "code") and cell["metadata"] == {}
        assert all(line.endswith("\n") for line in cell["source"][:-1])
        assert not cell["source"][-1].endswith("\n")
        if cell["cell_type"] == "code":
            assert cell["execution_count"] is None and cell["outputs"] == []
