"""Writes docs/api.md, mtfcdd's public API reference, from the docstrings.

    python docs/make_api.py            # writes docs/api.md
    python docs/make_api.py --check    # exits 1 if docs/api.md is stale

The page documents ``mtfcdd.__all__`` in the groups of the ``mtfcdd``
docstring, then ``mtfcdd.metrics.__all__``. Its text depends only on the
source, so it can be checked in tests and in review.
"""

import argparse
import ast
import importlib
import inspect
import os
import pathlib
import re
import sys

# Only the docstrings are read; TensorFlow's start-up log adds nothing here.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import mtfcdd  # noqa: E402
import mtfcdd.metrics  # noqa: E402

API_PAGE = pathlib.Path(__file__).resolve().parent / "api.md"

# The groups of the "Public API" list in mtfcdd/__init__.py, in its order.
GROUPS = (
    (
        "Model",
        (
            "build_model",
            "MultiTypeFCDD",
            "PseudoHuber",
            "anomaly_scores",
            "upsample_heatmaps",
            "MultiTypeFCDDLoss",
            "DEFECT_CODES",
            "DEFECT_NAMES",
            "NORMAL_CLASS",
            "load_trained_model",
        ),
    ),
    (
        "Data",
        (
            "load_realiad",
            "make_synthetic_iad",
            "load_dataset",
            "make_synthetic_dataset",
            "training_dataset",
            "Preprocessor",
            "AugmentationConfig",
            "expected_draws",
            "balanced_epoch_summary",
        ),
    ),
    (
        "Training, evaluation, prediction",
        (
            "TrainingConfig",
            "train",
            "evaluate",
            "evaluation_settings",
            "predict",
            "run_experiment",
            "run_demo",
        ),
    ),
    ("Deployment", (
        "export_tflite", "export_onnx", "export_openvino", "LiteRTModel", "OnnxModel", "OpenVinoModel",
    )),
)
METRICS_GROUP = "Metrics"

# Signatures longer than this get one parameter per line.
LINE_LENGTH = 88
MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY


def make_api_page():
    """The text of docs/api.md."""
    grouped_names = [name for _, names in GROUPS for name in names]
    if sorted(grouped_names) != sorted(mtfcdd.__all__):
        raise ValueError(
            "GROUPS in docs/make_api.py must list each name of mtfcdd.__all__ "
            f"once; it lists {sorted(grouped_names)}, mtfcdd.__all__ is "
            f"{sorted(mtfcdd.__all__)}."
        )
    groups = [
        (title, [_section(mtfcdd, name) for name in names])
        for title, names in GROUPS
    ]
    metrics_sections = [
        _section(mtfcdd.metrics, name) for name in mtfcdd.metrics.__all__
    ]
    groups.append((METRICS_GROUP, metrics_sections))

    lines = [
        "# API reference",
        "",
        _first_paragraph(inspect.getdoc(mtfcdd)),
        "",
        "This page is generated from the docstrings by `python "
        "docs/make_api.py`; do not edit it by hand. Change the docstrings and "
        "run the script again (`python docs/make_api.py --check` tells whether "
        "the page is current). Names are those of `mtfcdd.__all__`, grouped as "
        "in the `mtfcdd` docstring, then those of `mtfcdd.metrics.__all__`.",
        "",
        "## Contents",
        "",
    ]
    for title, sections in groups:
        lines.append(f"- [{title}](#{_anchor(title)})")
        lines.extend(
            f"  - [{heading}](#{_anchor(heading)})" for heading, _ in sections
        )
    for title, sections in groups:
        lines += ["", f"## {title}"]
        if title == METRICS_GROUP:
            lines += ["", _fenced(inspect.getdoc(mtfcdd.metrics), "text")]
        for heading, body in sections:
            lines += ["", f"### {heading}", "", body]
    return "\n".join(lines) + "\n"


def public_docstring(namespace, name):
    """The docstring of a public name of ``namespace``, or "" if it has none.

    A constant (a tuple, a dict) cannot hold a docstring; its docstring is
    the string right after its assignment, PEP 257's "attribute docstring".
    A class or function without one of its own does not borrow its base's.
    """
    value = getattr(namespace, name)
    if inspect.isclass(value) or inspect.isroutine(value):
        return inspect.cleandoc(value.__doc__ or "")
    return _attribute_docstring(_constant_module(namespace, name), name)


