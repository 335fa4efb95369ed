"""Which of the number formats' fast instructions the CPU has.

A runtime's speed depends on the format it computes in and on the CPU's
instructions for that format: float32 FMA (AVX2, AVX-512), int8 dot products
into 32-bit sums (AVX-VNNI, AVX512-VNNI, AMX-INT8), bfloat16 dot products
(AVX512-BF16, AMX-BF16). An int8 file is about 4x float32 only where the
int8 instructions exist (docs/deployment.md, "Speed"). Linux lists them in
``/proc/cpuinfo``'s ``flags``; elsewhere the features are unknown.
"""

import os

CPUINFO = "/proc/cpuinfo"
# Feature name in the benchmark's output: the /proc/cpuinfo flag.
CPU_FLAGS = {
    "avx2": "avx2",
    "fma": "fma",
    "avx512f": "avx512f",
    "avx_vnni": "avx_vnni",
    "avx512_vnni": "avx512_vnni",
    "avx512_bf16": "avx512_bf16",
    "amx_bf16": "amx_bf16",
    "amx_int8": "amx_int8",
}


def cpu_features(cpuinfo_path=CPUINFO):
    """``{feature: True/False}`` for ``CPU_FLAGS``, or None where it is unknown.

    Args:
        cpuinfo_path: Linux's CPU description; a file that is absent (other
            systems) or lists no ``flags`` makes every feature None.
    """
    flags = _cpu_flags(cpuinfo_path)
    return {name: None if flags is None else flag in flags for name, flag in CPU_FLAGS.items()}


def format_cpu_features(features):
    """One line: ``"avx2 yes, avx512f no, ..."``, or that they are unknown."""
    if all(value is None for value in features.values()):
        return f"CPU features: unknown (no {CPUINFO} on this system)"
    return "CPU features: " + ", ".join(
        f"{name} {'yes' if value else 'no'}" for name, value in features.items()
    )


def _cpu_flags(cpuinfo_path):
    """The flags of the first processor listed, or None."""
    if not os.path.isfile(cpuinfo_path):
        return None
    with open(cpuinfo_path, encoding="utf-8", errors="replace") as file:
        for line in file:
            name, _, value = line.partition(":")
            if name.strip() == "flags":
                return set(value.split())
    return None
