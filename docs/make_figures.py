"""Rebuilds every figure in docs/images from a real run of `mtfcdd demo`.

    python docs/make_figures.py                        # runs `mtfcdd demo` first (~10 min)
    python docs/make_figures.py --demo-dir mtfcdd_demo # from a finished demo run

Writes into docs/images (or ``--out``):

- ``demo_heatmaps_per_type.png``: the demo's per-type heatmap grid (paper
  Figure 2), as the demo drew it: the README's picture;
- ``synthetic_<code>.png``: example images of each defect type in the demo's
  data set, mask outlined (docs/data.md);
- ``figures.json``: what produced them: the demo's settings and its Mean
  row, which the README's caption quotes (``tests/test_docs.py`` checks it).

No figure in docs/ is edited by hand; rerun this script instead.
"""

import argparse
import json
import os
import shutil
import sys

DOCS_IMAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")
HEATMAP_FIGURE = "demo_heatmaps_per_type.png"
RECORD = "figures.json"


def make_figures(demo_dir, output_dir=DOCS_IMAGES):
    """Writes the figures of a finished demo run in ``demo_dir``; returns the record."""
    from mtfcdd import __version__
    from mtfcdd.utils.atomic_files import atomic_path, write_json
    from mtfcdd.data.synthetic.contact_sheets import write_contact_sheets
    from mtfcdd.workflows.experiment import FIGURE_FILE

    run_dir = os.path.join(demo_dir, "run")
    results_path = os.path.join(run_dir, "results.json")
    if not os.path.isfile(results_path):
        raise FileNotFoundError(
            f"{results_path}: not found; expected a finished `mtfcdd demo --out {demo_dir}` run."
        )
    with open(results_path, encoding="utf-8") as file:
        (alpha, result), = json.load(file).items()
    os.makedirs(output_dir, exist_ok=True)
    with atomic_path(os.path.join(output_dir, HEATMAP_FIGURE)) as temporary_path:
        shutil.copyfile(os.path.join(run_dir, FIGURE_FILE), temporary_path)
    sheets = write_contact_sheets(os.path.join(demo_dir, "data"), output_dir)
    record = {
        "mtfcdd_version": __version__,
        "made_by": "python docs/make_figures.py",
        "demo_dir": os.path.basename(os.path.normpath(demo_dir)),
        HEATMAP_FIGURE: {
            "alpha": float(alpha),
            "settings": result["settings"],
            "mean": result["metrics"]["Mean"],
        },
        "contact_sheets": sorted(os.path.basename(path) for path in sheets),
    }
    write_json(os.path.join(output_dir, RECORD), record)
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--demo-dir", default="mtfcdd_demo",
        help="a demo run's output folder; the demo runs there first when it holds no results",
    )
    parser.add_argument("--out", default=DOCS_IMAGES, help="figure folder (default: docs/images)")
    arguments = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(arguments.demo_dir, "run", "results.json")):
        from mtfcdd.workflows.demo import run_demo

        run_demo(arguments.demo_dir)
    record = make_figures(arguments.demo_dir, arguments.out)
    print(json.dumps(record[HEATMAP_FIGURE], indent=2))
    print(f"Figures written to {arguments.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
