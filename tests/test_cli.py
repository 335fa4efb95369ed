"""The command line: light to start, every option explained, options declared once."""

import argparse
import json
import subprocess
import sys

import pytest

from mtfcdd.cli import build_parser
from mtfcdd.cli.experiment import experiment_parser
from mtfcdd.cli.options import training_config
from mtfcdd.training.config import TrainingConfig

HEAVY_PACKAGES = ("keras", "tensorflow", "jax", "scipy", "cv2")


def _run_and_list_modules(argv):
    """Runs ``mtfcdd ARGV`` in a fresh interpreter; returns (stdout, heavy packages loaded)."""
    script = (
        "import json, sys\n"
        "from mtfcdd.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"loaded = sorted({{name.split('.')[0] for name in sys.modules}} & set({HEAVY_PACKAGES!r}))\n"
        "print(json.dumps(loaded))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    *output, loaded = completed.stdout.strip().splitlines()
    return "\n".join(output), json.loads(loaded)


def test_help_and_each_verbs_help_load_no_heavy_package():
    """What makes `mtfcdd --help` answer in a fraction of a second."""
    verbs = [name for name in _subparsers(build_parser()).choices]
    for argv in [["--help"]] + [[verb, "--help"] for verb in verbs]:
        output, loaded = _run_and_list_modules(argv)
        assert "usage: mtfcdd" in output, argv
        assert loaded == [], f"mtfcdd {' '.join(argv)} imported {loaded}"


def test_balanced_epochs_needs_scipy_only():
    output, loaded = _run_and_list_modules(["balanced-epochs", "--counts", "4,2", "--batch-size", "1"])
    assert loaded == ["scipy"]
    # Eq. 4 by hand for quotas (4, 2): E[T] = 2 int [1 - P(4, t) P(2, t)] dt
    # = 2 (4 + int P(4, t) Q(2, t) dt), with Q(2, t) = e^-t (1 + t) and
    # P(4, t) = 1 - e^-t (1 + t + t^2/2 + t^3/6); int Q(2, t) dt = 2 and
    # int e^-2t (1 + 2t + 3t^2/2 + 2t^3/3 + t^4/6) dt = 1.75, so E[T] = 8.5.
    assert "expected draws                8.50" in output


def test_every_option_has_help_text():
    missing = []
    for prefix, parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
                continue
            if not action.help:
                missing.append(f"{prefix} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_train_options_default_to_the_training_config():
    arguments = build_parser().parse_args(["train", "--data", "root", "--out", "run"])
    assert training_config(arguments) == TrainingConfig()


def test_experiment_scripts_share_the_train_options():
    parser = experiment_parser("multi_class_alpha_0.2", alpha=0.2, multi_class=True)
    arguments = parser.parse_args(["--data", "root", "--epochs", "3", "--augmentation", "none"])
    expected = TrainingConfig(alpha=0.2, multi_class=True, epochs=3, augmentation=None)
    assert training_config(arguments, alpha=0.2, multi_class=True) == expected
    train_options = _option_strings(_subparsers(build_parser()).choices["train"])
    experiment_options = _option_strings(parser)
    # Everything train offers but what an experiment script fixes or does not
    # need (its Real-IAD split's noise is alpha: no emulated --label-noise; it
    # prints its tables and writes results.json, no JSON document; it trains
    # on every type of its split: no --exclude-types).
    assert train_options - experiment_options == {
        "--alpha", "--multi-class", "--label-noise", "--exclude-types", "--json",
    }


def _subparsers(parser):
    return next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))


def _all_parsers(parser, prefix="mtfcdd"):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield from _all_parsers(subparser, f"{prefix} {name}")


def _option_strings(parser):
    return {option for action in parser._actions for option in action.option_strings}


def _parsed_config(parser_argv, parser=None, **fixed):
    from mtfcdd.cli.options import given_options, requested_training_config

    parser = parser or build_parser()
    arguments = parser.parse_args(parser_argv)
    return requested_training_config(arguments, given_options(parser, parser_argv), **fixed)


def test_config_file_json_and_yaml_with_options_overriding_it(tmp_path):
    saved = TrainingConfig(image_size=80, batch_size=4, epochs=2, seed=3, augmentation=None)
    config_json = tmp_path / "config.json"
    config_json.write_text(json.dumps({**saved.to_dict(), "data": "/somewhere"}))
    assert _parsed_config(["train", "--config", str(config_json), "--out", "run"]) == saved
    # A given option wins; a defaulted one does not replace the file's value.
    overridden = _parsed_config(["train", "--config", str(config_json), "--out", "run", "--epochs", "5"])
    assert overridden == TrainingConfig(image_size=80, batch_size=4, epochs=5, seed=3, augmentation=None)
    config_yaml = tmp_path / "settings.yaml"
    config_yaml.write_text("image_size: 80\nbatch_size: 4\nobjects: [pcb]\n")
    assert _parsed_config(["train", "--config", str(config_yaml), "--out", "run"]) == TrainingConfig(
        image_size=80, batch_size=4, objects=("pcb",)
    )


