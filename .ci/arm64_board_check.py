"""The board path on an arm64 board's own software, under emulation.

Runs the commands docs/deployment.md gives a board user inside a Debian 12
(bookworm) arm64 root, the system Raspberry Pi OS 64-bit is built on, with
its Python 3.11, and compares their answers with the same commands on this
(x86-64) machine:

1. Here, with this checkout: the tiny synthetic set, a model at 75x75
   trained for two steps, exported to float32 and int8 LiteRT files and to
   ONNX, and the answers of ``mtfcdd predict`` and ``mtfcdd evaluate`` on
   them.
2. The arm64 root: built once with ``mmdebstrap --arch=arm64 --variant=apt
   --include=python3 bookworm`` and kept in the cache folder; qemu-user and
   binfmt_misc run its programs (the script mounts binfmt_misc and enables
   qemu-aarch64 when needed).
3. The board's packages, as docs/deployment.md installs them (the wheel of
   this checkout with ``--no-deps``; ``ai-edge-litert numpy
   opencv-python-headless``; ``flask`` for serve, ``scipy scikit-learn`` for
   evaluate, ``onnxruntime`` for ONNX files), resolved by pip on this
   machine for CPython 3.11 on aarch64 with glibc 2.36 (the root's): the
   wheels a ``pip install`` on the board picks, without byte-compiling
   under emulation.
4. In the root, without Keras or TensorFlow (checked): ``mtfcdd predict``
   on the three files, ``mtfcdd evaluate --tflite`` on the float32 file,
   ``mtfcdd serve --tflite`` answering ``GET /health`` and one ``POST
   /predict`` on 127.0.0.1.
5. The comparison: float32 (LiteRT and ONNX) scores equal to 1e-5
   relative, int8 scores within ``INT8_RELATIVE_TOLERANCE`` with the same
   detected types, the evaluation table within 0.1 points.

    sudo python .ci/arm64_board_check.py [--cache DIR] [--keep WORK_DIR]

Needs root (chroot, mounts), ``mmdebstrap``, ``qemu-user-static`` and
``binfmt-support`` (Debian/Ubuntu: ``apt-get install mmdebstrap
qemu-user-static binfmt-support``). Where they are missing it says so and
exits with 0 ("skipped"), or 1 when the environment variable ``CI`` is
``true``. Timings under emulation mean nothing; answers do.
"""

import argparse
import glob
import importlib.metadata
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEBIAN_RELEASE = "bookworm"
BOARD_PYTHON_VERSION = "311"
# Debian 12 has glibc 2.36: every manylinux tag up to it installs there.
BOARD_PLATFORMS = ["manylinux2014_aarch64"] + [f"manylinux_2_{minor}_aarch64" for minor in range(17, 37)]
BOARD_PACKAGES = (
    "ai-edge-litert", "numpy", "opencv-python-headless", "flask", "scipy", "scikit-learn", "onnxruntime",
)
ABSENT_PACKAGES = ("keras", "tensorflow")
IMAGE_SIZE = 75
PREDICTED_IMAGES = 8
FLOAT_RELATIVE_TOLERANCE = 1e-5
# Integer kernels compute the same integers on ARM and x86: with LiteRT
# 2.3.0 on both, the int8 scores were identical. 2 % is how far LiteRT 1.4.0
# on arm64 was from 2.3.0 on x86: room for another version's kernels.
INT8_RELATIVE_TOLERANCE = 0.02
TABLE_TOLERANCE_POINTS = 0.1
SERVER_START_SECONDS = 600
BOARD_SITE = "/opt/mtfcdd-board/site"
BOARD_WHEEL_SITE = "/opt/mtfcdd-board/mtfcdd"
BOARD_WORK = "/work"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "mtfcdd-arm64"),
        help="folder that keeps the arm64 root and its packages between runs (default: %(default)s)",
    )
    parser.add_argument("--keep", metavar="WORK_DIR", help="work in WORK_DIR and keep it (default: a temporary folder)")
    arguments = parser.parse_args(argv)
    started = time.monotonic()
    missing = missing_prerequisites()
    if missing:
        return skip_or_fail(missing)
    try:
        root = board_root(os.path.abspath(arguments.cache))
    except subprocess.CalledProcessError as error:
        return skip_or_fail([f"a Debian arm64 root ({' '.join(error.cmd)} failed with status {error.returncode})"])
    with tempfile.TemporaryDirectory(prefix="mtfcdd-arm64-") as temporary:
        work = os.path.abspath(arguments.keep or temporary)
        os.makedirs(work, exist_ok=True)
        minutes = {}
        expected = _timed(minutes, "x86", x86_answers, work)
        versions = _timed(minutes, "board_packages", install_board_packages, root, work)
        answers = _timed(minutes, "board_commands", board_answers, root, work)
        minutes["total"] = round((time.monotonic() - started) / 60, 1)
        report = {**compare(expected, answers), "board_versions": versions, "host_versions": host_versions(),
                  "minutes": minutes}
        with open(os.path.join(work, "arm64_board_check.json"), "w", encoding="utf-8") as file:
            json.dump(report, file, indent=2)
        print(json.dumps(report, indent=2))
    failures = report["failures"]
    print("arm64 board check: " + ("passed" if not failures else "FAILED: " + "; ".join(failures)))
    return 1 if failures else 0


