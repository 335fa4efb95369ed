"""LICENSE, CITATION.cff and CHANGELOG.md agree with the package (issue: pictures)."""

import configparser
import pathlib
import re

import mtfcdd

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]


def _setup_metadata():
    setup = configparser.ConfigParser()
    setup.read(REPOSITORY / "setup.cfg")
    return setup["metadata"]


def _citation_field(name, text):
    """A top-level ``name: value`` of CITATION.cff (YAML, read without a YAML library)."""
    match = re.search(rf"^{name}: *(.+)$", text, re.MULTILINE)
    return match.group(1).strip().strip('"') if match else None


def test_license_file_is_the_license_setup_cfg_declares():
    assert _setup_metadata()["license"] == "Apache-2.0"
    text = (REPOSITORY / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_citation_cites_the_paper_and_this_version_of_the_package():
    text = (REPOSITORY / "CITATION.cff").read_text(encoding="utf-8")
    assert _citation_field("cff-version", text) == "1.2.0"
    assert _citation_field("version", text) == mtfcdd.__version__
    assert _citation_field("license", text) == _setup_metadata()["license"]
    assert _citation_field("type", text) == "software"
    paper = text[text.index("preferred-citation:"):]
    assert "title: Explainable Deep Convolutional Multi-Type Anomaly Detection" in paper
    assert [name for name in re.findall(r"family-names: (\w+)", paper)] == ["George", "Mihaylova", "Anderson"]


def test_changelog_has_a_section_for_this_version():
    headings = re.findall(r"^## (.+)$", (REPOSITORY / "CHANGELOG.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert headings[0] == "Unreleased" and mtfcdd.__version__ in headings