def _section(namespace, name):
    """(heading, markdown body) of one public name of ``namespace``."""
    value = getattr(namespace, name)
    qualified_name = f"{namespace.__name__}.{name}"
    docstring = public_docstring(namespace, name)
    if inspect.isclass(value):
        return qualified_name, _class_body(value, qualified_name, docstring)
    if inspect.isroutine(value):
        definition = _definition(qualified_name, value)
        return qualified_name, _entry(definition, value.__module__, docstring)
    definition = f"{qualified_name} = {_value_repr(value, f'{qualified_name} = ')}"
    return qualified_name, _entry(definition, _constant_module(namespace, name), docstring)


def _class_body(cls, qualified_name, docstring):
    bases = ", ".join(
        f"`{_public_class_name(base)}`" for base in cls.__bases__ if base is not object
    )
    notes = [f"Subclass of {bases}."] if bases else []
    constructor_owner = next(owner for owner in cls.__mro__ if "__init__" in vars(owner))
    if _is_ours(constructor_owner):
        definition = _definition(
            f"class {qualified_name}", cls.__init__, drop_first=True, show_return=False
        )
    else:
        # Keras's constructor arguments vary with the Keras version.
        definition = f"class {qualified_name}(**kwargs)"
        notes.append(
            f"The keyword arguments are those of `{_public_class_name(constructor_owner)}`."
        )
    lines = [_entry(definition, cls.__module__, docstring, " ".join(notes))]
    # The class's own members, then those it inherits from mtfcdd's classes.
    members = {}
    for owner in filter(_is_ours, cls.__mro__):
        for name, member in vars(owner).items():
            members.setdefault(name, member)
    for name, member in members.items():
        method = _method(cls, f"{qualified_name}.{name}", name, member)
        if method:
            definition, docstring = method
            lines += ["", f"#### {qualified_name}.{name}", "", _fenced(definition, "text")]
            if docstring:
                lines += ["", _first_paragraph(docstring)]
    return "\n".join(lines)


def _method(cls, qualified_name, name, member):
    """(definition, docstring) of a public method of ``cls`` itself, or None.

    Methods inherited from Keras are left to Keras's documentation.
    """
    if name.startswith("_"):
        return None
    if isinstance(member, property):
        function = member.fget
        definition = f"@property\n{qualified_name}"
    elif isinstance(member, (classmethod, staticmethod)):
        function = member.__func__
        decorator = type(member).__name__
        signature = _definition(qualified_name, function, drop_first=decorator == "classmethod")
        definition = f"@{decorator}\n{signature}"
    elif inspect.isfunction(member):
        function = member
        definition = _definition(qualified_name, function, drop_first=True)
    else:
        return None  # a dataclass field's default
    if function.__doc__:
        return definition, inspect.cleandoc(function.__doc__)
    # inspect.getdoc would copy Keras's docstring of an overridden method.
    # The nearest base that has it, not the one defining it: that is stable
    # across Keras versions.
    overridden = next((base for base in cls.__mro__[1:] if hasattr(base, name)), None)
    if overridden is None:
        return definition, ""
    return definition, f"Overrides `{_public_class_name(overridden)}.{name}`."


def _entry(definition, module_name, docstring, note=""):
    defined_in = " ".join(filter(None, [f"Defined in `{module_name}`.", note]))
    lines = [_fenced(definition, "text"), "", defined_in]
    if docstring:
        lines += ["", _fenced(docstring, "text")]
    return "\n".join(lines)


