"""Every command and code block of README.md and docs/ runs (issue: docs).

The ```bash and ```python blocks of each page run in order, in one sandbox
folder per page, the way a reader pastes them: python blocks in one shared
namespace, bash blocks in bash, except that a block of plain `mtfcdd ...`
and `python script.py ...` commands runs them through their entry points in
this process (`simple_commands`), which is what bash would run, without a
TensorFlow start-up per command. The sandbox holds the `tiny`
synthetic data set where the pages expect a Real-IAD download
(`data/realiad`) and a small trained model where they expect one
(`results/model.keras`).

The pages show paper-size commands; `SCALE_DOWN` (tests/docs_blocks.py)
lists every change the test makes to them so that they run on the tiny set
in seconds and offline. `NOT_RUN` lists the few commands that cannot run
inside a test, each with the reason; `RUN_ELSEWHERE` the pages another test
runs block by block.
"""

import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys

import pytest
from docs_blocks import PAGES, REPOSITORY, RUNNABLE, SCALE_DOWN, code_blocks, scaled_down, simple_commands

STARTS_A_SERVER = (
    "installs, then starts a server that runs until Ctrl+C; tests/test_serve.py builds the same "
    "server (the verb's own code), checks its answers and drives its page in Chromium"
)
# Blocks that do not run here: (page, first line of the block, why).
NOT_RUN = (
    ("README.md", 'pip install -e ".[test]" && python -m pytest',
     "it is this test run; tests/test_docs.py checks that .ci/run runs it word for word"),
    ("README.md", 'pip install -e ".[plots]" && mtfcdd demo',
     "installing is what .ci/run does; tests/test_experiments.py::test_demo_end_to_end_at_tiny_size "
     "runs `mtfcdd demo` on the tiny set and checks what it writes"),
    ("docs/model.md", 'python -c "import keras; keras.applications.InceptionResNetV2(include_top=False)"',
     "downloads the ImageNet weights: no network here"),
    ("docs/deployment.md", "python3 -m venv ~/mtfcdd-env && . ~/mtfcdd-env/bin/activate",
     "sets up a board; tests/test_deploy.py runs the runner with Keras and TensorFlow blocked"),
    ("docs/deployment.md", "pip wheel --no-deps --no-build-isolation -w dist .      # development machine",
     "installs on a board: here it would replace the test environment's own mtfcdd"),
    ("README.md", 'pip install -e ".[serve]"', STARTS_A_SERVER),
    ("docs/deployment.md", 'pip install -e ".[serve]"', STARTS_A_SERVER),
    ("docs/deployment.md", "python experiments/serve_hostile_load.py model299.keras --half-open 200 --bombs 20",
     "a load test that holds the server for minutes: tests/test_hostile_input.py checks each refusal it counts"),
    ("docs/deployment.md", "sudo python .ci/arm64_board_check.py",
     "builds a Debian arm64 root and runs the board's commands under qemu, minutes: .ci/run runs it"),
    ("docs/deployment.md", 'curl -F file=@part.jpg "http://127.0.0.1:8080/predict"',
     "needs a running server: tests/test_serve.py runs this very command against its own"),
    ("docs/deployment.md", "mtfcdd export results/model.keras --format onnx --out deploy/model.onnx",
     "ONNX exports cost ~10 s each: tests/test_onnx.py runs these exports (float32 and int8), predict --onnx "
     "and evaluate --onnx through the same CLI"),
    ("docs/deployment.md", "mtfcdd demo --out mtfcdd_demo",
     "trains the demo's model (minutes), then evaluates it in float32 and bfloat16, or converts it "
     "six times and evaluates eight runtimes: tests/test_precision.py::"
     "test_predict_evaluate_and_serve_take_precision and tests/test_onnx.py::"
     "test_runtime_comparison_script run them on the tiny set"),
    ("docs/deployment.md", "python experiments/runtime_comparison.py mtfcdd_demo/run/model.keras --data mtfcdd_demo/data "
     "--alpha 0.4 \\",
     "the demo's model converted six times and eight runtimes evaluated and timed, minutes: tests/test_onnx.py::"
     "test_runtime_comparison_script runs the script on the tiny set"),
    ("docs/deployment.md", "import mtfcdd",
     "the demo's model and four conversions, minutes: tests/test_deploy.py and tests/test_onnx.py evaluate "
     "converted files against the Keras model"),
    ("docs/deployment.md", "from ai_edge_litert.interpreter import load_delegate",
     "needs a Coral Edge TPU and its library: tests/test_board.py checks the delegates' path with LiteRT's "
     "load_delegate and Interpreter mocked"),
    ("docs/deployment.md", "mtfcdd benchmark --image-size 299 --threads 2 --repeats 10 --out results/footprint.json",
     "converts and times the model in a fresh process (it sets TensorFlow's threads), ~50 s: "
     "tests/test_cli.py::test_benchmark_json_is_json_alone_without_tensorflow_logs runs this command "
     "at 75x75 with --json and checks the file it writes"),
    ("docs/training.md", "# on host-a (worker 0, the chief)",
     "needs two machines; tests/test_multi_worker.py runs two workers on this one with TF_CONFIG"),
    ("docs/training.md", "#!/bin/bash", "a Slurm batch script: needs a Slurm cluster"),
    ("docs/training.md", "python experiments/training_speed.py --data data/realiad --alpha 0.4 "
     "--image-size 96 --batch-size 32",
     "times six training settings in turns, minutes on 2 cores; tests/test_throughput.py runs "
     "its measurement, interleaved_step_seconds"),
    ("docs/training.md", "pip download keras==3.15.1 -d keras_wheels --only-binary=:all: "
     "--python-version 3.11 --platform manylinux_2_28_x86_64",
     "fetches wheels, then runs on a GPU server for up to 4 minutes; tests/test_gpu_check.py runs "
     "the check at tiny sizes on the CPU with TensorFlow blocked"),
)

