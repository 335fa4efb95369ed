"""The defect types of Real-IAD and their fixed channel order.

Every per-type tensor in the package (labels, heatmap channels, scores,
thresholds) uses the order of ``DEFECT_CODES``; channel ``k`` of a model's
output is the heatmap of ``DEFECT_CODES[k]`` (paper Table 1).
"""

DEFECT_CODES = ("AK", "BX", "CH", "HS", "PS", "QS", "YW", "ZW")
"""Real-IAD's defect type codes in channel order (paper Table 1)."""

DEFECT_NAMES = {
    "AK": "Pit",
    "BX": "Deformation",
    "CH": "Abrasion",
    "HS": "Scratch",
    "PS": "Damage",
    "QS": "Missing Parts",
    "YW": "Foreign Objects",
    "ZW": "Contamination",
}
"""The English name of each defect code, e.g. ``"AK"`` is ``"Pit"``."""

NORMAL_CLASS = "OK"
"""Real-IAD's class of defect-free images (its ``OK`` folders)."""

# The multi-class setting (paper 5.2) has one channel: "any defect".
ANY_DEFECT_CODE = "ANY"


def type_codes_for(num_types):
    """The type code of each output channel for a model with ``num_types``.

    Args:
        num_types: 8 for the multi-type setting, 1 for the multi-class one;
            any other count (a custom data set) gets ``TYPE1``, ``TYPE2``...

    Returns:
        A tuple of ``num_types`` codes.
    """
    if num_types == len(DEFECT_CODES):
        return DEFECT_CODES
    if num_types == 1:
        return (ANY_DEFECT_CODE,)
    return tuple(f"TYPE{index}" for index in range(1, num_types + 1))
