"""The ten object kinds of the synthetic data set and their registry.

Each ``_draw_<kind>(size, layout, missing_part)`` (``draw_<kind>`` in
:mod:`mtfcdd.data.synthetic.components` for the electronic ones) draws one
product (its layout is fixed per object by ``layout``, a random generator)
and returns its maps and the centres of its removable parts (QS). It draws
the same random numbers whatever ``missing_part`` is. ``SYNTHETIC_OBJECTS`` gives
each kind its drawing, defect types and background.
"""

import dataclasses
import math
from typing import Callable

import cv2
import numpy as np

from mtfcdd.data.synthetic.components import draw_audiojack, draw_pcb, draw_switch, draw_terminalblock
from mtfcdd.data.synthetic.drawing import (
    bevel,
    blur,
    box_sdf,
    circle_sdf,
    coverage,
    empty_maps,
    grid,
    hexagon_sdf,
    lay,
    noise,
    object_radius,
)


def _draw_washer(size, layout, missing_part):
    """A flat steel washer with concentric brushing marks."""
    radius = object_radius(size)
    inner = radius * layout.uniform(0.4, 0.5)
    x, y = grid(size)
    distance = np.hypot(x, y)
    ring = np.maximum(distance - radius, inner - distance)
    maps = empty_maps(size, shininess=28.0)
    # Concentric brushing: a random profile along the radius.
    profile = cv2.resize(
        layout.standard_normal((1, 96)).astype(np.float32),
        (size, 1),
        interpolation=cv2.INTER_LINEAR,
    )[0]
    brushed = np.interp(distance, np.linspace(0, size / 2, size), profile).astype(np.float32)
    steel = np.float32(layout.uniform(0.5, 0.62))
    tone = steel * np.array([1.0, 1.0, 1.03], np.float32)[:, None, None] * (1 + 0.07 * brushed)
    lay(
        maps, coverage(ring), tone, gloss=0.55, height=0.06 * radius * bevel(ring, 0.08 * radius)
    )
    return maps, []


def _draw_button_battery(size, layout, missing_part):
    """A coin cell: a steel disc with a raised face, a plus sign and lettering."""
    radius = object_radius(size)
    disc = circle_sdf(size, (0, 0), radius)
    top = circle_sdf(size, (0, 0), 0.84 * radius)
    maps = empty_maps(size, shininess=36.0)
    silver = np.array([0.66, 0.67, 0.7], np.float32) * layout.uniform(0.9, 1.05)
    height = 0.03 * radius * bevel(disc, 0.06 * radius) + 0.03 * radius * bevel(
        top, 0.04 * radius
    )
    lay(maps, coverage(disc), silver, gloss=0.6, height=height)
    plus_centre = (0.0, -0.38 * radius)
    for half_width, half_height in ((0.16, 0.04), (0.04, 0.16)):
        bar = box_sdf(size, plus_centre, half_width * radius, half_height * radius)
        maps.height += 0.025 * radius * bevel(bar, 0.02 * radius)
    # Engraved lettering: short bars along an arc below the centre.
    for index in range(layout.integers(6, 10)):
        angle = math.pi / 2 + (index - 4) * 0.17
        centre = (0.5 * radius * math.cos(angle), 0.5 * radius * math.sin(angle))
        bar = box_sdf(
            size, centre, 0.025 * radius, layout.uniform(0.04, 0.07) * radius, angle=angle
        )
        cut = coverage(bar)
        maps.height -= 0.015 * radius * cut
        maps.albedo *= 1 - 0.35 * cut
    return maps, []


