"""docs/api.md is current, and every public name has a docstring."""

import importlib.util
import inspect
import pathlib

import pytest

import mtfcdd
import mtfcdd.metrics

MAKE_API = pathlib.Path(__file__).resolve().parents[1] / "docs" / "make_api.py"


@pytest.fixture(scope="module")
def make_api():
    # docs/ is not a package: load the script by its path.
    spec = importlib.util.spec_from_file_location("make_api", MAKE_API)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def api_page(make_api):
    return make_api.make_api_page()


def test_api_page_is_up_to_date(make_api, api_page):
    assert make_api.API_PAGE.exists(), "docs/api.md is missing; run `python docs/make_api.py`."
    assert make_api.API_PAGE.read_text(encoding="utf-8") == api_page, (
        "docs/api.md is out of date with the docstrings; run `python docs/make_api.py`."
    )


def test_public_names_have_docstrings(make_api):
    metric_functions = [
        name
        for name in mtfcdd.metrics.__all__
        if inspect.isfunction(getattr(mtfcdd.metrics, name))
    ]
    undocumented = [
        f"mtfcdd.{name}"
        for name in mtfcdd.__all__
        if not make_api.public_docstring(mtfcdd, name)
    ] + [
        f"mtfcdd.metrics.{name}"
        for name in metric_functions
        if not make_api.public_docstring(mtfcdd.metrics, name)
    ]
    assert metric_functions
    assert not undocumented, f"Public names without a docstring: {undocumented}."


def test_api_page_has_a_section_per_public_name(api_page):
    headings = set(api_page.splitlines())
    missing = [name for name in mtfcdd.__all__ if f"### mtfcdd.{name}" not in headings]
    assert not missing, f"docs/api.md has no section for {missing}."
