"""Write a resized copy of a Real-IAD image folder, e.g. 1024 -> 299.

    python data_prep/resize_realiad.py ROOT/realiad_1024 ROOT/realiad_299 --size 299

The copy keeps the relative layout, so the JSON splits under
``ROOT/realiad_jsons`` work with it (``--resolution realiad_299``). Run it
again after an interruption: files already written are skipped. The work is
done by ``mtfcdd.data.resize_cache.resize_image_root``.
"""

import argparse
import sys

from mtfcdd.data.resize_cache import resize_image_root


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="image folder to read, e.g. ROOT/realiad_1024")
    parser.add_argument("destination", help="folder to write, e.g. ROOT/realiad_299")
    parser.add_argument(
        "--size", type=int, required=True, help="side of the square output images"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="threads (default: one per CPU)"
    )
    arguments = parser.parse_args(argv)
    try:
        result = resize_image_root(
            arguments.source, arguments.destination, arguments.size,
            workers=arguments.workers,
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"resize_realiad: error: {error}", file=sys.stderr)
        return 1
    print(f"{result.written} files written, {result.skipped} already there.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