def _draw_bottle_cap(size, layout, missing_part):
    """A plastic bottle cap: knurled rim, slight dome, groove and logo ring."""
    radius = object_radius(size)
    x, y = grid(size)
    angle = np.arctan2(y, x)
    distance = np.hypot(x, y)
    colours = (
        [0.75, 0.1, 0.08],
        [0.1, 0.28, 0.7],
        [0.9, 0.88, 0.82],
        [0.1, 0.5, 0.2],
        [0.9, 0.55, 0.08],
    )
    colour = np.array(colours[layout.integers(len(colours))], np.float32)
    disc = circle_sdf(size, (0, 0), radius)
    maps = empty_maps(size, shininess=18.0)
    ribs = int(layout.integers(40, 60))
    knurl = (0.5 + 0.5 * np.cos(ribs * angle)) * np.clip(
        (distance - 0.85 * radius) / (0.04 * radius), 0, 1
    )
    dome = 0.05 * radius * np.clip(1 - (distance / radius) ** 2, 0, 1)
    groove = np.exp(-(((distance - 0.62 * radius) / (0.018 * radius)) ** 2))
    logo = coverage(np.abs(circle_sdf(size, (0, 0), 0.24 * radius)) - 0.035 * radius)
    height = 0.05 * radius * bevel(disc, 0.05 * radius) + dome + 0.02 * radius * knurl
    height = height - 0.025 * radius * groove + 0.02 * radius * blur(logo, 1.0)
    albedo = colour[:, None, None] * (1 - 0.25 * groove - 0.1 * knurl)
    lay(maps, coverage(disc), albedo, gloss=0.35, height=height)
    return maps, []


def _draw_toy_brick(size, layout, missing_part):
    """A 2x4 toy brick; its eight studs are parts."""
    radius = object_radius(size)
    colours = ([0.8, 0.1, 0.08], [0.95, 0.75, 0.05], [0.08, 0.3, 0.75], [0.1, 0.55, 0.2])
    colour = np.array(colours[layout.integers(len(colours))], np.float32)
    maps = empty_maps(size, shininess=30.0)
    body = box_sdf(size, (0, 0), 0.95 * radius, 0.48 * radius, corner=0.03 * radius)
    lay(
        maps, coverage(body), colour, gloss=0.5, height=0.05 * radius * bevel(body, 0.04 * radius)
    )
    pitch = 0.475 * radius
    centres = [
        ((column - 1.5) * pitch, (row - 0.5) * pitch) for row in range(2) for column in range(4)
    ]
    roughness = noise(layout, size, 90)
    for index, centre in enumerate(centres):
        stud = circle_sdf(size, centre, 0.3 * pitch)
        if index == missing_part:
            # A stud broken off leaves a rough, stress-whitened stump with a
            # torn rim, nearly flush with the top.
            stump = coverage(stud)
            rim = coverage(np.abs(stud) - 0.015 * radius)
            pale = (colour * 0.5 + 0.42)[:, None, None]
            maps.albedo += (pale - maps.albedo) * (0.8 * stump * (0.85 + 0.15 * roughness))
            maps.albedo *= 1 - 0.45 * rim
            maps.height += 0.015 * radius * stump * (1 + 0.6 * roughness)
            maps.gloss *= 1 - 0.8 * stump
            continue
        lay(
            maps,
            coverage(stud),
            colour,
            gloss=0.6,
            height=0.05 * radius + 0.07 * radius * bevel(stud, 0.05 * radius),
            raised=True,
        )
    return maps, centres


def _draw_woodstick(size, layout, missing_part):
    """A round wooden stick with grain."""
    radius = object_radius(size)
    _, y = grid(size)
    stick = box_sdf(size, (0, 0), 1.0 * radius, 0.24 * radius, corner=0.2 * radius)
    grain = noise(layout, size, 6, stretch=10)
    rings = np.sin(y * (60 / radius) + 2.5 * noise(layout, size, 4))
    wood = np.array([0.72, 0.52, 0.3], np.float32) * layout.uniform(0.9, 1.1)
    albedo = wood[:, None, None] * (1 + 0.06 * grain + 0.06 * rings)
    # A round cross-section: height grows like a circle's from the outline in.
    depth = np.clip(-stick / (0.24 * radius), 0, 1)
    roundness = np.sqrt(1 - (1 - depth) ** 2)
    maps = empty_maps(size, shininess=10.0)
    lay(maps, coverage(stick), albedo, gloss=0.1, height=0.12 * radius * roundness)
    return maps, []


