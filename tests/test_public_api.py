"""The public API of mtfcdd/__init__.py resolves, lazily, and carries type hints."""

import inspect
import subprocess
import sys

import pytest

import mtfcdd
import mtfcdd.cli
from mtfcdd.cli.experiment import experiment_main

_UNCHECKED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


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


def missing_annotations(function, name, needs_return=True):
    """``name(parameter)`` for each parameter of ``function`` without a type
    hint (self, cls, *args and **kwargs aside), and ``name -> return`` when
    ``needs_return`` and the return has none."""
    signature = inspect.signature(function)
    missing = [
        f"{name}({parameter.name})"
        for parameter in signature.parameters.values()
        if parameter.name not in ("self", "cls")
        and parameter.kind not in _UNCHECKED_KINDS
        and parameter.annotation is inspect.Parameter.empty
    ]
    if needs_return and signature.return_annotation is inspect.Signature.empty:
        missing.append(f"{name} -> return")
    return missing


def public_functions(value, name):
    """(name, function, needs_return) of a public function, or of a class's
    ``__init__`` and the public methods and properties it defines itself."""
    if not inspect.isclass(value):
        return [(name, value, True)]
    functions = []
    for member_name, member in vars(value).items():
        if member_name == "__init__":
            functions.append((f"{name}.__init__", member, False))
        elif member_name.startswith("_"):
            continue
        elif isinstance(member, property):
            functions.append((f"{name}.{member_name}", member.fget, True))
        elif isinstance(member, (classmethod, staticmethod)):
            functions.append((f"{name}.{member_name}", member.__func__, True))
        elif inspect.isfunction(member):
            functions.append((f"{name}.{member_name}", member, True))
    return functions


def command_line_entry_points():
    """``main``, each verb module's ``register`` and the handler of every
    (sub)command, and the experiment scripts' ``experiment_main``."""
    functions = {"mtfcdd.cli.main": mtfcdd.cli.main, "mtfcdd.cli.experiment.experiment_main": experiment_main}
    for module in mtfcdd.cli.COMMAND_MODULES:
        functions[f"{module.__name__}.register"] = module.register
    for parser in mtfcdd.cli._all_parsers(mtfcdd.cli.build_parser()):
        handler = parser.get_default("handler")
        if handler is not None:
            functions[f"{handler.__module__}.{handler.__name__}"] = handler
    return functions


def test_the_public_api_is_annotated():
    missing = []
    for name in mtfcdd.__all__:
        value = getattr(mtfcdd, name)
        if inspect.isclass(value) or inspect.isroutine(value):
            for qualified_name, function, needs_return in public_functions(value, name):
                missing += missing_annotations(function, qualified_name, needs_return)
    assert missing == [], f"type hints missing: {', '.join(missing)}"


def test_the_command_line_entry_points_are_annotated():
    entry_points = command_line_entry_points()
    # One handler per verb (data's two subcommands have one each).
    assert {"mtfcdd.cli.train.run", "mtfcdd.cli.data._run_synth", "mtfcdd.cli.data._run_verify"} <= set(
        entry_points
    )
    missing = [
        entry for name, function in entry_points.items() for entry in missing_annotations(function, name)
    ]
    assert missing == [], f"type hints missing: {', '.join(missing)}"


def test_the_annotation_check_names_what_is_missing():
    def unannotated(self, count, *images, scale: float = 1.0, **options):
        return count

    def annotated(count: int, scale: float = 1.0) -> float:
        return count * scale

    class Crafted:
        def __init__(self, size):
            self.size = size

        def grow(self, step: int):
            return self.size + step

        @property
        def area(self) -> int:
            return self.size**2

        @classmethod
        def square(cls, side: int) -> "Crafted":
            return cls(side)

        def _private(self, anything):
            return anything

    assert missing_annotations(unannotated, "unannotated") == ["unannotated(count)", "unannotated -> return"]
    assert missing_annotations(annotated, "annotated") == []
    missing = [
        entry
        for name, function, needs_return in public_functions(Crafted, "Crafted")
        for entry in missing_annotations(function, name, needs_return)
    ]
    assert missing == ["Crafted.__init__(size)", "Crafted.grow -> return"]