def _definition(name, function, drop_first=False, show_return=True):
    """``name(parameters)``, one parameter per line when it is long."""
    signature = _unquoted(inspect.signature(function))
    parameters = list(signature.parameters.values())[1 if drop_first else 0 :]
    if not show_return:
        signature = signature.replace(return_annotation=inspect.Signature.empty)
    signature = signature.replace(parameters=parameters)
    one_line = name + MEMORY_ADDRESS.sub("", str(signature))
    if len(one_line) <= LINE_LENGTH:
        return one_line
    rendered = []
    previous_kind = None
    # With the "/" and "*" markers, where str(signature) writes them.
    for parameter in parameters:
        if previous_kind is POSITIONAL_ONLY and parameter.kind is not POSITIONAL_ONLY:
            rendered.append("/")
        if parameter.kind is KEYWORD_ONLY and previous_kind not in (KEYWORD_ONLY, VAR_POSITIONAL):
            rendered.append("*")
        rendered.append(MEMORY_ADDRESS.sub("", str(parameter)))
        previous_kind = parameter.kind
    if previous_kind is POSITIONAL_ONLY:
        rendered.append("/")
    closing = ")"
    if signature.return_annotation is not inspect.Signature.empty:
        closing += " -> " + inspect.formatannotation(signature.return_annotation)
    return f"{name}(\n" + "".join(f"    {part},\n" for part in rendered) + closing


class _SourceAnnotation(str):
    """An annotation kept as its source text (``from __future__ import
    annotations``), shown as written rather than as a quoted string."""

    def __repr__(self):
        return str(self)


def _unquoted(signature):
    """``signature`` with its string annotations shown without quotes."""

    def shown(annotation):
        return _SourceAnnotation(annotation) if isinstance(annotation, str) else annotation

    parameters = [
        parameter.replace(annotation=shown(parameter.annotation))
        for parameter in signature.parameters.values()
    ]
    return signature.replace(
        parameters=parameters, return_annotation=shown(signature.return_annotation)
    )


def _constant_module(namespace, name):
    """The module that assigns a constant: unlike a function, it keeps no record."""
    if name in getattr(namespace, "_PUBLIC_API", {}):  # mtfcdd's lazy table
        return namespace._PUBLIC_API[name]
    for statement in ast.parse(inspect.getsource(namespace)).body:
        if isinstance(statement, ast.ImportFrom) and any(
            alias.name == name for alias in statement.names
        ):
            return statement.module
    return namespace.__name__


def _attribute_docstring(module_name, name):
    """The string literal right after ``name = ...`` in the module, or ""."""
    source = inspect.getsource(importlib.import_module(module_name))
    body = ast.parse(source).body
    for statement, following in zip(body, body[1:]):
        assigns_name = isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name
            for target in statement.targets
        )
        if (
            assigns_name
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            return inspect.cleandoc(following.value.value)
    return ""


def _value_repr(value, prefix):
    """``repr(value)``, one item per line when ``prefix + repr`` is long."""
    text = MEMORY_ADDRESS.sub("", repr(value))
    if len(prefix + text) <= LINE_LENGTH or type(value) not in (dict, list, tuple):
        return text
    if isinstance(value, dict):
        items = [f"{key!r}: {item!r}" for key, item in value.items()]
    else:
        items = [repr(item) for item in value]
    return text[0] + "\n" + "".join(f"    {item},\n" for item in items) + text[-1]


def _is_ours(cls):
    return cls.__module__.split(".")[0] == mtfcdd.__name__


def _public_class_name(cls):
    """``keras.Model`` rather than ``keras.src.models.model.Model``.

    Keras swaps its private ``Functional`` into the bases of a ``keras.Model``
    subclass once one is built; the page names it ``keras.Model`` either way.
    """
    if not cls.__module__.startswith("keras"):
        return f"{cls.__module__}.{cls.__qualname__}"
    if getattr(keras, cls.__name__, None) is cls:
        return f"keras.{cls.__name__}"
    if issubclass(cls, keras.Model):
        return "keras.Model"
    return f"{cls.__module__}.{cls.__qualname__}"


def _first_paragraph(docstring):
    return " ".join(docstring.split("\n\n")[0].split())


def _fenced(text, language):
    # A fence longer than any run of backticks in the text.
    longest_run = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest_run + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _anchor(heading):
    """The anchor GitHub gives a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if docs/api.md differs from the docstrings",
    )
    arguments = parser.parse_args(argv)
    page = make_api_page()
    if arguments.check:
        current = API_PAGE.read_text(encoding="utf-8") if API_PAGE.exists() else None
        if current != page:
            print(
                "docs/api.md is out of date with the docstrings; run "
                "`python docs/make_api.py` and commit docs/api.md.",
                file=sys.stderr,
            )
            return 1
        print("docs/api.md is up to date.")
        return 0
    API_PAGE.write_text(page, encoding="utf-8")
    print("Wrote docs/api.md.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