def test_config_file_errors_name_the_field(tmp_path, capsys):
    from mtfcdd.cli import main

    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({"batch_sise": 4}))
    assert main(["train", "--config", str(config_file), "--data", "root", "--out", str(tmp_path / "run")]) == 1
    assert f"{config_file}: unexpected field 'batch_sise'" in capsys.readouterr().err
    # An experiment script fixes alpha and the setting: a file that says otherwise is refused.
    config_file.write_text(json.dumps({"alpha": 0.4}))
    parser = experiment_parser("multi_type_alpha_0.1", alpha=0.1, multi_class=False)
    with pytest.raises(ValueError, match="alpha is 0.4, but this command runs alpha = 0.1"):
        _parsed_config(["--data", "root", "--config", str(config_file)], parser, alpha=0.1, multi_class=False)


# Lines TensorFlow 2.21 printed on standard error in `mtfcdd benchmark`
# (TF_CPP_MIN_LOG_LEVEL=2 set), and older TensorFlow's oneDNN notice.
TENSORFLOW_LOG_LINES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796533725.784396    5074 cudart_stub.cc:31] Could not find cuda drivers on your "
    "machine, GPU will not be used.",
    "E0000 00:00:1796533773.264914    5952 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "2025-01-02 10:11:12.345678: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on. "
    "You may see slightly different numerical results.",
    "fully_quantize: 0, inference_type: 6, input_inference_type: UINT8, output_inference_type: FLOAT32",
)
KEPT_LINES = (
    "mtfcdd predict: error: a.png: not an image",
    "E0000 00:00:1796533773.264914    5952 op_kernel.cc:1840] OP_REQUIRES failed: out of memory",
    "Converting to LiteRT: float32, float16, int8 ...",
)


def test_tensorflow_log_lines_are_told_from_others():
    from mtfcdd.utils.tensorflow_logs import is_tensorflow_log_line

    assert all(is_tensorflow_log_line(line.encode()) for line in TENSORFLOW_LOG_LINES)
    assert not any(is_tensorflow_log_line(line.encode()) for line in KEPT_LINES)


def test_hidden_tensorflow_logs_filters_file_descriptor_2_only_inside():
    """C++ writes to descriptor 2 directly: written so here, hidden inside the
    block, passed on in order otherwise; a partial line is not lost."""
    lines = [line for pair in zip(TENSORFLOW_LOG_LINES, KEPT_LINES) for line in pair]
    script = (
        "import os\n"
        "from mtfcdd.utils.tensorflow_logs import hidden_tensorflow_logs\n"
        "with hidden_tensorflow_logs():\n"
        f"    for line in {lines!r}:\n"
        "        os.write(2, (line + '\\n').encode())\n"
        "    os.write(2, b'12/40 [=====>')\n"
        f"os.write(2, ({TENSORFLOW_LOG_LINES[1]!r} + '\\n').encode())\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == "\n".join(KEPT_LINES) + "\n12/40 [=====>" + TENSORFLOW_LOG_LINES[1] + "\n"


def test_hidden_tensorflow_logs_ends_while_a_descriptor_keeps_its_pipe_open():
    """A child process started in the block inherits the pipe on descriptor 2
    and outlives the block: the command still ends (within the copier's wait),
    descriptor 2 is the real standard error again, and the child's lines
    still get through."""
    script = (
        "import os, subprocess, sys, time\n"
        "from mtfcdd.utils.tensorflow_logs import hidden_tensorflow_logs\n"
        "with hidden_tensorflow_logs():\n"
        "    child = subprocess.Popen([sys.executable, '-c', "
        "'import os, time; time.sleep(8); os.write(2, b\"child line\\\\n\")'])\n"
        "os.write(2, b'after the block\\n')\n"
        "child.wait()\n"
        # The copier, left running, passes the child's line on in well under this.
        "time.sleep(1)\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.splitlines() == ["after the block", "child line"]


@pytest.mark.slow
def test_benchmark_json_is_json_alone_without_tensorflow_logs(tmp_path):
    """`mtfcdd benchmark --json | python -m json.tool` works, and TensorFlow
    (imported, converting and running) leaves no line of its own on standard error.

    The command is docs/deployment.md's, scaled down as tests/test_docs.py
    would (which leaves it to this test), with --json and --precision mixed_bfloat16.
    """
    footprint = tmp_path / "footprint.json"
    completed = subprocess.run(
        [sys.executable, "-m", "mtfcdd", "benchmark", "--image-size", "75", "--threads", "2", "--repeats", "1",
         "--precision", "mixed_bfloat16", "--out", str(footprint), "--json"],
        capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout)
    assert json.loads(footprint.read_text()) == result
    assert result["image_size"] == [75, 75]
    assert set(result["ms_per_image"]) >= {"keras_cpu", "keras_bfloat16_cpu", "tflite_float32", "tflite_int8"}
    # --precision mixed_bfloat16: the Keras model in bfloat16 too, measured
    # against the bfloat16 peak, or saying why this CPU has none.
    assert result["number_formats"]["keras_bfloat16_cpu"] == "bfloat16"
    peak = result["matmul_gflops_by_format"]["bfloat16"]
    for efficiency in result["efficiency"]["keras_bfloat16_cpu"].values():
        assert efficiency == peak if isinstance(peak, str) else 0 < efficiency <= 1.05
    # Under --json the line saying where the file went is on standard error.
    assert completed.stderr.splitlines() == [
        "Converting to LiteRT: float32, float16, int8 ...",
        "Timing, with the matmul peak between the runs ...",
        f"wrote {footprint}",
    ]
