"""The public API of mtfcdd/__init__.py resolves, and lazily."""

import subprocess
import sys

import pytest

import mtfcdd


def test_every_public_name_resolves():
    for name in mtfcdd.__all__:
        assert getattr(mtfcdd, name) is not None, name


def test_import_is_lazy():
    code = "import sys, mtfcdd; print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["False", "False"]


def test_version_and_help_flags(capsys):
    from mtfcdd.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"mtfcdd {mtfcdd.__version__}"
    assert main([]) == 0
    help_text = capsys.readouterr().out
    for verb in ("demo", "data", "balanced-epochs", "train", "evaluate", "predict", "export", "benchmark"):
        assert verb in help_text
