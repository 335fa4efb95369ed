"""Pre-trains the offline backbone that `mtfcdd demo` uses without network.

ImageNet weights cannot be downloaded on an air-gapped machine, and a
randomly initialised frozen backbone learns nothing (docs/model.md, "Offline
backbone"). This script trains the whole network - backbone from random
initialisation and head - with the multi-type loss (Eq. 3) on a synthetic
data set made with another seed than the demo's (seed 1; the demo uses seed
0); ``--supervision pixel`` uses the data set's exact masks instead
(``MultiTypePixelLoss``). Then it writes the backbone's weights to
``mtfcdd/weights/backbone_synthetic.weights.h5`` with a JSON record of how
they were made. They are features learned from this package's synthetic
images only: not ImageNet features, and not a substitute for them on real
photographs.

    python experiments/pretrain_synthetic_backbone.py --workdir /tmp/pretrain
    python experiments/pretrain_synthetic_backbone.py --workdir /tmp/pretrain --resume
    python experiments/pretrain_synthetic_backbone.py --workdir /tmp/pretrain --from-checkpoint
    python experiments/pretrain_synthetic_backbone.py --workdir /tmp/more \
        --initial-backbone mtfcdd/weights/backbone_synthetic.weights.h5    # train the shipped ones further
"""

import argparse
import datetime
import json
import os

import mtfcdd
from mtfcdd.data.augmentation import AUGMENTATION_PRESETS
from mtfcdd.model.backbone import SYNTHETIC_WEIGHTS_FILE
from mtfcdd.model.saving import load_trained_model
from mtfcdd.training.trainer import CHECKPOINT_FILE, LOG_FILE, STATE_FILE, TrainingConfig, train
from mtfcdd.utils.atomic_files import atomic_path, write_json
from mtfcdd.workflows.experiment import synthetic_data

PRETRAINING_SEED = 1


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", required=True, help="folder for the data set and the training run")
    parser.add_argument("--preset", default="full", help="synthetic preset to pre-train on (default: full)")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument(
        "--supervision", choices=("image", "pixel"), default="image",
        help="image labels (Eq. 3, default) or the data set's masks (Eq. 3 per heatmap cell)",
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in WORKDIR (more --epochs extend it)")
    parser.add_argument(
        "--from-checkpoint", action="store_true",
        help="do not train: take the backbone from the last epoch's checkpoint of the run",
    )
    parser.add_argument("--weights-out", default=SYNTHETIC_WEIGHTS_FILE)
    parser.add_argument(
        "--initial-backbone", default=None,
        help="start the backbone from these .weights.h5 (e.g. the shipped ones, to train "
        "them further) instead of a random initialisation",
    )
    return parser.parse_args()


def main():
    arguments = parse_arguments()
    data_root = synthetic_data(
        os.path.join(arguments.workdir, f"synthetic_{arguments.preset}_seed{PRETRAINING_SEED}"),
        preset=arguments.preset, seed=PRETRAINING_SEED,
    )
    config = TrainingConfig(
        alpha=0.4, image_size=arguments.image_size, backbone_weights=arguments.initial_backbone,
        train_backbone=True,
        supervision=arguments.supervision,
        # The values the shipped weights were made with (mtfcdd 0.1's).
        augmentation=None if arguments.supervision == "pixel" else AUGMENTATION_PRESETS["mtfcdd-0.1"],
        batch_size=arguments.batch_size, learning_rate=arguments.learning_rate,
        epochs=arguments.epochs, steps_per_epoch=arguments.steps_per_epoch,
        threshold_fraction=0, seed=PRETRAINING_SEED,
    )
    run_folder = os.path.join(arguments.workdir, "run")
    if arguments.from_checkpoint:
        model_path, final_loss = os.path.join(run_folder, CHECKPOINT_FILE), None
    else:
        result = train(data_root, run_folder, config=config, resume=arguments.resume)
        model_path, final_loss = result.model_path, result.history["loss"][-1]
    model = load_trained_model(model_path)
    previous_record = _previous_record(arguments.initial_backbone)
    with atomic_path(arguments.weights_out, suffix=".weights.h5") as temporary_path:
        model.backbone.save_weights(temporary_path)
    write_json(
        os.path.splitext(os.path.splitext(arguments.weights_out)[0])[0] + ".json",
        {
            "what": "InceptionResNetV2 cut at block35_10_ac, trained from random "
            "initialisation on mtfcdd's synthetic data only (not ImageNet)",
            "data": {"preset": arguments.preset, "seed": PRETRAINING_SEED, "alpha": 0.4,
                     "supervision": arguments.supervision},
            "training": {**config.to_dict(), "final_loss": final_loss, "model": model_path},
            "training_state": _read_json(os.path.join(run_folder, STATE_FILE)),
            "training_log": _read_log(os.path.join(run_folder, LOG_FILE)),
            "started_from": previous_record,
            "mtfcdd_version": mtfcdd.__version__,
            "date": datetime.date.today().isoformat(),
        },
    )
    print(f"Backbone weights written to {arguments.weights_out}")


def _previous_record(initial_backbone):
    """The JSON record of the weights this run started from, if any."""
    if initial_backbone is None:
        return None
    record_path = initial_backbone.replace(".weights.h5", ".json")
    if not os.path.exists(record_path):
        return {"weights": initial_backbone}
    return _read_json(record_path)


def _read_json(path):
    with open(path) as file:
        return json.load(file)


def _read_log(path):
    with open(path) as file:
        return [line.strip() for line in file if line.strip()]


if __name__ == "__main__":
    main()
