"""The package's stages import only earlier stages, and each package's sign lists its modules.

The stage order (docs/model.md, "Layout") lets a reader go top-down: each
folder uses only the folders above it. The imports are read from the source
(``ast``), nothing is executed, so a lazy import inside a function counts
as much as one at the top of a module.
"""

import ast
import pathlib
import re

import pytest

import mtfcdd

PACKAGE_ROOT = pathlib.Path(mtfcdd.__file__).parent

# Each stage may import its own modules and those of the stages before it.
# The root package (``__version__``, lazy public names) comes before all,
# ``python -m mtfcdd`` after all.
STAGE_ORDER = (
    "constants",      # names and choices of settings
    "utils",          # files, images, memory, progress
    "data",           # data sets, the pixels going in, the tf.data training stream
    "inference",      # the answers coming out, without Keras: scores, thresholds, scoring samples
    "model",          # the Keras network, Eq. 1-3
    "metrics",        # I-AUROC, AP, F1-max, P-AUROC, AUPRO
    "visualization",  # panels, figures, plots
    "training",       # TrainingConfig, train
    "evaluation",     # per-type tables of a test split
    "prediction",     # predict on image files
    "deploy",         # export, board runners, benchmarks
    "serve",          # the web page
    "workflows",      # an experiment, the demo
    "cli",            # the mtfcdd command
)


def stage_rank(module):
    """The position of ``module``'s stage, or None for a module outside every stage."""
    parts = module.split(".")
    if parts == ["mtfcdd"]:
        return -1
    if parts[1] == "__main__":
        return len(STAGE_ORDER)
    return STAGE_ORDER.index(parts[1]) if parts[1] in STAGE_ORDER else None


def module_name(path, root=PACKAGE_ROOT):
    """``mtfcdd.training.trainer`` for ``.../mtfcdd/training/trainer.py``."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def run_time_nodes(tree):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:``, which
    never run: an annotation may name a class of a later stage (``evaluate``
    takes a ``LiteRTModel``) without the module depending on it."""
    for node in ast.iter_child_nodes(tree):
        test = node.test if isinstance(node, ast.If) else None
        if isinstance(test, (ast.Name, ast.Attribute)) and getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING":
            for child in node.orelse:
                yield child
                yield from run_time_nodes(child)
            continue
        yield node
        yield from run_time_nodes(node)


def imported_modules(source, module, is_package, known_modules):
    """The ``mtfcdd`` modules that ``source`` (the code of ``module``) imports when it runs, anywhere in it."""
    imported = set()
    for node in run_time_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                # ``from mtfcdd.visualization import plots`` imports a module.
                submodule = f"{base}.{alias.name}"
                imported.add(submodule if submodule in known_modules else base)
    return {name for name in imported if name == "mtfcdd" or name.startswith("mtfcdd.")}


def stage_violations(module, source, is_package=False, known_modules=frozenset()):
    """One line per import of ``module`` from a later stage, naming both modules."""
    rank = stage_rank(module)
    if rank is None:
        return [f"{module} is in no stage: add its folder to STAGE_ORDER"]
    violations = []
    for target in sorted(imported_modules(source, module, is_package, known_modules)):
        target_rank = stage_rank(target)
        if target_rank is None or target_rank > rank:
            target_stage = target.split(".")[1]
            violations.append(
                f"{module} imports {target}: stage {module.split('.')[1]!r} comes before "
                f"{target_stage!r} in STAGE_ORDER"
            )
    return violations


def package_modules():
    """(module name, path) of every module of the package."""
    return [(module_name(path), path) for path in sorted(PACKAGE_ROOT.rglob("*.py"))]


def test_every_import_follows_the_stage_order():
    modules = package_modules()
    known = frozenset(name for name, _ in modules)
    violations = [
        violation
        for name, path in modules
        for violation in stage_violations(name, path.read_text(encoding="utf-8"), path.name == "__init__.py", known)
    ]
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("source", [
    "from mtfcdd.evaluation.reports import markdown\n",
    "import mtfcdd.evaluation.reports\n",
    "def later():\n    from mtfcdd.evaluation import reports\n",
    "from ..evaluation import reports\n",
])
def test_an_import_of_a_later_stage_is_named(source):
    known = frozenset({"mtfcdd.evaluation", "mtfcdd.evaluation.reports"})
    assert stage_violations("mtfcdd.training.trainer", source, known_modules=known) == [
        "mtfcdd.training.trainer imports mtfcdd.evaluation.reports: stage 'training' comes "
        "before 'evaluation' in STAGE_ORDER"
    ]


def test_imports_for_annotations_only_do_not_count():
    source = (
        "import typing\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from mtfcdd.deploy.runner import LiteRTModel\n"
        "if typing.TYPE_CHECKING:\n    import mtfcdd.serve.server\n"
        "else:\n    from mtfcdd.cli import main\n"
    )
    assert imported_modules(source, "mtfcdd.evaluation.model_evaluation", False, frozenset()) == {"mtfcdd.cli"}


def test_imports_of_earlier_stages_and_the_root_pass():
    source = (
        "from mtfcdd import __version__\nfrom mtfcdd.model.network import MultiTypeFCDD\n"
        "from . import config\nimport numpy\n"
    )
    assert stage_violations("mtfcdd.training.trainer", source) == []
    assert imported_modules(source, "mtfcdd.training.trainer", False, frozenset()) == {
        "mtfcdd", "mtfcdd.model.network", "mtfcdd.training",
    }


def test_a_folder_outside_the_stage_order_is_named():
    assert stage_violations("mtfcdd.extras.tool", "") == [
        "mtfcdd.extras.tool is in no stage: add its folder to STAGE_ORDER"
    ]


def test_every_folder_of_the_package_has_a_stage():
    folders = {path.parent.name for path in PACKAGE_ROOT.glob("*/__init__.py")}
    assert folders <= set(STAGE_ORDER), sorted(folders - set(STAGE_ORDER))


def is_named(member, sign):
    """Whether a package's docstring names ``member``: as ``name`` or ``name/``, or opening a line of a table."""
    return bool(re.search(rf"``(?:[\w.]+\.)?{member}/?``|^\s+{member}\s", sign, re.MULTILINE))


def test_each_package_sign_lists_its_modules():
    missing = []
    for init in sorted(PACKAGE_ROOT.rglob("__init__.py")):
        if init.parent == PACKAGE_ROOT:
            continue  # the root's sign lists the stages, checked above
        sign = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        members = [path.stem for path in init.parent.glob("*.py") if path.name != "__init__.py"]
        members += [path.parent.name for path in init.parent.glob("*/__init__.py")]
        missing += [
            f"{module_name(init)}: {member}" for member in sorted(members) if not is_named(member, sign)
        ]
    assert not missing, "modules missing from their package's docstring:\n" + "\n".join(missing)


def test_a_member_is_named_in_backquotes_or_in_a_table():
    assert is_named("scoring", "- ``scoring``: scores") and is_named("realiad", "- ``realiad/``: ...")
    assert is_named("presets", "The modules:\n\n    presets     the sizes")
    assert not is_named("scoring", "- ``scoring_extra``: ...\nscoring in words")


def test_the_root_sign_lists_every_stage():
    sign = mtfcdd.__doc__
    assert [stage for stage in STAGE_ORDER if f"\n    {stage}" not in sign] == []