def _timed(minutes, name, function, *arguments):
    started = time.monotonic()
    result = function(*arguments)
    minutes[name] = round((time.monotonic() - started) / 60, 1)
    return result


def missing_prerequisites():
    """What this machine lacks to run an arm64 root, in words."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (chroot and mounts)")
    for program, package in (("mmdebstrap", "mmdebstrap"), ("qemu-aarch64-static", "qemu-user-static"),
                             ("update-binfmts", "binfmt-support"), ("chroot", "coreutils")):
        if shutil.which(program) is None:
            missing.append(f"{program} (apt-get install {package})")
    if not missing and not enable_binfmt():
        missing.append("binfmt_misc cannot run aarch64 programs (mount it, update-binfmts --enable qemu-aarch64)")
    return missing


def skip_or_fail(missing):
    message = "arm64 board check: cannot build an arm64 root here: needs " + "; ".join(missing)
    if os.environ.get("CI") == "true":
        print(message + " (failing: CI=true)", file=sys.stderr)
        return 1
    print(message + " (skipped)")
    return 0


def enable_binfmt():
    """Mounts binfmt_misc and enables qemu-aarch64 when they are not; whether
    aarch64 programs run."""
    binfmt = "/proc/sys/fs/binfmt_misc"
    if not os.path.exists(os.path.join(binfmt, "status")):
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", binfmt], check=False)
    entry = os.path.join(binfmt, "qemu-aarch64")
    if not _is_enabled(entry):
        subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], check=False)
    return _is_enabled(entry)


def _is_enabled(entry):
    if not os.path.exists(entry):
        return False
    with open(entry, encoding="utf-8") as file:
        return file.readline().strip() == "enabled"


def mtfcdd_command(*arguments, **run_options):
    """``mtfcdd ARGUMENTS`` on this machine, with this checkout."""
    python_path = os.pathsep.join(filter(None, (REPOSITORY, os.environ.get("PYTHONPATH"))))
    environment = {**os.environ, "PYTHONPATH": python_path}
    return subprocess.run(
        ["nice", sys.executable, "-m", "mtfcdd", *arguments], env=environment, check=True, **run_options
    )


def x86_answers(work):
    """The data set, the model files and their answers on this machine."""
    print("x86-64: the tiny set, a 75x75 model (2 training steps), its float32, int8 and ONNX files ...", flush=True)
    data = os.path.join(work, "data")
    run = os.path.join(work, "run")
    mtfcdd_command("data", "synth", "--preset", "tiny", data, stdout=subprocess.DEVNULL)
    mtfcdd_command(
        "train", "--data", data, "--out", run, "--image-size", str(IMAGE_SIZE), "--backbone-weights",
        "synthetic", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", stdout=subprocess.DEVNULL,
    )
    keras_model = os.path.join(run, "model.keras")
    models = os.path.join(work, "models")
    calibration = os.path.join(data, "realiad_128", "*", "OK", "**", "*.jpg")
    exports = {
        "float32": ["--quantize", "none", "--out", os.path.join(models, "model.tflite")],
        "int8": ["--quantize", "int8", "--calibration-images", calibration, "--num-calibration", "20",
                 "--out", os.path.join(models, "model_int8.tflite")],
        "onnx": ["--format", "onnx", "--out", os.path.join(models, "model.onnx")],
    }
    for options in exports.values():
        mtfcdd_command("export", keras_model, *options, stdout=subprocess.DEVNULL)
    images = sorted(glob.glob(os.path.join(data, "realiad_128", "*", "NG", "**", "*.jpg"), recursive=True))
    images = images[:PREDICTED_IMAGES // 2] + sorted(glob.glob(calibration, recursive=True))[-PREDICTED_IMAGES // 2:]
    with open(os.path.join(work, "images.json"), "w", encoding="utf-8") as file:
        json.dump([os.path.relpath(path, work) for path in images], file)
    return {
        "predictions": {
            name: _predictions(
                lambda *arguments: mtfcdd_command(*arguments, cwd=work, stdout=subprocess.DEVNULL),
                name, work, "x86",
            )
            for name in exports
        },
        "evaluation": json.loads(mtfcdd_command(
            "evaluate", "--tflite", os.path.join(models, "model.tflite"), "--data", data, "--alpha", "0.1",
            "--json", capture_output=True, text=True,
        ).stdout),
    }


MODEL_FILES = {"float32": "models/model.tflite", "int8": "models/model_int8.tflite", "onnx": "models/model.onnx"}


def _predictions(run_mtfcdd, name, work, side):
    """Runs ``mtfcdd predict`` on the saved image list; path -> (scores, detected types)."""
    with open(os.path.join(work, "images.json"), encoding="utf-8") as file:
        images = json.load(file)
    option = "--onnx" if name == "onnx" else "--tflite"
    output = f"predictions/{side}/{name}"
    run_mtfcdd("predict", option, MODEL_FILES[name], *images, "--out", output)
    with open(os.path.join(work, output, "predictions.json"), encoding="utf-8") as file:
        answers = json.load(file)["images"]
    return {answer["path"]: (answer["scores"], answer["detected_types"]) for answer in answers}


def board_root(cache):
    """The Debian 12 arm64 root in ``cache``, built when it is not there yet."""
    root = os.path.join(cache, "root")
    if os.path.isfile(os.path.join(root, "usr", "bin", "python3")):
        print(f"arm64 root: {root} (cached)", flush=True)
        return root
    print(f"arm64 root: building {root} (mmdebstrap under emulation, several minutes) ...", flush=True)
    partial = root + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(cache, exist_ok=True)
    subprocess.run(
        ["nice", "mmdebstrap", "--arch=arm64", "--variant=apt", "--include=python3", DEBIAN_RELEASE, partial],
        check=True, stdout=subprocess.DEVNULL,
    )
    # Renamed when whole: an interrupted build is never taken for a root.
    os.rename(partial, root)
    return root


def install_board_packages(root, work):
    """The board's packages into the root, the way pip on the board picks
    them; returns their versions."""
    site = root + BOARD_SITE
    stamp = os.path.join(site, "mtfcdd-board-packages.json")
    wanted = {"packages": list(BOARD_PACKAGES), "python": BOARD_PYTHON_VERSION, "platforms": BOARD_PLATFORMS}
    if not _stamp_is(stamp, wanted):
        print("arm64 root: installing " + " ".join(BOARD_PACKAGES) + " (aarch64 wheels) ...", flush=True)
        shutil.rmtree(site, ignore_errors=True)
        _pip_for_board("install", "--target", site, *BOARD_PACKAGES)
        with open(stamp, "w", encoding="utf-8") as file:
            json.dump(wanted, file)
    wheels = os.path.join(work, "dist")
    # docs/deployment.md's two commands: build the wheel here, install it
    # on the board without its dependencies.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheels, REPOSITORY],
        check=True,
    )
    wheel_site = root + BOARD_WHEEL_SITE
    shutil.rmtree(wheel_site, ignore_errors=True)
    _pip_for_board("install", "--no-deps", "--target", wheel_site, *glob.glob(os.path.join(wheels, "*.whl")))
    return _installed_versions([site, wheel_site])


def _pip_for_board(*arguments):
    platforms = [option for platform_tag in BOARD_PLATFORMS for option in ("--platform", platform_tag)]
    subprocess.run(
        [sys.executable, "-m", "pip", *arguments, "-q", "--only-binary=:all:", "--implementation", "cp",
         "--python-version", BOARD_PYTHON_VERSION, *platforms, "--no-compile", "--disable-pip-version-check",
         "--root-user-action=ignore"],
        check=True,
    )


def _stamp_is(stamp, wanted):
    if not os.path.isfile(stamp):
        return False
    with open(stamp, encoding="utf-8") as file:
        return json.load(file) == wanted


def _installed_versions(sites):
    versions = {}
    for site in sites:
        for info in glob.glob(os.path.join(site, "*.dist-info")):
            name, version = os.path.basename(info)[: -len(".dist-info")].split("-")[:2]
            versions[name.lower().replace("_", "-")] = version
    return dict(sorted(versions.items()))


def host_versions():
    return {
        "python": platform.python_version(), "machine": platform.machine(),
        **{name: importlib.metadata.version(name) for name in ("ai-edge-litert", "onnxruntime", "tensorflow", "numpy")},
    }


# A Raspberry Pi 4's CPU (Cortex-A72, part 0xd08): qemu emulates it, and
# /proc/cpuinfo and /sys describe it as on the board. qemu-user shows ARM
# programs the x86 host's own description, on which the cpuinfo library
# (XNNPACK in LiteRT, onnxruntime) crashes; without any, it falls back to
# generic code. qemu's default CPU ("max", Armv9 with SVE2 and i8mm) gave
# wrong int8 answers in LiteRT 2.3.0 (docs/deployment.md).
BOARD_QEMU_CPU = "cortex-a72"
BOARD_CPU_COUNT = 2
BOARD_CPUINFO = "".join(
    f"processor\t: {number}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
    "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\n"
    "CPU revision\t: 3\n\n"
    for number in range(BOARD_CPU_COUNT)
)


class mounted:
    """/dev, /proc, a board's CPU description (``BOARD_CPUINFO``) and the
    work folder (at ``BOARD_WORK``) in the root; unmounted on exit."""

    def __init__(self, root, work):
        self.root = root
        self.work = work
        self.mounted = []

    def __enter__(self):
        cpu = os.path.join(self.work, "board_cpu")
        os.makedirs(os.path.join(cpu, "sys", "devices", "system", "cpu"), exist_ok=True)
        with open(os.path.join(cpu, "cpuinfo"), "w", encoding="utf-8") as file:
            file.write(BOARD_CPUINFO)
        for name in ("possible", "present", "online"):
            with open(os.path.join(cpu, "sys", "devices", "system", "cpu", name), "w", encoding="utf-8") as file:
                file.write(f"0-{BOARD_CPU_COUNT - 1}\n")
        for options, source, target in (
            (["--rbind"], "/dev", "/dev"), (["-t", "proc"], "proc", "/proc"),
            (["--bind"], os.path.join(cpu, "cpuinfo"), "/proc/cpuinfo"),
            (["--bind"], os.path.join(cpu, "sys"), "/sys"), (["--bind"], self.work, BOARD_WORK),
        ):
            if target != "/proc/cpuinfo":
                os.makedirs(self.root + target, exist_ok=True)
            subprocess.run(["mount", *options, source, self.root + target], check=True)
            self.mounted.append(self.root + target)
        return self

    def __exit__(self, *exception):
        for target in reversed(self.mounted):
            subprocess.run(["umount", "-R", "-l", target], check=False)


def board_command(root, *arguments, **run_options):
    """A command in the arm64 root, with the board's packages only."""
    environment = [
        f"QEMU_CPU={BOARD_QEMU_CPU}", "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8",
        f"PYTHONPATH={BOARD_WHEEL_SITE}:{BOARD_SITE}",
    ]
    command = ["nice", "chroot", root, "/usr/bin/env", "-i", *environment, "sh", "-c",
               f'cd {BOARD_WORK} && exec "$@"', "sh", *arguments]
    return command, run_options


