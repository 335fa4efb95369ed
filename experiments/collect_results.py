"""Assembles the paper's Tables 3, 4 and 5 from every experiment folder.

    python experiments/collect_results.py results/ [--out results/paper_tables.md]

Reads ``<folder>/*/results.json`` (written by the experiment scripts), groups
the multi-type (K = 8) and multi-class (K = 1) results by noise ratio alpha,
and writes one Markdown document with the tables laid out like the paper's.
"""

import argparse
import glob
import json
import os

from mtfcdd.evaluation.reports import markdown
from mtfcdd.utils.atomic_files import write_text


def collect(results_folder):
    """{"multi-type": {alpha: result}, "multi-class": {alpha: result}}."""
    groups = {"multi-type": {}, "multi-class": {}}
    for path in sorted(glob.glob(os.path.join(results_folder, "*", "results.json"))):
        with open(path) as file:
            for alpha, result in json.load(file).items():
                group = "multi-class" if len(result["type_codes"]) == 1 else "multi-type"
                if alpha in groups[group]:
                    raise ValueError(f"{path}: a second {group} result for alpha={alpha}.")
                groups[group][alpha] = result
    return {name: dict(sorted(group.items())) for name, group in groups.items() if group}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="folder holding one subfolder per experiment")
    parser.add_argument("--out", default=None, help="Markdown file (default: RESULTS/paper_tables.md)")
    arguments = parser.parse_args()
    groups = collect(arguments.results)
    if not groups:
        raise SystemExit(f"No */results.json under {arguments.results}.")
    document = "\n".join(f"## {name}\n\n{markdown(results)}" for name, results in groups.items())
    output = arguments.out or os.path.join(arguments.results, "paper_tables.md")
    write_text(output, document)
    print(document)
    print(f"Written to {output}")


if __name__ == "__main__":
    main()
