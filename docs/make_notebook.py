"""Writes docs/tutorial.ipynb, the tutorial as a Jupyter notebook, from docs/tutorial.md.

    python docs/make_notebook.py            # writes docs/tutorial.ipynb
    python docs/make_notebook.py --check    # exits 1 if docs/tutorial.ipynb is stale

For courses that teach in notebooks. The prose becomes markdown cells, each
```python block a code cell and each ```bash block a code cell run by the
``%%bash`` cell magic, in the page's order; excerpts of the package's source
(```python source=PATH, shown beside an equation) stay in the prose, as on
the page. The notebook sits beside the page, so its pictures
(``images/...``) show. It is nbformat 4 JSON, written directly, without
outputs: running it fills them.

docs/tutorial.md is the one to edit; ``tests/test_notebook.py`` checks that
the notebook is current.
"""

import argparse
import json
import pathlib
import re
import sys

DOCS = pathlib.Path(__file__).resolve().parent
TUTORIAL = DOCS / "tutorial.md"
NOTEBOOK = DOCS / "tutorial.ipynb"
FENCE = re.compile(r"^```(?P<language>[\w+-]*)(?P<info>.*)$")
CELL_PREFIX = {"python": "", "bash": "%%bash\n"}
GENERATED_NOTE = (
    "*This notebook is generated from `docs/tutorial.md` by `python docs/make_notebook.py`: "
    "edit the page, then run the script. Run the cells in order, from this folder, "
    "with mtfcdd installed (`pip install mtfcdd`, or `pip install -e \".[plots]\"` in "
    "the repository).*"
)


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
    cells = [("markdown", GENERATED_NOTE)] + notebook_cells(markdown_text)
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
