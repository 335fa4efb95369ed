"""Optional packages: imported where a feature needs them, with a hint when absent.

A board installs only what it runs (docs/deployment.md): ai-edge-litert for
LiteRT files, onnxruntime for ONNX files, tf2onnx to write ONNX files. A
missing one is reported in one line that names the extra which installs it,
instead of a bare ``ModuleNotFoundError``.
"""

import importlib


class MissingPackageError(ImportError):
    """An optional package that a feature needs cannot be imported."""


def import_optional(module_name, package, extra, feature):
    """Imports ``module_name``, or says which extra installs it.

    Args:
        module_name: the module to import, e.g. ``"ai_edge_litert.interpreter"``.
        package: the distribution that provides it, e.g. ``"ai-edge-litert"``.
        extra: mtfcdd's extra that installs it, e.g. ``"litert"``.
        feature: what needs it, for the message, e.g. ``"a LiteRT model"``.

    Raises:
        MissingPackageError: a one-line message with the ``pip install``
            command, raised from the original ``ImportError``.
    """
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MissingPackageError(
            f"{feature} needs {package}, which cannot be imported ({reason}): "
            f'pip install "mtfcdd[{extra}]"'
        ) from error