def _draw_plastic_nut(size, layout, missing_part):
    """A hexagonal nylon nut with a chamfer and a threaded hole."""
    radius = object_radius(size)
    colour = np.array(
        [0.86, 0.85, 0.8] if layout.uniform() < 0.6 else [0.16, 0.16, 0.17], np.float32
    )
    hexagon = hexagon_sdf(size, radius * math.cos(math.pi / 6))
    chamfer = circle_sdf(size, (0, 0), 0.95 * radius)
    hole = circle_sdf(size, (0, 0), 0.42 * radius)
    outline = np.maximum(hexagon, -hole)
    maps = empty_maps(size, shininess=16.0)
    height = 0.05 * radius * np.minimum(bevel(chamfer, 0.1 * radius), bevel(-hole, 0.12 * radius))
    thread = np.abs(np.sin(circle_sdf(size, (0, 0), 0) * (16 / radius)))
    shade = 1 - 0.35 * thread * np.clip(1 - (hole + 0.0) / (0.08 * radius), 0, 1) * (hole > 0)
    lay(maps, coverage(outline), colour[:, None, None] * shade, gloss=0.3, height=height)
    return maps, []


@dataclasses.dataclass(frozen=True)
class _ObjectKind:
    """One kind of product.

    Attributes:
        draw: ``_draw_<kind>``, which draws it.
        defect_codes: the defect types it is made with.
        background: RGB colour of the floor under it, 0..1.
        free_rotation: whether it lies at any angle (round parts).
        double_underscore: whether its defective files are named
            ``<object>__<number>``, a quirk of some of Real-IAD's objects.
    """

    draw: Callable
    defect_codes: tuple
    background: tuple
    free_rotation: bool = False
    double_underscore: bool = False


_LIGHT_BACKGROUND = (0.72, 0.73, 0.74)
_DARK_BACKGROUND = (0.2, 0.21, 0.23)

# Each object has its own subset of the defect types, as in Real-IAD; the
# objects of every preset cover all eight types together.
SYNTHETIC_OBJECTS = {
    "audiojack": _ObjectKind(
        draw_audiojack, ("AK", "BX", "CH", "HS"), _LIGHT_BACKGROUND, double_underscore=True
    ),
    "pcb": _ObjectKind(draw_pcb, ("PS", "QS", "YW", "ZW"), _DARK_BACKGROUND),
    "bottle_cap": _ObjectKind(
        _draw_bottle_cap,
        ("AK", "BX", "HS", "PS", "YW", "ZW"),
        _LIGHT_BACKGROUND,
        free_rotation=True,
    ),
    "switch": _ObjectKind(draw_switch, ("BX", "CH", "HS", "QS", "YW"), _LIGHT_BACKGROUND),
    "toy_brick": _ObjectKind(_draw_toy_brick, ("AK", "CH", "PS", "QS", "ZW"), _DARK_BACKGROUND),
    "washer": _ObjectKind(
        _draw_washer, ("AK", "BX", "CH", "HS", "PS", "ZW"), _DARK_BACKGROUND, free_rotation=True
    ),
    "button_battery": _ObjectKind(
        _draw_button_battery, ("AK", "BX", "CH", "HS", "ZW"), _DARK_BACKGROUND, free_rotation=True
    ),
    "terminalblock": _ObjectKind(
        draw_terminalblock, ("AK", "PS", "QS", "YW", "ZW"), _LIGHT_BACKGROUND
    ),
    "woodstick": _ObjectKind(
        _draw_woodstick, ("AK", "CH", "HS", "PS", "YW", "ZW"), _DARK_BACKGROUND
    ),
    "plastic_nut": _ObjectKind(
        _draw_plastic_nut, ("AK", "BX", "CH", "PS", "YW"), _DARK_BACKGROUND, free_rotation=True
    ),
}