def _not_run_reason(page, code):
    first_line = code.strip().splitlines()[0]
    for not_run_page, not_run_line, reason in NOT_RUN:
        if page == not_run_page and first_line == not_run_line:
            return reason
    return None


def _runnable_blocks(page):
    return [
        (language, line, code) for language, line, code in code_blocks(page)
        if language in RUNNABLE and not _not_run_reason(page, code)
    ]


@pytest.fixture(scope="module")
def sandbox_template(tiny_dataset, tmp_path_factory):
    """What every page starts from: the tiny set as data/realiad, a model, the scripts."""
    import mtfcdd

    template = tmp_path_factory.mktemp("docs_template")
    # The pages run from the repository's root, where its scripts are.
    for scripts in ("data_prep", "experiments"):
        os.symlink(os.path.join(REPOSITORY, scripts), template / scripts)
    shutil.copytree(tiny_dataset, template / "data" / "realiad")
    model = mtfcdd.build_model(8, 75, backbone_weights=None)
    model.thresholds = (0.5,) * 8
    os.makedirs(template / "results")
    model.save(template / "results" / "model.keras")
    return template


# Pages whose blocks another test runs in full: (page, the test, why).
RUN_ELSEWHERE = (
    ("docs/tutorial.md", "tests/test_notebook.py::test_the_notebook_runs_quietly_with_figures_inline",
     "docs/tutorial.ipynb's code cells are this page's blocks in order (tests/test_notebook.py checks "
     "it with this file's parser); that test runs them all, scaled down as here, in a kernel"),
)


def _pages_run_here():
    elsewhere = {page for page, _, _ in RUN_ELSEWHERE}
    return [page for page in PAGES if _runnable_blocks(page) and page not in elsewhere]


@pytest.mark.slow
@pytest.mark.docs
@pytest.mark.parametrize("page", _pages_run_here())
def test_every_block_of_the_page_runs(page, sandbox_template, tmp_path, monkeypatch):
    sandbox = tmp_path / "sandbox"
    shutil.copytree(sandbox_template, sandbox, symlinks=True)
    monkeypatch.chdir(sandbox)
    namespace = {"__name__": "__docs__"}
    for language, line, code in _runnable_blocks(page):
        code = scaled_down(code)
        where = f"{page}, block at line {line}"
        if language == "python":
            exec(compile(code, where, "exec"), namespace)
            continue
        commands = simple_commands(code)
        if commands is None:
            _run_in_bash(code, where)
        for command in commands or ():
            _run_in_process(command, where, monkeypatch)


def _run_in_process(command, where, monkeypatch):
    from mtfcdd.cli import main

    words = shlex.split(command)
    if words[0] == "mtfcdd":
        status = main(words[1:])
    else:
        monkeypatch.setattr(sys, "argv", words[1:])
        try:
            runpy.run_path(words[1], run_name="__main__")
            status = 0
        except SystemExit as exit_:
            status = exit_.code or 0
    assert status == 0, f"{where}: `{command}` exited with {status}"


def _run_in_bash(code, where):
    completed = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, (
        f"{where} failed (exit {completed.returncode}):\n{code}\n"
        f"stdout:\n{completed.stdout[-3000:]}\nstderr:\n{completed.stderr[-3000:]}"
    )


def test_simple_commands_are_told_from_shell_syntax():
    assert simple_commands("mtfcdd train --data d \\\n    --out o   # note\npython x.py 'a/*.jpg' && mtfcdd demo") == [
        "mtfcdd train --data d      --out o", "python x.py 'a/*.jpg'", "mtfcdd demo",
    ]
    for code in ("mtfcdd data verify d --json > out.json", "ls runs", "mtfcdd benchmark --json f",
                 "python x.py a/*.jpg", "mtfcdd demo | tail -1"):
        assert simple_commands(code) is None, code


