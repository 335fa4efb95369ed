"""A training run's folder: what is in it, and the rules for reusing it.

``mtfcdd.training.trainer.train`` writes one run into one folder (its files
are below). The rules that keep a finished or interrupted run from being
lost (docs/training.md, "Resume and overwrite"):

- a folder that holds a run that trained (a model, a checkpoint or a
  training state) is refused unless the call resumes it (``resume``) or
  replaces it (``overwrite``, which deletes the earlier run's files first);
- a resumed run keeps its saved ``config.json``; only ``epochs`` (to extend
  the run) and ``learning_rate`` may differ, and each resume is recorded in
  ``config.json`` under ``resumes``, with what changed and when; any other
  difference is refused, naming the fields;
- ``config.json`` and ``training_state.json`` edited by hand into something
  else than a run's are refused, naming the file and the field;
- a run has an identity (``run_identity``), kept in ``config.json``: a run
  id, which its checkpoint and model carry too (``MultiTypeFCDD.run_id``),
  so that another run's checkpoint copied into the folder is refused; and
  its data (the root and a fingerprint of the split lists), so that a
  resume on another data set is refused like one with another ``alpha``.
  The same data moved to another folder resumes (the fingerprint holds the
  paths relative to the root).
"""

import dataclasses
import datetime
import hashlib
import json
import os
import shutil
import uuid

from mtfcdd.training.config import TrainingConfig
from mtfcdd.utils.atomic_files import write_json
from mtfcdd.utils.optional_packages import import_optional

CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.keras"
STATE_FILE = "training_state.json"
LOG_FILE = "training_log.csv"
MODEL_FILE = "model.keras"
TENSORBOARD_FOLDER = "tensorboard"
DATA_FILES_FILE = "data_files.json"
RUN_FILES = (
    MODEL_FILE, CHECKPOINT_FILE, STATE_FILE, CONFIG_FILE, LOG_FILE, TENSORBOARD_FOLDER, DATA_FILES_FILE,
)
# The files of a run that trained: a run stopped before its first epoch
# ended (e.g. the ImageNet download failed) has nothing to protect.
TRAINED_FILES = (MODEL_FILE, CHECKPOINT_FILE, STATE_FILE)
# The fields a resumed run may change: more epochs extend it, and a lower
# learning rate is the way on after a diverged loss.
RESUMABLE_CHANGES = ("epochs", "learning_rate")
RESUMES_KEY = "resumes"
# The TrainingConfig fields that train() fills in from the data set it reads.
FILLED_FROM_DATA = ("alpha", "layout", "types")
# A run's identity in config.json (run_identity); its "data" also lets
# --config config.json train without --data.
IDENTITY_KEYS = ("run_id", "data")
YAML_SUFFIXES = (".yaml", ".yml")
_EDITED_HINT = "was it edited by hand? Restore it, or train into a new folder."


def run_files(output_dir):
    """The files of a run that ``output_dir`` holds, in ``RUN_FILES`` order."""
    return [name for name in RUN_FILES if os.path.exists(os.path.join(output_dir, name))]


def start_run(output_dir, config, resume, overwrite):
    """The config to train with and the epochs already done, after applying
    the folder's rules (module docstring).

    Args:
        output_dir: the run folder (it exists).
        config: the ``TrainingConfig`` asked for; None takes the saved one
            when resuming, the defaults otherwise.
        resume: continue the run in ``output_dir``.
        overwrite: replace the run in ``output_dir``.

    Returns:
        ``(config, epochs_done, resumes)``: ``resumes`` is the record to
        write into ``config.json`` with the config.
    """
    if resume and overwrite:
        raise ValueError("Give resume or overwrite, not both: resume continues a run, overwrite replaces it.")
    found = run_files(output_dir)
    if not resume:
        trained = [name for name in found if name in TRAINED_FILES]
        if trained and not overwrite:
            finished = MODEL_FILE in trained
            raise FileExistsError(
                f"{output_dir} already holds a{' finished' if finished else 'n unfinished'} "
                f"training run ({', '.join(trained)}). Continue it with --resume, "
                "replace it with --overwrite (in Python: resume=True, overwrite=True), or train "
                "into a new folder."
            )
        for name in found:
            _remove(os.path.join(output_dir, name))
        return config or TrainingConfig(), 0, []
    saved, resumes = read_saved_config(output_dir)
    epochs_done = read_epochs_done(output_dir)
    config = saved if config is None else config
    changes = _resume_changes(output_dir, saved, config, epochs_done)
    resumes = resumes + [{
        "time": datetime.datetime.now().isoformat(timespec="seconds"),
        "epochs_completed": epochs_done,
        "changed": changes,
    }]
    return dataclasses.replace(saved, **{name: change["to"] for name, change in changes.items()}), epochs_done, resumes


