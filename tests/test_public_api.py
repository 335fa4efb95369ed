"""The public API of mtfcdd/__init__.py resolves, and lazily."""

import subprocess
import sys

import pytest

import mtfcdd


def test_every_public_name_resolves():
    for name in mtfcdd.__all__:
        assert getattr(mtfcdd, name) is not None, name


@pytest.mark.slow
def test_plain_import_lets_keras_load_saved_models(tmp_path):
    model = mtfcdd.build_model(1, 75, backbone_weights=None)
    model.save(tmp_path / "model.keras")
    code = (
        "import sys, keras, mtfcdd; "
        "print(type(keras.saving.load_model(sys.argv[1])).__name__, 'mtfcdd.training.trainer' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "model.keras")], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    # The model's classes are registered; the rest of the package stays unloaded.
    assert completed.stdout.split() == ["MultiTypeFCDD", "False"]


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