def test_every_not_run_block_exists_and_the_rest_is_runnable():
    """NOT_RUN names real blocks, RUN_ELSEWHERE real tests, and no command hides in an untagged block."""
    for page, first_line, _ in NOT_RUN:
        first_lines = [code.strip().splitlines()[0] for _, _, code in code_blocks(page)]
        assert first_line in first_lines, f"{page}: no block starts with {first_line!r}"
    for page, test, _ in RUN_ELSEWHERE:
        path, name = test.split("::")
        with open(os.path.join(REPOSITORY, path), encoding="utf-8") as file:
            assert f"def {name}(" in file.read(), f"{page}: {test} does not exist"
    command = re.compile(r"^\s*(mtfcdd|python3?|pip) ", re.MULTILINE)
    for page in PAGES:
        for language, line, code in code_blocks(page):
            if language not in RUNNABLE:
                assert not command.search(code), (
                    f"{page}, line {line}: a command in a block fenced as "
                    f"{language or 'plain text'!r}; fence it as bash so that it is tested"
                )


def test_source_excerpts_match_the_source():
    excerpts = [
        (page, line, language[len("source="):], code)
        for page in PAGES for language, line, code in code_blocks(page)
        if language.startswith("source=")
    ]
    assert excerpts, "the tutorial shows the code of each equation"
    for page, line, path, code in excerpts:
        with open(os.path.join(REPOSITORY, path), encoding="utf-8") as file:
            assert code in file.read(), (
                f"{page}, line {line}: this excerpt is no longer in {path}; "
                f"copy the current lines into the page:\n{code}"
            )


def test_readme_caption_quotes_the_run_that_made_the_figure():
    """The README's numbers are those of the demo run behind its picture."""
    with open(os.path.join(REPOSITORY, "docs", "images", "figures.json"), encoding="utf-8") as file:
        record = json.load(file)
    figure = record["demo_heatmaps_per_type.png"]
    with open(os.path.join(REPOSITORY, "README.md"), encoding="utf-8") as file:
        readme = " ".join(file.read().split())
    mean = figure["mean"]
    assert "docs/images/demo_heatmaps_per_type.png" in readme
    assert (
        f"mean per-type I-AUROC {mean['I-AUROC']:.3f}, P-AUROC {mean['P-AUROC']:.3f}, "
        f"AUPRO {mean['AUPRO']:.3f}"
    ) in readme
    assert f"{figure['settings']['test_images']} test images" in readme


def test_readme_test_command_is_what_ci_runs():
    readme_commands = [code.strip() for language, _, code in code_blocks("README.md") if language == "bash"]
    with open(os.path.join(REPOSITORY, ".ci", "run"), encoding="utf-8") as file:
        ci_lines = [line.strip() for line in file]
    assert 'pip install -e ".[test]" && python -m pytest' in readme_commands
    assert 'pip install -e ".[test]" && python -m pytest' in ci_lines


def test_scale_down_keeps_the_commands_and_changes_only_sizes():
    assert scaled_down("mtfcdd train --data data/realiad --out runs/a --image-size 299") == (
        "mtfcdd train --epochs 1 --steps-per-epoch 2 --batch-size 4 --backbone-weights none --image-size 75 "
        "--data data/realiad --out runs/a --image-size 75"
    )
    assert scaled_down("mtfcdd train --out runs/a --resume") == "mtfcdd train --out runs/a --resume"
    assert scaled_down("python experiments/multi_type_alpha_0.1.py --data data/realiad --epochs 3") == (
        "python experiments/multi_type_alpha_0.1.py --epochs 1 --steps-per-epoch 2 --batch-size 4 "
        "--backbone-weights none --image-size 75 --data data/realiad --epochs 1"
    )
    # A page's own size wins (the last option given); a config without one gets 75.
    assert scaled_down("TrainingConfig(alpha=0.1)") == (
        "TrainingConfig(image_size=75, epochs=1, steps_per_epoch=2, batch_size=4, alpha=0.1)"
    )
    assert scaled_down("TrainingConfig(image_size=128)") == (
        "TrainingConfig(epochs=1, steps_per_epoch=2, batch_size=4, image_size=128)"
    )


def test_every_scale_down_rule_changes_some_block():
    """No rule outlives the command it was written for."""
    blocks = [code for page in PAGES for _, _, code in _runnable_blocks(page)]
    for pattern, _, why in SCALE_DOWN:
        assert any(re.search(pattern, code, flags=re.MULTILINE) for code in blocks), (
            f"SCALE_DOWN rule {pattern!r} ({why}) matches no block of the docs; remove it"
        )