def run_in_board(root, *arguments, **run_options):
    command, run_options = board_command(root, *arguments, **run_options)
    return subprocess.run(command, check=True, **run_options)


def board_answers(root, work):
    """What the board's software answers, and what it has installed."""
    print("arm64: predict (float32, int8, ONNX), evaluate, serve, under emulation ...", flush=True)
    mtfcdd = ("python3", "-m", "mtfcdd")

    def predictions(name):
        return _predictions(
            lambda *arguments: run_in_board(root, *mtfcdd, *arguments, stdout=subprocess.DEVNULL),
            name, work, "arm64",
        )

    with mounted(root, work):
        return _board_answers(root, work, mtfcdd, predictions)


def _board_answers(root, work, mtfcdd, predictions):
    probe = run_in_board(
        root, "python3", "-c",
        "import importlib.util, json, platform; print(json.dumps({'machine': platform.machine(), "
        "'python': platform.python_version(), 'present': [name for name in "
        f"{ABSENT_PACKAGES!r} if importlib.util.find_spec(name)]}}))",
        capture_output=True, text=True,
    )
    return {
        "system": json.loads(probe.stdout),
        "predictions": {name: predictions(name) for name in MODEL_FILES},
        "evaluation": json.loads(run_in_board(
            root, *mtfcdd, "evaluate", "--tflite", MODEL_FILES["float32"], "--data", "data", "--alpha", "0.1",
            "--json", capture_output=True, text=True,
        ).stdout),
        "served": _served(root, mtfcdd, work),
    }