def write_config(output_dir, config, resumes, identity=None):
    """``config.json``: the config, the run's identity (``run_identity``) and
    the record of its resumes."""
    content = {**config.to_dict(), **(identity or {})}
    if resumes:
        content[RESUMES_KEY] = resumes
    write_json(os.path.join(output_dir, CONFIG_FILE), content)


def read_saved_config(output_dir):
    """The ``TrainingConfig`` of the run in ``output_dir`` and its resumes.

    Raises:
        FileNotFoundError: no ``config.json`` (no run to resume).
        ValueError: a ``config.json`` that is not a run's, naming the field.
    """
    path = os.path.join(output_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Cannot resume: {path} does not exist (no earlier run in {output_dir})."
        )
    return read_config_file(path, _EDITED_HINT)


def read_config_file(path, hint=None):
    """The ``TrainingConfig`` in ``path`` and its record of resumes.

    ``path`` holds a run's ``config.json`` or the same fields (any of them:
    the others keep their defaults) as JSON, or YAML when it ends with
    ``.yaml`` or ``.yml`` (read with PyYAML, which is then needed).
    ``mtfcdd train --config FILE`` reads it, so that a run's own
    ``config.json`` repeats the run.

    Raises:
        ValueError: a file that is not a config, naming the field, followed
            by ``hint`` (what to do).
    """
    hint = hint or "expected the fields of a run's config.json (docs/training.md)."
    values = _read_yaml_object(path) if path.endswith(YAML_SUFFIXES) else _read_json_object(path)
    resumes = values.get(RESUMES_KEY, [])
    known = {field.name for field in dataclasses.fields(TrainingConfig)} | {
        "threshold_source", RESUMES_KEY, *IDENTITY_KEYS
    }
    unknown = sorted(set(values) - known)
    if unknown or not isinstance(resumes, list):
        field = unknown[0] if unknown else RESUMES_KEY
        raise ValueError(f"{path}: unexpected field {field!r}; {hint}")
    try:
        return TrainingConfig.from_dict(values), resumes
    except (TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"{path}: not a valid training config ({error}); {hint}") from error


def recorded_data_root(path):
    """The data set root a config file records, or None: a run's
    ``config.json`` records ``{"root", "fingerprint"}`` (``run_identity``), a
    file written by hand may give the root itself."""
    values = _read_yaml_object(path) if path.endswith(YAML_SUFFIXES) else _read_json_object(path)
    data = values.get("data")
    return data.get("root") if isinstance(data, dict) else data


def read_epochs_done(output_dir):
    """The epochs finished by the run in ``output_dir`` (0 before the first)."""
    path = os.path.join(output_dir, STATE_FILE)
    if not os.path.exists(path):
        return 0  # killed before the first epoch ended
    state = _read_json_object(path)
    epochs = state.get("epochs_completed")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(
            f"{path}: field 'epochs_completed' is {epochs!r}; expected a whole number >= 0. "
            "Was it edited by hand? Restore it, or train into a new folder."
        )
    checkpoint = os.path.join(output_dir, CHECKPOINT_FILE)
    if epochs > 0 and not os.path.isfile(checkpoint):
        raise FileNotFoundError(
            f"Cannot resume: {path} records {epochs} finished epochs but {checkpoint} is missing."
        )
    return epochs


