"""The package passes its type checker, as pyproject.toml configures it."""

import pathlib

import mypy.api
import pytest

pytestmark = [pytest.mark.slow]

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]


def test_the_package_passes_mypy(monkeypatch, tmp_path):
    monkeypatch.chdir(REPOSITORY)
    report, errors, status = mypy.api.run(["--cache-dir", str(tmp_path / "mypy_cache")])
    assert status == 0, report + errors
