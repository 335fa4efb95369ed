"""Writes docs/tutorial.ipynb, the tutorial as a Jupyter notebook, from docs/tutorial.md.

    python docs/make_notebook.py            # writes docs/tutorial.ipynb
    python docs/make_notebook.py --check    # exits 1 if docs/tutorial.ipynb is stale

For courses that teach in notebooks (Jupyter, Colab). The first code cell
installs mtfcdd: from the checkout the notebook sits in, or from the wheel
or URL set in ``MTFCDD_SOURCE`` at its top (mtfcdd is not on the Package
Index yet); it installs nothing where mtfcdd is already importable and no
source is set. Then the prose becomes markdown cells, each ```python block
a code cell and each ```bash block a code cell run by the ``%%bash`` cell
magic, in the page's order; excerpts of the package's source (```python
source=PATH, shown beside an equation) stay in the prose, as on the page.
The page's pictures (``images/...``) travel inside the notebook as cell
attachments, so that it shows them opened alone. It is nbformat 4 JSON,
written directly, without outputs: running it fills them.

docs/tutorial.md is the one to edit; ``tests/test_notebook.py`` checks that
the notebook is current.
"""

import argparse
import base64
import json
import pathlib
import re
import sys

DOCS = pathlib.Path(__file__).resolve().parent
TUTORIAL = DOCS / "tutorial.md"
NOTEBOOK = DOCS / "tutorial.ipynb"
FENCE = re.compile(r"^```(?P<language>[\w+-]*)(?P<info>.*)$")
CELL_PREFIX = {"python": "", "bash": "%%bash\n"}
IMAGE = re.compile(r"\]\(images/(?P<name>[\w.-]+\.png)\)")
GENERATED_NOTE = (
    "*This notebook is generated from `docs/tutorial.md` by `python docs/make_notebook.py`: "
    "edit the page, then run the script. Run the cells in order. The first one installs "
    "mtfcdd with the extras the notebook uses: from the checkout this notebook sits in "
    "(its `docs/` folder), or, opened alone (e.g. on Colab), from the wheel or URL you set "
    "in `MTFCDD_SOURCE`; mtfcdd is not on the Python Package Index yet.*"
)
INSTALL_CELL = """# Where to install mtfcdd from: "" for the checkout this notebook sits in (its
# docs/ folder), or a wheel file or URL, e.g. "mtfcdd-0.1.0-py3-none-any.whl"
# (python -m build writes it in a checkout). mtfcdd is not on PyPI yet.
MTFCDD_SOURCE = ""
EXTRAS = "[plots,litert]"  # the figures and the LiteRT runtime of section 7

import importlib.util
import os
import subprocess
import sys

if MTFCDD_SOURCE or importlib.util.find_spec("mtfcdd") is None:
    source = MTFCDD_SOURCE or os.path.dirname(os.path.abspath(os.getcwd()))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source + EXTRAS], check=True)
import mtfcdd

print("mtfcdd", mtfcdd.__version__, "from", os.path.dirname(mtfcdd.__file__))"""


def notebook_cells(markdown_text):
    """``(cell type, source)`` of each cell of the notebook of a Markdown page."""
    cells, prose, code, language = [], [], None, None
    for line in markdown_text.splitlines():
        if code is not None:
            if line == "```":
                cells.append(("code", CELL_PREFIX[language] + "\n".join(code)))
                code = None
            else:
                code.append(line)
            continue
        fence = FENCE.match(line)
        if fence and fence["language"] in CELL_PREFIX and "source=" not in fence["info"]:
            cells.append(("markdown", "\n".join(prose)))
            prose, code, language = [], [], fence["language"]
        else:
            prose.append(line)
    if code is not None:
        raise ValueError(f"{TUTORIAL.name}: a ```{language} block is never closed.")
    cells.append(("markdown", "\n".join(prose)))
    return [(kind, source.strip("\n")) for kind, source in cells if source.strip()]


def notebook_text(markdown_text):
    """The notebook's JSON text (nbformat 4.5)."""
    cells = [("markdown", GENERATED_NOTE), ("code", INSTALL_CELL)] + notebook_cells(markdown_text)
    notebook = {
        "cells": [_cell(kind, source, number) for number, (kind, source) in enumerate(cells, start=1)],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _cell(kind, source, number):
    cell = {
        "cell_type": kind,
        "id": f"cell-{number:03d}",
        "metadata": {},
        # Jupyter's own layout: a list of lines, each but the last ending in "\n".
        "source": source.splitlines(keepends=True),
    }
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    names = IMAGE.findall(source)
    if kind == "markdown" and names:
        cell["source"] = IMAGE.sub(r"](attachment:\g<name>)", source).splitlines(keepends=True)
        cell["attachments"] = {
            name: {"image/png": base64.b64encode((DOCS / "images" / name).read_bytes()).decode("ascii")}
            for name in dict.fromkeys(names)
        }
    return cell


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the notebook is not current")
    arguments = parser.parse_args(argv)
    text = notebook_text(TUTORIAL.read_text(encoding="utf-8"))
    if arguments.check:
        current = NOTEBOOK.exists() and NOTEBOOK.read_text(encoding="utf-8") == text
        print(f"{NOTEBOOK.name} is {'current' if current else 'stale: run python docs/make_notebook.py'}")
        return 0 if current else 1
    from mtfcdd.utils.atomic_files import write_text

    write_text(NOTEBOOK, text)
    print(f"Wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
