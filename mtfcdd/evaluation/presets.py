"""Named evaluation settings: the paper's protocol, or the authors' code's.

``evaluation_settings("authors")`` gives the keyword arguments of
``mtfcdd.evaluation.model_evaluation.evaluate`` that reproduce the authors'
published ``evaluate.py``: image scores from the max of the map, every
channel on every test image against every mask, their AUPRO integration
(``mtfcdd.metrics.aupro``) and their mask resizing (bicubic, then ``> 0``).
``"paper"`` is the package's default (docs/realiad.md, "Differences from
the paper").
"""

from mtfcdd.constants import AUPRO_INTEGRATIONS, MASK_RESIZINGS, PIXEL_PROTOCOLS

EVALUATION_PRESETS: dict[str, dict[str, str | None]] = {
    # reduction None: the model's own, the mean of Eq. 2 unless it was
    # trained with another.
    "paper": {"reduction": None, "pixel_protocol": "per-type", "aupro": "exact", "mask_resizing": "nearest"},
    "authors": {"reduction": "max", "pixel_protocol": "authors", "aupro": "authors", "mask_resizing": "bicubic"},
}
"""The settings of each named evaluation preset."""

EVALUATION_FIELDS = tuple(EVALUATION_PRESETS["paper"])


def evaluation_settings(preset: str = "paper", **changes: str | None) -> dict[str, str | None]:
    """``evaluate``'s settings of ``preset``, ``changes`` applied on top.

    Returns:
        A dict of ``preset``, ``reduction``, ``pixel_protocol``, ``aupro``
        and ``mask_resizing``, to pass as ``evaluate(model, samples,
        **settings)``; the result records each.
    """
    if preset not in EVALUATION_PRESETS:
        raise ValueError(f"preset must be one of {tuple(EVALUATION_PRESETS)}; got {preset!r}.")
    unknown = sorted(set(changes) - set(EVALUATION_FIELDS))
    if unknown:
        raise ValueError(f"unknown evaluation settings {unknown}; expected some of {EVALUATION_FIELDS}.")
    settings = {**EVALUATION_PRESETS[preset], **changes, "preset": preset}
    for name, choices in (
        ("pixel_protocol", PIXEL_PROTOCOLS), ("aupro", AUPRO_INTEGRATIONS), ("mask_resizing", MASK_RESIZINGS)
    ):
        if settings[name] not in choices:
            raise ValueError(f"{name} must be one of {choices}; got {settings[name]!r}.")
    return settings
