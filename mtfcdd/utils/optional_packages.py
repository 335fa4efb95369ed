"""Optional packages: imported where a feature needs them, with a hint when absent.

A board installs only what it runs (docs/deployment.md): ai-edge-litert for
LiteRT files, onnxruntime for ONNX files, SciPy and scikit-learn to evaluate;
a workstation adds tf2onnx to write ONNX files. A missing one is reported in
one line that says what to install (mtfcdd's extra, where one has it),
instead of a bare ``ModuleNotFoundError``.
"""

import importlib


class MissingPackageError(ImportError):
    """An optional package that a feature needs cannot be imported."""


def import_optional(module_name, package, feature, extra=None):
    """Imports ``module_name``, or says what installs it.

    Args:
        module_name: the module to import, e.g. ``"ai_edge_litert.interpreter"``.
        package: the distribution that provides it, e.g. ``"ai-edge-litert"``.
        feature: what needs it, for the message, e.g. ``"a LiteRT model"``.
        extra: mtfcdd's extra that installs it, e.g. ``"litert"``; None
            names the package itself.

    Raises:
        MissingPackageError: a one-line message with the ``pip install``
            command, raised from the original ``ImportError``.
    """
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        install = package if extra is None else f'"mtfcdd[{extra}]"'
        raise MissingPackageError(
            f"{feature} needs {package}, which cannot be imported ({reason}): pip install {install}"
        ) from error
