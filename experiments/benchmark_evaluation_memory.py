"""Peak memory and time of the streaming evaluation (docs/evaluation.md, the memory bound).

The full Real-IAD test split is 30,000 images with 8 heatmaps of 299 x 299
(~86 GB of float32). This script streams that many synthetic images, made on
the fly batch by batch, through ``MultiTypeEvaluator`` and reports the peak
resident memory (``resource.getrusage``) and the time spent in the
evaluator, apart from the time spent making the data.

Synthetic data: a fraction of the images is defective, each with one random
type and 1 to 3 elliptic blob regions; maps are uniform noise raised inside
the blobs on the image's own channel, scores the maps' means.

    python experiments/benchmark_evaluation_memory.py --images 1000
"""

import argparse
import resource
import time

import numpy as np

from mtfcdd.constants import DEFECT_CODES
from mtfcdd.metrics import MultiTypeEvaluator

FULL_TEST_SPLIT_IMAGES = 30_000


def peak_rss_mib():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def blob_masks(rng, count, size):
    """(count, size, size) masks with 1 to 3 filled ellipses each."""
    rows, columns = np.mgrid[:size, :size]
    masks = np.zeros((count, size, size), dtype=bool)
    for mask in masks:
        for _ in range(rng.integers(1, 4)):
            centre_row, centre_column = rng.uniform(0, size, 2)
            radius_row, radius_column = rng.uniform(2, size / 10, 2)
            mask |= (
                ((rows - centre_row) / radius_row) ** 2
                + ((columns - centre_column) / radius_column) ** 2
            ) <= 1
    return masks


def synthetic_batch(rng, count, size, num_types, defective_fraction):
    """(scores, maps, labels, masks) of ``count`` synthetic test images."""
    labels = np.zeros((count, num_types), dtype=np.uint8)
    defective = np.flatnonzero(rng.random(count) < defective_fraction)
    types = rng.integers(0, num_types, len(defective))
    labels[defective, types] = 1
    masks = np.zeros((count, size, size), dtype=bool)
    masks[defective] = blob_masks(rng, len(defective), size)
    maps = rng.random((count, size, size, num_types), dtype=np.float32)
    maps[defective, ..., types] += np.where(
        masks[defective], rng.random((len(defective), 1, 1)), 0
    ).astype(np.float32)
    scores = maps.mean(axis=(1, 2))
    return scores, maps, labels, masks


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--images", type=int, default=FULL_TEST_SPLIT_IMAGES,
        help="number of synthetic test images (default: the full split)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=299, help="map side")
    parser.add_argument("--defective-fraction", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    if arguments.images < 1 or arguments.batch_size < 1 or arguments.size < 8:
        parser.error("--images and --batch-size must be >= 1, --size >= 8")
    if not 0 < arguments.defective_fraction < 1:
        parser.error("--defective-fraction must be in (0, 1)")
    return arguments


def main():
    arguments = parse_arguments()
    rng = np.random.default_rng(arguments.seed)
    evaluator = MultiTypeEvaluator(DEFECT_CODES)
    rss_before = peak_rss_mib()
    making_seconds = evaluating_seconds = evaluating_cpu_seconds = 0.0
    report_every = max(1, arguments.images // 10)
    for start in range(0, arguments.images, arguments.batch_size):
        count = min(arguments.batch_size, arguments.images - start)
        began = time.perf_counter()
        batch = synthetic_batch(
            rng, count, arguments.size, len(DEFECT_CODES),
            arguments.defective_fraction,
        )
        made, made_cpu = time.perf_counter(), time.process_time()
        evaluator.update(*batch)
        evaluating_seconds += time.perf_counter() - made
        evaluating_cpu_seconds += time.process_time() - made_cpu
        making_seconds += made - began
        if (start + count) // report_every > start // report_every:
            print(f"{start + count:6d} images, peak RSS"
                  f" {peak_rss_mib():7.0f} MiB, evaluator"
                  f" {evaluating_seconds:7.1f} s", flush=True)
    began, began_cpu = time.perf_counter(), time.process_time()
    result = evaluator.result()
    result_seconds = time.perf_counter() - began
    evaluating_cpu_seconds += time.process_time() - began_cpu
    per_image = (evaluating_seconds + result_seconds) / arguments.images
    cpu_per_image = evaluating_cpu_seconds / arguments.images
    print(f"images: {arguments.images} of {arguments.size}x{arguments.size}"
          f" x {len(DEFECT_CODES)} types, batch {arguments.batch_size}")
    print(f"peak RSS: {peak_rss_mib():.0f} MiB"
          f" (after imports and set-up: {rss_before:.0f} MiB)")
    print(f"evaluator: update {evaluating_seconds:.1f} s, result"
          f" {result_seconds:.1f} s, {1000 * per_image:.1f} ms per image"
          f" (CPU time {1000 * cpu_per_image:.1f} ms per image);"
          f" data generation {making_seconds:.1f} s")
    # CPU time is the better guide on a shared machine: wall time there
    # includes waiting for the other processes.
    print(f"extrapolated evaluator time for {FULL_TEST_SPLIT_IMAGES} images:"
          f" {per_image * FULL_TEST_SPLIT_IMAGES / 60:.1f} min wall,"
          f" {cpu_per_image * FULL_TEST_SPLIT_IMAGES / 60:.1f} min CPU")
    mean = result["metrics"]["Mean"]
    bounds = [result["error_bounds"][code] for code in DEFECT_CODES]
    print("Mean row: " + ", ".join(f"{name} {value:.4f}"
                                    for name, value in mean.items()))
    print("largest error bound: P-AUROC"
          f" {max(bound['P-AUROC'] for bound in bounds):.2e}, AUPRO"
          f" {max(bound['AUPRO'] for bound in bounds):.2e}")


if __name__ == "__main__":
    main()
