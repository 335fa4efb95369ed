"""Write a synthetic data set in Real-IAD's layout (docs/data.md).

    python data_prep/make_synthetic_iad.py data/synthetic_iad --preset demo \
        --contact-sheets docs/images

Presets: tiny (2 objects, 128 px, 220 images), demo (6 objects, 256 px,
about 2,600 images), full (10 objects, 256 px, about 15,000 images). The
work is done by ``mtfcdd.data.synthetic``; ``mtfcdd data synth`` does the same
without the contact sheets.
"""

import argparse
import sys

from mtfcdd.data.synthetic.contact_sheets import write_contact_sheets
from mtfcdd.data.synthetic.dataset import make_synthetic_iad
from mtfcdd.data.synthetic.presets import PRESETS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="folder to write the data set to (its root)")
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="demo", help="size (default: demo)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--contact-sheets",
        metavar="DIR",
        help="also write one PNG of example images per defect type to DIR",
    )
    arguments = parser.parse_args(argv)
    try:
        root = make_synthetic_iad(arguments.output, preset=arguments.preset, seed=arguments.seed)
        sheets = (
            write_contact_sheets(root, arguments.contact_sheets) if arguments.contact_sheets else []
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"make_synthetic_iad: error: {error}", file=sys.stderr)
        return 1
    print(f"data set written to {root}")
    for path in sheets:
        print(f"contact sheet {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