def _served(root, mtfcdd, work):
    """``mtfcdd serve --tflite`` in the root: its /health and one /predict answer."""
    with open(os.path.join(work, "images.json"), encoding="utf-8") as file:
        image = json.load(file)[0]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command, _ = board_command(root, *mtfcdd, "serve", "--tflite", MODEL_FILES["float32"], "--port", str(port))
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        health = _wait_for_health(f"http://127.0.0.1:{port}/health", server)
        with open(os.path.join(work, image), "rb") as file:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/predict", data=file.read(), headers={"Content-Type": "image/jpeg"},
            )
        with urllib.request.urlopen(request, timeout=SERVER_START_SECONDS) as response:
            answer = json.load(response)
        return {"health": health, "image": image, "scores": answer["scores"],
                "detected_types": answer["detected_types"]}
    finally:
        os.killpg(server.pid, 15)
        server.wait()


def _wait_for_health(url, server):
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"mtfcdd serve stopped with status {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.load(response)
        except OSError:
            time.sleep(2)
    raise RuntimeError(f"mtfcdd serve did not answer {url} within {SERVER_START_SECONDS} s")


def compare(expected, answers):
    """The differences between x86 and arm64 answers, and the failures."""
    failures = []
    system = answers["system"]
    if system["machine"] != "aarch64":
        failures.append(f"the root runs on {system['machine']}, not aarch64")
    if system["present"]:
        failures.append(f"the board has {system['present']} installed")
    report = {"board_system": system, "largest_relative_difference": {}, "detected_types_differ": {}}
    tolerances = {"float32": FLOAT_RELATIVE_TOLERANCE, "int8": INT8_RELATIVE_TOLERANCE,
                  "onnx": FLOAT_RELATIVE_TOLERANCE}
    for name, tolerance in tolerances.items():
        x86, arm64 = expected["predictions"][name], answers["predictions"][name]
        if sorted(x86) != sorted(arm64):
            failures.append(f"{name}: the board answered for other images")
            continue
        difference = max(_relative_difference(x86[path][0], arm64[path][0]) for path in x86)
        flipped = {path: set(x86[path][1]) ^ set(arm64[path][1]) for path in x86}
        # A type detected on one side only has its threshold between the two
        # scores: where they agree within the tolerance, the score sits on the
        # threshold itself (a model trained for two steps puts many there),
        # and either answer is right.
        differing = [
            path for path, codes in flipped.items()
            if any(_relative_difference({code: x86[path][0][code]}, arm64[path][0]) > tolerance for code in codes)
        ]
        report["largest_relative_difference"][name] = difference
        report["detected_types_differ"][name] = len(differing)
        report.setdefault("detected_types_at_threshold", {})[name] = sum(
            bool(codes) for codes in flipped.values()
        ) - len(differing)
        if difference > tolerance:
            failures.append(f"{name}: scores differ by {difference:.2e} relative (tolerance {tolerance:g})")
        if differing:
            failures.append(f"{name}: other detected types for {len(differing)} images")
    table_difference = max(
        _points_apart(value, answers["evaluation"]["metrics"][code][metric])
        for code, metrics in expected["evaluation"]["metrics"].items()
        for metric, value in metrics.items()
    )
    report["evaluation_largest_difference_points"] = table_difference
    if table_difference > TABLE_TOLERANCE_POINTS:
        failures.append(f"evaluate: the tables differ by {table_difference:.3f} points")
    served = answers["served"]
    served_difference = _relative_difference(expected["predictions"]["float32"][served["image"]][0], served["scores"])
    report["served"] = {"health": served["health"], "largest_relative_difference": served_difference}
    if served["health"].get("status") != "ok" or served_difference > FLOAT_RELATIVE_TOLERANCE:
        failures.append(f"serve: health {served['health']}, scores differ by {served_difference:.2e} relative")
    report["failures"] = failures
    return report


def _points_apart(value, other):
    """Two metrics' difference in points; one undefined on one side only is
    a whole scale apart."""
    if value is None or other is None:
        return 0.0 if value is other else 100.0
    return abs(value - other) * 100


def _relative_difference(expected_scores, scores):
    return max(
        abs(scores[code] - value) / max(abs(value), 1e-12) for code, value in expected_scores.items()
    )


if __name__ == "__main__":
    sys.exit(main())
