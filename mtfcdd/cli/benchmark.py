"""`mtfcdd benchmark`: parameters, GFLOPs, file sizes and speed (paper 5.3).

    mtfcdd benchmark [--model MODEL.keras [--data ROOT --alpha A]] [--image-size 299]
                     [--threads N] [--repeats R] [--json FILE]

Without --model it measures the default model (K = 8) with random weights.
With --data, the int8 file is calibrated on the split's training images and
the float32 and int8 files' mean per-type I-AUROC on its test split are
compared.
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "benchmark",
        help="footprint: parameters, GFLOPs, file sizes, ms per image (Keras, LiteRT)",
    )
    parser.add_argument(
        "--model", help="a .keras model (default: the K = 8 model with random weights)"
    )
    parser.add_argument(
        "--image-size", type=int, default=None,
        help="input side of the default model (default: 299)",
    )
    parser.add_argument(
        "--threads", type=int, default=None,
        help="CPU threads for TensorFlow and LiteRT (default: all)",
    )
    parser.add_argument(
        "--repeats", type=int, default=10, help="timed runs per measurement (default: 10)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE as JSON")
    parser.add_argument("--data", default=None, help="data set root: compare float32 and int8 I-AUROC")
    parser.add_argument("--alpha", type=float, default=0.1, help="split of --data (default: 0.1)")
    parser.add_argument("--resolution", default=None, help="image folder of --data")
    parser.set_defaults(handler=run)


def run(arguments):
    if arguments.repeats < 1:
        raise ValueError(f"--repeats must be at least 1; got {arguments.repeats}.")
    from mtfcdd.atomic_files import write_json
    from mtfcdd.benchmark import format_footprint, run_benchmark

    result = run_benchmark(
        model_path=arguments.model, image_size=arguments.image_size,
        threads=arguments.threads, repeats=arguments.repeats,
        data_root=arguments.data, alpha=arguments.alpha, resolution=arguments.resolution,
    )
    print(format_footprint(result))
    if arguments.json is not None:
        write_json(arguments.json, result)
        print(f"wrote {arguments.json}")
