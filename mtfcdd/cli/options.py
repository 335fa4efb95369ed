"""Command-line options shared by several verbs."""

DEFAULT_ALPHA = 0.1


def add_data_options(parser, alpha=True):
    """--data, --alpha, --resolution and --objects."""
    parser.add_argument("--data", required=True, help="data set root (holds realiad_jsons/ and the images)")
    if alpha:
        parser.add_argument(
            "--alpha", type=float, default=DEFAULT_ALPHA,
            help="FUIAD noise ratio of the split: 0.0, 0.1, 0.2 or 0.4 (default: 0.1)",
        )
    parser.add_argument("--resolution", default=None, help="image folder, e.g. realiad_256 (default: the only one)")
    parser.add_argument("--objects", default=None, help="comma-separated objects (default: all)")


def backbone_weights_argument(value):
    """'none' means random initialisation; anything else is passed on."""
    return None if value.lower() == "none" else value


def objects_argument(value):
    return tuple(name.strip() for name in value.split(",") if name.strip()) if value else None
