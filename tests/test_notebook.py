"""docs/tutorial.ipynb is the tutorial as a notebook, current, and it runs
top to bottom (reduced to the tiny data set, as tests/test_docs.py runs the
page) with quiet cells and figures inline."""

import base64
import importlib.util
import json
import os
import pathlib
import re
import shlex

import nbclient
import nbformat
import pytest
from docs_blocks import code_blocks, scaled_down, simple_commands

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
    install, *cells = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert blocks and cells == blocks
    assert install.startswith("# Where to install mtfcdd from") and 'MTFCDD_SOURCE = ""' in install


def test_no_line_of_the_page_is_lost(notebook):
    text = "\n".join("".join(cell["source"]) for cell in notebook["cells"])
    runnable_fences = {"```bash", "```python"}
    page = (DOCS / "tutorial.md").read_text(encoding="utf-8").replace("](images/", "](attachment:")
    missing = [
        line for line in page.splitlines()
        if line.strip() and line not in runnable_fences and line != "```" and line not in text
    ]
    assert not missing, f"lines of docs/tutorial.md missing from the notebook: {missing[:5]}"
    # The figures travel inside the notebook, byte for byte.
    attachments = {
        name: content["image/png"] for cell in notebook["cells"] for name, content in cell.get("attachments", {}).items()
    }
    assert len(attachments) >= 5 and "](images/" not in text
    for name, encoded in attachments.items():
        assert f"](attachment:{name})" in text
        assert base64.b64decode(encoded) == (DOCS / "images" / name).read_bytes()


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


@pytest.mark.slow
@pytest.mark.docs
def test_the_notebook_runs_quietly_with_figures_inline(notebook, tmp_path):
    """Every cell, in order, in a fresh kernel, on the tiny data set.

    The only run of docs/tutorial.md's blocks (tests/test_docs.py leaves
    them to this test), so it fails rather than skips without nbclient.
    The first ``%%bash`` cell runs in bash, as a reader's does (the
    ``mtfcdd`` console script on the kernel's PATH); the later ones made of
    plain ``mtfcdd`` commands call the console script's entry point in the
    kernel (``in_kernel``), as tests/test_docs.py runs the pages' commands,
    sparing a TensorFlow start-up per command.
    """
    reduced = nbformat.from_dict(json.loads(json.dumps(notebook)))
    bash_cells = 0
    for cell in reduced.cells:
        if cell.cell_type == "code":
            cell.source = scaled_down("".join(cell.source))
            if cell.source.startswith("%%bash\n"):
                bash_cells += 1
                if bash_cells > 1:
                    cell.source = in_kernel(cell.source)
    folder = tmp_path / "docs"
    folder.mkdir()
    client = nbclient.NotebookClient(
        reduced, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    outputs = [cell.outputs for cell in reduced.cells if cell.cell_type == "code"]
    # The install cell found the mtfcdd under test, and installed nothing.
    assert "mtfcdd " in _text(outputs[0]) and os.path.dirname(__import__("mtfcdd").__file__) in _text(outputs[0])
    for cell_outputs in outputs:
        text = _text(cell_outputs)
        # Quiet: a table may be long, but no progress bar floods a cell
        # (off a terminal each bar writes a line every ten seconds), and no
        # line per image.
        progress_lines = [line for line in text.splitlines() if re.search(r"\d+/\d+ \[[=>.]+\]", line)]
        assert len(progress_lines) <= 12 and len(text.splitlines()) <= 150, text[:3000]
        assert "\x1b[" not in text  # no terminal escape codes
    figures = [output for cell_outputs in outputs for output in cell_outputs if "image/png" in output.get("data", {})]
    assert figures, "no cell shows a figure inline"
    assert os.path.exists(folder / "runs" / "course" / "model_int8.tflite")


def in_kernel(bash_cell):
    """The Python that runs a ``%%bash`` cell of plain ``mtfcdd`` commands
    through ``mtfcdd.cli.main``, what the console script calls; other cells unchanged."""
    commands = simple_commands(bash_cell.removeprefix("%%bash\n"))
    if not commands or not all(command.startswith("mtfcdd ") for command in commands):
        return bash_cell
    argument_lists = [shlex.split(command)[1:] for command in commands]
    return (
        "from mtfcdd.cli import main as mtfcdd_entry_point\n"
        f"for mtfcdd_arguments in {argument_lists!r}:\n"
        "    mtfcdd_status = mtfcdd_entry_point(mtfcdd_arguments)\n"
        "    assert mtfcdd_status == 0, f\"mtfcdd {mtfcdd_arguments} exited with {mtfcdd_status}\"\n"
    )


def _text(outputs):
    return "".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "") for output in outputs
    )