def _resume_changes(output_dir, saved, config, epochs_done):
    """``{field: {"from": saved, "to": asked}}`` of the fields a resume may change."""
    # The data fields the trainer fills in from the data set (Real-IAD's
    # default alpha, another layout's types): not asked for means the saved.
    config = dataclasses.replace(config, **{
        name: getattr(saved, name) for name in FILLED_FROM_DATA if getattr(config, name) is None
    })
    saved_values, asked = dataclasses.asdict(saved), dataclasses.asdict(config)
    # The fields only: threshold_source follows threshold_fraction.
    refused = [
        f"{field.name} (saved {saved_values.get(field.name)!r}, now {asked.get(field.name)!r})"
        for field in dataclasses.fields(saved)
        if asked.get(field.name) != saved_values.get(field.name) and field.name not in RESUMABLE_CHANGES
    ]
    if refused:
        raise ValueError(
            f"Cannot resume {output_dir} with other settings: {'; '.join(refused)}. Only "
            f"{' and '.join(RESUMABLE_CHANGES)} may change on resume; leave the other options "
            "out to keep the saved ones, or train into a new folder."
        )
    if config.epochs < epochs_done:
        raise ValueError(
            f"Cannot resume {output_dir} with epochs={config.epochs}: {epochs_done} epochs are "
            "already done; give at least as many."
        )
    return {
        name: {"from": saved_values[name], "to": asked[name]}
        for name in RESUMABLE_CHANGES if asked[name] != saved_values[name]
    }


def run_identity(output_dir, data_root, split, resumed):
    """The identity of the run in ``output_dir``: ``{"run_id", "data"}``.

    A new run gets a new id; a resumed one keeps its id (None for a run
    older than ids) and must be on the same data.

    Args:
        output_dir: the run folder.
        data_root: the data set root trained on.
        split: its ``RealIADSplit`` (``train`` and ``test`` samples).
        resumed: whether the run is resumed.

    Raises:
        ValueError: a resume whose data's fingerprint is not the run's.
    """
    data = {"root": os.path.abspath(data_root), "fingerprint": split_fingerprint(split, data_root)}
    if not resumed:
        return {"run_id": uuid.uuid4().hex, "data": data}
    saved = _read_json_object(os.path.join(output_dir, CONFIG_FILE))
    saved_data = saved.get("data") or {}
    if saved_data.get("fingerprint") not in (None, data["fingerprint"]):
        raise ValueError(
            f"Cannot resume {output_dir} with other data: the run trained on "
            f"{saved_data.get('root')} (split lists fingerprint {saved_data['fingerprint'][:12]}), "
            f"but {data_root} lists other images or labels (fingerprint {data['fingerprint'][:12]}). "
            "Resume on the run's data set, or train into a new folder."
        )
    return {"run_id": saved.get("run_id"), "data": data}


def split_fingerprint(split, data_root):
    """SHA-256 of a split's lists: every train and test entry's image and mask
    (relative to ``data_root``), object and labels."""
    def relative(path):
        return None if path is None else os.path.relpath(path, data_root).replace(os.sep, "/")

    entries = [
        [name, relative(sample.image_path), relative(sample.mask_path), sample.category, list(sample.labels)]
        for name in ("train", "test")
        for sample in getattr(split, name)
    ]
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def _read_json_object(path):
    try:
        with open(path, encoding="utf-8") as file:
            content = json.load(file)
    except ValueError as error:
        raise ValueError(
            f"{path} cannot be read: not valid JSON ({error}). Restore it, or train into a new folder."
        ) from error
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a JSON object; got a {type(content).__name__}.")
    return content


def _read_yaml_object(path):
    yaml = import_optional("yaml", "PyYAML", f"the YAML file {path}")
    with open(path, encoding="utf-8") as file:
        try:
            content = yaml.safe_load(file)
        except yaml.YAMLError as error:
            raise ValueError(f"{path} cannot be read: not valid YAML ({' '.join(str(error).split())}).") from error
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a mapping of fields; got a {type(content).__name__}.")
    return content


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)
