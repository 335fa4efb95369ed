"""Training step time of each precision, with and without XLA, timed in turns.

    python experiments/training_speed.py --data ROOT [--resolution realiad_96]
        [--image-size 96] [--batch-size 32] [--steps 5] [--rounds 3] [--json FILE]

Builds one training model per setting (``--precision`` float32,
mixed_bfloat16, mixed_float16, each without and with ``--jit-compile``) and
times each on the same batch of the data set's training images, in turns
(``mtfcdd.deploy.benchmark.training_throughput.interleaved_step_seconds``):
on a shared machine a change of load then slows every setting alike. Prints seconds
per step and the speed relative to float32 without XLA (docs/training.md
has the figures of a 2-core CPU).
"""

import argparse
import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mtfcdd.constants import PRECISIONS  # noqa: E402
from mtfcdd.data.pipeline import training_dataset  # noqa: E402
from mtfcdd.data.realiad.reader import load_realiad  # noqa: E402
from mtfcdd.deploy.benchmark.training_throughput import interleaved_step_seconds  # noqa: E402
from mtfcdd.training.config import TrainingConfig  # noqa: E402
from mtfcdd.utils.atomic_files import write_json  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a data set in Real-IAD's layout")
    parser.add_argument("--alpha", type=float, default=0.1, help="FUIAD split (default: 0.1)")
    parser.add_argument("--resolution", default=None, help="image folder, e.g. realiad_96")
    parser.add_argument("--image-size", type=int, default=96, help="model input side (default: 96)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per step (default: 32)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per turn (default: 5)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of every setting (default: 3)")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    arguments = parser.parse_args(argv)

    base = TrainingConfig(
        alpha=arguments.alpha, resolution=arguments.resolution, image_size=arguments.image_size,
        batch_size=arguments.batch_size, backbone_weights=None,
    )
    configs = [
        dataclasses.replace(base, precision=precision, jit_compile=jit_compile)
        for precision in PRECISIONS for jit_compile in (False, True)
    ]
    samples = load_realiad(arguments.data, alpha=base.alpha, resolution=base.resolution).train
    batch = next(iter(training_dataset(samples, base.image_size, batch_size=base.batch_size)))
    seconds = interleaved_step_seconds(configs, batch, steps=arguments.steps, rounds=arguments.rounds)
    rows = [
        {"precision": config.precision, "jit_compile": config.jit_compile, "seconds_per_step": value,
         "speed_vs_float32": seconds[0] / value}
        for config, value in zip(configs, seconds)
    ]
    print(f"{arguments.image_size}x{arguments.image_size}, batch {arguments.batch_size}, "
          f"{arguments.rounds} turns of {arguments.steps} steps:")
    for row in rows:
        print(f"  {row['precision']:15s} XLA {'on ' if row['jit_compile'] else 'off'}  "
              f"{row['seconds_per_step']:.3f} s per step  x{row['speed_vs_float32']:.2f}")
    if arguments.json:
        write_json(arguments.json, {"image_size": arguments.image_size,
                                    "batch_size": arguments.batch_size, "settings": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
