"""The docs' code blocks, read as a reader sees them and scaled down to the
tiny data set: shared by tests/test_docs.py, which runs them, and
tests/test_notebook.py, which runs the tutorial's as a notebook.

The pages show paper-size commands (299x299 inputs, ImageNet weights, 10
balanced epochs of 15,000 steps). `SCALE_DOWN` lists every change the tests
make to them so that they run on the tiny set in seconds and offline; a
page changed in any other way is not tested.
"""

import os
import re

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ("README.md",) + tuple(
    os.path.join("docs", name)
    for name in sorted(os.listdir(os.path.join(REPOSITORY, "docs")))
    if name.endswith(".md")
)
RUNNABLE = ("bash", "python")
TRAINING_STEPS = "--epochs 1 --steps-per-epoch 2 --batch-size 4 --backbone-weights none --image-size 75"

# (pattern, replacement, why); applied in this order to every runnable block.
SCALE_DOWN = (
    (r"\b299\b", "75", "the paper's 299x299 input: 75x75 runs in a fraction of the time"),
    (r"\b96\b", "75", "the synthetic backbone's 96x96 course input: 75x75 takes 40 % less"),
    (r"realiad_(1024|256)\b", "realiad_128", "Real-IAD's and the demo set's image folders: "
     "the tiny set's is realiad_128"),
    (r"--preset (demo|full)\b", "--preset tiny", "the tiny synthetic set: 220 images"),
    (r'backbone_weights="imagenet"', "backbone_weights=None", "no network: no ImageNet download"),
    (r"\bmtfcdd train\b(?![^\n]*--resume)", f"mtfcdd train {TRAINING_STEPS}",
     "a few training steps (a resumed run keeps its own)"),
    (r"(experiments/(multi_type|multi_class)_alpha_[0-9.]+\.py)(?![^\n]*--resume)",
     rf"\1 {TRAINING_STEPS}", "a few training steps"),
    (r"--epochs \d+", "--epochs 1", "one epoch"),
    (r"--steps-per-epoch \d+", "--steps-per-epoch 2", "a few training steps"),
    (r"\bTrainingConfig\(", "TrainingConfig(epochs=1, steps_per_epoch=2, batch_size=4, ",
     "one epoch of a few training steps (the paper runs train 10 balanced epochs)"),
    (r"\bTrainingConfig\((?![^\n]*\bimage_size=)", "TrainingConfig(image_size=75, ",
     "75x75 inputs where a page keeps the default size (299): its training and threshold "
     "fitting run in a fraction of the time"),
    (r"--repeats \d+", "--repeats 1", "one timed run"),
    (r"--count \d+", "--count 3", "a few timed images"),
    (r"--num-calibration 100\b", "--num-calibration 8", "fewer calibration images"),
    (r"num_calibration_images=100\b", "num_calibration_images=8", "fewer calibration images"),
)

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<language>[\w+-]*)(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```",
    re.MULTILINE | re.DOTALL,
)
# A block fenced as ```python source=PATH is an excerpt of that file, shown
# beside an equation: it is checked against the file instead of run.
_SOURCE = re.compile(r"\bsource=(\S+)")


def code_blocks(page):
    """(language, first line number, code) of each fenced block of a page.

    The language of an excerpt of the package's source is "source=PATH".
    """
    with open(os.path.join(REPOSITORY, page), encoding="utf-8") as file:
        text = file.read()
    blocks = []
    for match in _FENCE.finditer(text):
        indent = len(match.group("indent"))
        code = "".join(line[indent:] for line in match.group("body").splitlines(keepends=True))
        source = _SOURCE.search(match.group("info"))
        language = f"source={source.group(1)}" if source else match.group("language")
        blocks.append((language, text.count("\n", 0, match.start()) + 1, code))
    return blocks


def scaled_down(code):
    for pattern, replacement, _ in SCALE_DOWN:
        code = re.sub(pattern, replacement, code, flags=re.MULTILINE)
    return code


# Commands the tests run in their own process (tests/test_docs.py) or kernel
# (tests/test_notebook.py), as their entry points, to spare a TensorFlow
# start-up (~5 s) per command. `mtfcdd benchmark` sets
# TensorFlow's thread counts, which only a fresh process can do.
_IN_PROCESS = re.compile(r"^(mtfcdd (?!benchmark\b)|python \S+\.py\b)")
_SHELL_SYNTAX = re.compile(r"[*?\[\]$<>|;~`(){}]|&(?!&)")


def simple_commands(code):
    """The commands of a bash block, if it is only ``&&``-chained commands
    that an entry point called in-process runs exactly as bash would; else None."""
    joined = re.sub(r"\\\n", " ", code)
    commands = []
    for line in joined.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        for command in line.split(" && "):
            unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "", command)
            if not _IN_PROCESS.match(command) or _SHELL_SYNTAX.search(unquoted):
                return None
            commands.append(command.strip())
    return commands
