"""A synthetic data set in Real-IAD's exact layout (paper 4.1, paper-notes 6).

Real-IAD itself (151,050 photographs) is large and licensed separately; this
module renders a stand-in with the same folders, file names, split files and
quirks, so that every part of the package can be run and tested end to end:

- objects of several kinds (metal washer, bottle cap, PCB, rocker switch,
  toy brick, audio jack, ...) are drawn procedurally as surface maps (albedo,
  height, coverage, gloss) and shaded under a directional light;
- each sample (``S0001``) is one physical object seen by five cameras
  ``C1..C5``: a top view and four oblique views, each with its own rotation,
  perspective and lighting;
- the eight defect types of ``DEFECT_CODES`` are rendered into the surface
  maps, so a defect moves with the object from view to view. A defect is
  visible from some cameras only: the other views of a defective sample are
  filed under ``NG/`` but labelled ``"OK"`` with no mask, as in Real-IAD;
- a mask marks exactly the pixels the defect altered: the defective render is
  compared with the clean render of the same view (same sensor noise), and
  every pixel that differs by at most ``MASK_THRESHOLD`` levels is copied
  from the clean render;
- the FUIAD split files ``realiad_jsons_fuiad_<alpha>`` hold a training
  split of the same size for every alpha, ``alpha`` of it defective with
  labels, and one test split shared by all alphas.

The output is the same, byte for byte, for the same preset and seed.
"""

import dataclasses
import datetime
import json
import math
import os
import zlib
from typing import Callable, Optional

import cv2
import numpy as np

from mtfcdd.constants import (
    DEFECT_CODES,
    DEFECT_NAMES,
    FUIAD_ALPHAS,
    IMAGE_FOLDER_PREFIX,
    MASK_EXTENSION,
    NORMAL_CLASS,
    SPLITS_FOLDER,
    fuiad_setting,
)
from mtfcdd.data.synthetic.presets import PRESETS, SyntheticPreset
from mtfcdd.utils.atomic_files import write_bytes, write_json
from mtfcdd.utils.image_files import read_mask, read_rgb_image, write_png
from mtfcdd.utils.progress import ProgressBar

CAMERAS = 5
# A defective sample shows its defect in at least this many views, so that
# the training splits can always be filled with the planned defective images.
MIN_DEFECTIVE_VIEWS = 2
# Difference in 8-bit levels above which a pixel counts as altered by a defect.
MASK_THRESHOLD = 8
# Smallest defect region worth a mask, as a fraction of the image area.
MIN_MASK_FRACTION = 0.0006
JPEG_QUALITY = 92


@dataclasses.dataclass
class _SurfaceMaps:
    """An object laid flat in its own frame, before shading.

    Attributes:
        albedo: (3, S, S) colour in 0..1, channels first (RGB).
        height: (S, S) surface height in pixels; its slopes shade the object.
        alpha: (S, S) coverage of the object, 0..1.
        gloss: (S, S) strength of the specular highlight.
        raised: (S, S) coverage of parts that stand up and cast shadows.
        shininess: exponent of the specular highlight.
    """

    albedo: np.ndarray
    height: np.ndarray
    alpha: np.ndarray
    gloss: np.ndarray
    raised: np.ndarray
    shininess: float

    def copy(self):
        return _SurfaceMaps(
            self.albedo.copy(),
            self.height.copy(),
            self.alpha.copy(),
            self.gloss.copy(),
            self.raised.copy(),
            self.shininess,
        )


@dataclasses.dataclass(frozen=True)
class SyntheticView:
    """One camera view of a rendered sample (``render_sample``).

    Attributes:
        camera: 1..5 (``C1`` is the top view).
        image: (S, S, 3) uint8 RGB as written to disk (before JPEG coding).
        clean_image: the same view rendered without the defect.
        mask: (S, S) uint8, 255 where the defect altered the image, or None
            when the view shows no defect.
    """

    camera: int
    image: np.ndarray
    clean_image: np.ndarray
    mask: Optional[np.ndarray]


# --------------------------------------------------------------------------
# Drawing primitives: signed distances on a pixel grid centred on the canvas.

_GRIDS = {}


def _grid(size):
    """x (columns) and y (rows) of every pixel, origin at the canvas centre."""
    if size not in _GRIDS:
        coordinates = np.arange(size, dtype=np.float32) - (size - 1) / 2
        _GRIDS[size] = np.meshgrid(coordinates, coordinates)
    return _GRIDS[size]


def _circle_sdf(size, centre, radius):
    x, y = _grid(size)
    return np.hypot(x - centre[0], y - centre[1]) - radius


def _box_sdf(size, centre, half_width, half_height, angle=0.0, corner=0.0):
    x, y = _grid(size)
    cos, sin = math.cos(angle), math.sin(angle)
    along = (x - centre[0]) * cos + (y - centre[1]) * sin
    across = (y - centre[1]) * cos - (x - centre[0]) * sin
    excess_x = np.abs(along) - (half_width - corner)
    excess_y = np.abs(across) - (half_height - corner)
    outside = np.hypot(np.maximum(excess_x, 0), np.maximum(excess_y, 0))
    inside = np.minimum(np.maximum(excess_x, excess_y), 0)
    return outside + inside - corner


def _hexagon_sdf(size, apothem):
    x, y = _grid(size)
    distance = np.abs(y)
    for angle in (math.pi / 6, -math.pi / 6):
        distance = np.maximum(distance, np.abs(x * math.cos(angle) + y * math.sin(angle)))
    return distance - apothem


def _coverage(sdf):
    """Anti-aliased inside-ness of a signed distance field."""
    return np.clip(0.5 - sdf, 0, 1)


def _bevel(sdf, width):
    """0 at the outline rising smoothly to 1 at ``width`` pixels inside."""
    ramp = np.clip(-sdf / width, 0, 1)
    return ramp * ramp * (3 - 2 * ramp)


def _noise(rng, size, cells, stretch=1):
    """Smooth value noise (about unit variance) with ``cells`` blobs a side.

    ``stretch`` > 1 squeezes the blobs vertically into horizontal streaks.
    """
    field = rng.standard_normal((max(2, int(cells * stretch)), cells)).astype(np.float32)
    return cv2.resize(field, (size, size), interpolation=cv2.INTER_CUBIC)


def _pixel_points(size, points):
    """Canvas-centred (x, y) points as OpenCV's fixed-point (shift 4) ints."""
    return np.round((np.asarray(points) + (size - 1) / 2) * 16).astype(np.int32)


def _stroke(size, points, thickness):
    """Anti-aliased coverage of a polyline through ``points``."""
    canvas = np.zeros((size, size), np.uint8)
    cv2.polylines(
        canvas,
        [_pixel_points(size, points)],
        False,
        255,
        thickness=max(1, int(round(thickness))),
        lineType=cv2.LINE_AA,
        shift=4,
    )
    return canvas.astype(np.float32) / 255


def _fill(size, points):
    """Anti-aliased coverage of the polygon through ``points``."""
    canvas = np.zeros((size, size), np.uint8)
    cv2.fillPoly(canvas, [_pixel_points(size, points)], 255, lineType=cv2.LINE_AA, shift=4)
    return canvas.astype(np.float32) / 255


def _blur(image, sigma):
    return cv2.GaussianBlur(image, (0, 0), sigma)


def _empty_maps(size, shininess):
    plane = np.zeros((size, size), np.float32)
    return _SurfaceMaps(
        np.zeros((3, size, size), np.float32),
        plane,
        plane.copy(),
        plane.copy(),
        plane.copy(),
        shininess,
    )


def _lay(maps, coverage, colour, gloss, height=None, raised=False):
    """Paints a layer of material over ``maps`` where ``coverage`` > 0."""
    colour = np.asarray(colour, np.float32)
    if colour.ndim == 1:
        colour = colour[:, None, None]
    maps.albedo += (colour - maps.albedo) * coverage
    maps.gloss += (gloss - maps.gloss) * coverage
    if height is not None:
        maps.height += (height - maps.height) * coverage
    maps.alpha = np.maximum(maps.alpha, coverage)
    if raised:
        maps.raised = np.maximum(maps.raised, coverage)


def _object_radius(size):
    """Half the extent of an object on its canvas; every kind scales with it."""
    return 0.34 * size


# --------------------------------------------------------------------------
# Object kinds. Each ``_draw_<kind>(size, layout, missing_part)`` draws one
# product (its layout is fixed per object by ``layout``, a random generator)
# and returns its maps and the centres of its removable parts (QS). It draws
# the same random numbers whatever ``missing_part`` is.


def _draw_washer(size, layout, missing_part):
    """A flat steel washer with concentric brushing marks."""
    radius = _object_radius(size)
    inner = radius * layout.uniform(0.4, 0.5)
    x, y = _grid(size)
    distance = np.hypot(x, y)
    ring = np.maximum(distance - radius, inner - distance)
    maps = _empty_maps(size, shininess=28.0)
    # Concentric brushing: a random profile along the radius.
    profile = cv2.resize(
        layout.standard_normal((1, 96)).astype(np.float32),
        (size, 1),
        interpolation=cv2.INTER_LINEAR,
    )[0]
    brushed = np.interp(distance, np.linspace(0, size / 2, size), profile).astype(np.float32)
    steel = np.float32(layout.uniform(0.5, 0.62))
    tone = steel * np.array([1.0, 1.0, 1.03], np.float32)[:, None, None] * (1 + 0.07 * brushed)
    _lay(
        maps, _coverage(ring), tone, gloss=0.55, height=0.06 * radius * _bevel(ring, 0.08 * radius)
    )
    return maps, []


def _draw_button_battery(size, layout, missing_part):
    """A coin cell: a steel disc with a raised face, a plus sign and lettering."""
    radius = _object_radius(size)
    disc = _circle_sdf(size, (0, 0), radius)
    top = _circle_sdf(size, (0, 0), 0.84 * radius)
    maps = _empty_maps(size, shininess=36.0)
    silver = np.array([0.66, 0.67, 0.7], np.float32) * layout.uniform(0.9, 1.05)
    height = 0.03 * radius * _bevel(disc, 0.06 * radius) + 0.03 * radius * _bevel(
        top, 0.04 * radius
    )
    _lay(maps, _coverage(disc), silver, gloss=0.6, height=height)
    plus_centre = (0.0, -0.38 * radius)
    for half_width, half_height in ((0.16, 0.04), (0.04, 0.16)):
        bar = _box_sdf(size, plus_centre, half_width * radius, half_height * radius)
        maps.height += 0.025 * radius * _bevel(bar, 0.02 * radius)
    # Engraved lettering: short bars along an arc below the centre.
    for index in range(layout.integers(6, 10)):
        angle = math.pi / 2 + (index - 4) * 0.17
        centre = (0.5 * radius * math.cos(angle), 0.5 * radius * math.sin(angle))
        bar = _box_sdf(
            size, centre, 0.025 * radius, layout.uniform(0.04, 0.07) * radius, angle=angle
        )
        cut = _coverage(bar)
        maps.height -= 0.015 * radius * cut
        maps.albedo *= 1 - 0.35 * cut
    return maps, []


def _draw_bottle_cap(size, layout, missing_part):
    """A plastic bottle cap: knurled rim, slight dome, groove and logo ring."""
    radius = _object_radius(size)
    x, y = _grid(size)
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
    disc = _circle_sdf(size, (0, 0), radius)
    maps = _empty_maps(size, shininess=18.0)
    ribs = int(layout.integers(40, 60))
    knurl = (0.5 + 0.5 * np.cos(ribs * angle)) * np.clip(
        (distance - 0.85 * radius) / (0.04 * radius), 0, 1
    )
    dome = 0.05 * radius * np.clip(1 - (distance / radius) ** 2, 0, 1)
    groove = np.exp(-(((distance - 0.62 * radius) / (0.018 * radius)) ** 2))
    logo = _coverage(np.abs(_circle_sdf(size, (0, 0), 0.24 * radius)) - 0.035 * radius)
    height = 0.05 * radius * _bevel(disc, 0.05 * radius) + dome + 0.02 * radius * knurl
    height = height - 0.025 * radius * groove + 0.02 * radius * _blur(logo, 1.0)
    albedo = colour[:, None, None] * (1 - 0.25 * groove - 0.1 * knurl)
    _lay(maps, _coverage(disc), albedo, gloss=0.35, height=height)
    return maps, []


def _draw_pcb(size, layout, missing_part):
    """A small circuit board; its components (IC, capacitor, chips) are parts."""
    radius = _object_radius(size)
    maps = _empty_maps(size, shininess=24.0)
    board = _box_sdf(size, (0, 0), 0.98 * radius, 0.66 * radius, corner=0.05 * radius)
    solder_mask = np.array([0.1, 0.36, 0.17], np.float32)
    texture = 1 + 0.05 * _noise(layout, size, 24)
    _lay(
        maps,
        _coverage(board),
        solder_mask[:, None, None] * texture,
        gloss=0.45,
        height=0.025 * radius * _bevel(board, 0.03 * radius),
    )
    trace_colour = np.array([0.2, 0.55, 0.25], np.float32)
    for _ in range(9):
        start = layout.uniform([-0.9, -0.6], [0.9, 0.6]) * radius
        points = [start]
        for step in range(4):
            offset = layout.uniform(-0.5, 0.5) * radius
            previous = points[-1]
            turn = np.array([offset, 0.0]) if step % 2 == 0 else np.array([0.0, offset])
            points.append(
                np.clip(
                    previous + turn, [-0.9 * radius, -0.6 * radius], [0.9 * radius, 0.6 * radius]
                )
            )
        trace = _stroke(size, points, 0.025 * radius) * _coverage(board + 0.04 * radius)
        _lay(maps, trace, trace_colour, gloss=0.55, height=maps.height + 0.006 * radius)
    gold = np.array([0.8, 0.64, 0.3], np.float32)
    for corner_x in (-0.85, 0.85):
        for corner_y in (-0.53, 0.53):
            centre = (corner_x * radius, corner_y * radius)
            _lay(maps, _coverage(_circle_sdf(size, centre, 0.075 * radius)), gold, gloss=0.8)
            hole = _coverage(_circle_sdf(size, centre, 0.04 * radius))
            maps.alpha *= 1 - hole
    parts = [
        ("ic", (-0.38, 0.08), 0.0),
        ("capacitor", (0.5, -0.22), 0.0),
        ("chip", (0.12, -0.4), 0.0),
        ("chip", (0.16, 0.4), math.pi / 2),
        ("chip", (0.58, 0.36), 0.0),
        ("chip", (-0.42, -0.45), 0.0),
    ]
    centres = []
    for index, (part, relative_centre, angle) in enumerate(parts):
        centre = (relative_centre[0] * radius, relative_centre[1] * radius)
        centres.append(centre)
        _draw_pcb_part(maps, size, radius, part, centre, angle, present=index != missing_part)
    return maps, centres


def _draw_pcb_part(maps, size, radius, part, centre, angle, present):
    tin = np.array([0.78, 0.78, 0.76], np.float32)
    if part == "ic":
        for side in (-1, 1):
            for leg in range(6):
                leg_centre = (
                    centre[0] + (leg - 2.5) * 0.1 * radius,
                    centre[1] + side * 0.24 * radius,
                )
                pad = _box_sdf(size, leg_centre, 0.028 * radius, 0.07 * radius)
                _lay(
                    maps,
                    _coverage(pad),
                    tin,
                    gloss=0.9,
                    height=maps.height + 0.01 * radius,
                    raised=present,
                )
        if present:
            body = _box_sdf(size, centre, 0.32 * radius, 0.19 * radius, corner=0.02 * radius)
            _lay(
                maps,
                _coverage(body),
                [0.07, 0.07, 0.08],
                gloss=0.2,
                height=0.06 * radius * _bevel(body, 0.03 * radius),
                raised=True,
            )
            dot = _coverage(
                _circle_sdf(
                    size, (centre[0] - 0.24 * radius, centre[1] + 0.1 * radius), 0.03 * radius
                )
            )
            maps.height -= 0.01 * radius * dot
    elif part == "capacitor":
        pad = _box_sdf(size, centre, 0.2 * radius, 0.2 * radius, corner=0.03 * radius)
        _lay(maps, _coverage(pad), tin, gloss=0.9, height=maps.height + 0.01 * radius)
        if present:
            can = _circle_sdf(size, centre, 0.18 * radius)
            _lay(
                maps,
                _coverage(can),
                [0.72, 0.73, 0.76],
                gloss=0.7,
                height=0.09 * radius * _bevel(can, 0.05 * radius),
                raised=True,
            )
            stripe = _coverage(
                _box_sdf(size, (centre[0] - 0.12 * radius, centre[1]), 0.04 * radius, 0.14 * radius)
            ) * _coverage(can)
            _lay(maps, stripe, [0.1, 0.12, 0.35], gloss=0.5)
            for vent_angle in (0.0, math.pi / 2):
                vent = _coverage(
                    _box_sdf(size, centre, 0.1 * radius, 0.008 * radius, angle=vent_angle)
                )
                maps.height -= 0.02 * radius * vent
    else:
        for end in (-1, 1):
            offset = (end * 0.07 * radius * math.cos(angle), end * 0.07 * radius * math.sin(angle))
            pad = _box_sdf(
                size,
                (centre[0] + offset[0], centre[1] + offset[1]),
                0.045 * radius,
                0.05 * radius,
                angle=angle,
            )
            _lay(maps, _coverage(pad), tin, gloss=0.9, height=maps.height + 0.008 * radius)
        if present:
            body = _box_sdf(
                size, centre, 0.1 * radius, 0.045 * radius, angle=angle, corner=0.01 * radius
            )
            _lay(
                maps,
                _coverage(body),
                [0.1, 0.09, 0.08],
                gloss=0.3,
                height=0.04 * radius * _bevel(body, 0.015 * radius),
                raised=True,
            )
            for end in (-1, 1):
                cap_centre = (
                    centre[0] + end * 0.08 * radius * math.cos(angle),
                    centre[1] + end * 0.08 * radius * math.sin(angle),
                )
                end_cap = _box_sdf(size, cap_centre, 0.025 * radius, 0.047 * radius, angle=angle)
                _lay(maps, _coverage(end_cap), tin, gloss=0.9)


def _draw_switch(size, layout, missing_part):
    """A rocker switch: housing, coloured rocker and four brass tabs (parts)."""
    radius = _object_radius(size)
    maps = _empty_maps(size, shininess=22.0)
    terminal_colour = np.array([0.78, 0.62, 0.3], np.float32)
    centres = [(0.0, 0.0)]
    for side_x in (-1, 1):
        for side_y in (-1, 1):
            centre = (side_x * 0.98 * radius, side_y * 0.26 * radius)
            centres.append(centre)
    for index, centre in enumerate(centres[1:], start=1):
        if index != missing_part:
            tab = _box_sdf(size, centre, 0.14 * radius, 0.09 * radius, corner=0.02 * radius)
            _lay(
                maps,
                _coverage(tab),
                terminal_colour,
                gloss=0.85,
                height=0.02 * radius * _bevel(tab, 0.02 * radius),
            )
    housing = _box_sdf(size, (0, 0), 0.88 * radius, 0.6 * radius, corner=0.06 * radius)
    _lay(
        maps,
        _coverage(housing),
        [0.14, 0.14, 0.15],
        gloss=0.35,
        height=0.07 * radius * _bevel(housing, 0.06 * radius),
        raised=True,
    )
    cavity = _box_sdf(size, (0, 0), 0.66 * radius, 0.4 * radius, corner=0.03 * radius)
    _lay(maps, _coverage(cavity), [0.04, 0.04, 0.045], gloss=0.1, height=0.03 * radius)
    colours = ([0.78, 0.1, 0.08], [0.9, 0.9, 0.86], [0.12, 0.55, 0.2])
    colour = np.array(colours[layout.integers(len(colours))], np.float32)
    if missing_part != 0:
        x, _ = _grid(size)
        rocker = _box_sdf(size, (0, 0), 0.6 * radius, 0.34 * radius, corner=0.04 * radius)
        # The rocker is tilted: one half slopes up, which the light shows.
        tilt = 0.07 * radius * (0.5 + 0.5 * np.clip(x / (0.6 * radius), -1, 1))
        _lay(
            maps,
            _coverage(rocker),
            colour,
            gloss=0.45,
            height=0.05 * radius + tilt * _bevel(rocker, 0.04 * radius),
            raised=True,
        )
        marks = _coverage(
            _box_sdf(size, (-0.3 * radius, 0), 0.015 * radius, 0.13 * radius)
        ) + _coverage(np.abs(_circle_sdf(size, (0.3 * radius, 0), 0.1 * radius)) - 0.015 * radius)
        mark_colour = [0.95, 0.95, 0.92] if colour.mean() < 0.6 else [0.1, 0.1, 0.1]
        _lay(maps, np.clip(marks, 0, 1), mark_colour, gloss=0.45)
    return maps, centres


def _draw_toy_brick(size, layout, missing_part):
    """A 2x4 toy brick; its eight studs are parts."""
    radius = _object_radius(size)
    colours = ([0.8, 0.1, 0.08], [0.95, 0.75, 0.05], [0.08, 0.3, 0.75], [0.1, 0.55, 0.2])
    colour = np.array(colours[layout.integers(len(colours))], np.float32)
    maps = _empty_maps(size, shininess=30.0)
    body = _box_sdf(size, (0, 0), 0.95 * radius, 0.48 * radius, corner=0.03 * radius)
    _lay(
        maps, _coverage(body), colour, gloss=0.5, height=0.05 * radius * _bevel(body, 0.04 * radius)
    )
    pitch = 0.475 * radius
    centres = [
        ((column - 1.5) * pitch, (row - 0.5) * pitch) for row in range(2) for column in range(4)
    ]
    roughness = _noise(layout, size, 90)
    for index, centre in enumerate(centres):
        stud = _circle_sdf(size, centre, 0.3 * pitch)
        if index == missing_part:
            # A stud broken off leaves a rough, stress-whitened stump with a
            # torn rim, nearly flush with the top.
            stump = _coverage(stud)
            rim = _coverage(np.abs(stud) - 0.015 * radius)
            pale = (colour * 0.5 + 0.42)[:, None, None]
            maps.albedo += (pale - maps.albedo) * (0.8 * stump * (0.85 + 0.15 * roughness))
            maps.albedo *= 1 - 0.45 * rim
            maps.height += 0.015 * radius * stump * (1 + 0.6 * roughness)
            maps.gloss *= 1 - 0.8 * stump
            continue
        _lay(
            maps,
            _coverage(stud),
            colour,
            gloss=0.6,
            height=0.05 * radius + 0.07 * radius * _bevel(stud, 0.05 * radius),
            raised=True,
        )
    return maps, centres


def _draw_terminalblock(size, layout, missing_part):
    """A three-way terminal block; its three screws are parts."""
    radius = _object_radius(size)
    colours = ([0.1, 0.45, 0.22], [0.12, 0.3, 0.65], [0.55, 0.56, 0.58])
    colour = np.array(colours[layout.integers(len(colours))], np.float32)
    maps = _empty_maps(size, shininess=20.0)
    body = _box_sdf(size, (0, 0), 0.96 * radius, 0.62 * radius, corner=0.04 * radius)
    _lay(
        maps, _coverage(body), colour, gloss=0.3, height=0.06 * radius * _bevel(body, 0.05 * radius)
    )
    cell = 0.64 * radius
    centres = []
    slot_angles = layout.uniform(0, math.pi, 3)
    for index in range(3):
        cell_x = (index - 1) * cell
        if index:
            groove = _coverage(_box_sdf(size, (cell_x - cell / 2, 0), 0.012 * radius, 0.6 * radius))
            maps.height -= 0.03 * radius * groove
            maps.albedo *= 1 - 0.5 * groove
        opening = _box_sdf(
            size, (cell_x, 0.33 * radius), 0.17 * radius, 0.14 * radius, corner=0.02 * radius
        )
        _lay(maps, _coverage(opening), [0.05, 0.05, 0.05], gloss=0.05, height=0.0)
        centre = (cell_x, -0.2 * radius)
        centres.append(centre)
        well = _circle_sdf(size, centre, 0.2 * radius)
        _lay(maps, _coverage(well), colour * 0.45, gloss=0.2, height=0.02 * radius)
        screw = _circle_sdf(size, centre, 0.17 * radius)
        if index == missing_part:
            thread = np.abs(np.sin(_circle_sdf(size, centre, 0) * (12 / radius)))
            hole = _coverage(_circle_sdf(size, centre, 0.11 * radius))
            _lay(maps, hole, np.stack([0.06 + 0.08 * thread] * 3), gloss=0.3, height=-0.02 * radius)
            continue
        _lay(
            maps,
            _coverage(screw),
            [0.72, 0.72, 0.7],
            gloss=0.8,
            height=0.02 * radius + 0.05 * radius * _bevel(screw, 0.08 * radius),
            raised=True,
        )
        slot = _coverage(
            _box_sdf(size, centre, 0.15 * radius, 0.025 * radius, angle=slot_angles[index])
        )
        maps.height -= 0.05 * radius * slot
        maps.albedo *= 1 - 0.6 * slot
    return maps, centres


def _draw_woodstick(size, layout, missing_part):
    """A round wooden stick with grain."""
    radius = _object_radius(size)
    _, y = _grid(size)
    stick = _box_sdf(size, (0, 0), 1.0 * radius, 0.24 * radius, corner=0.2 * radius)
    grain = _noise(layout, size, 6, stretch=10)
    rings = np.sin(y * (60 / radius) + 2.5 * _noise(layout, size, 4))
    wood = np.array([0.72, 0.52, 0.3], np.float32) * layout.uniform(0.9, 1.1)
    albedo = wood[:, None, None] * (1 + 0.06 * grain + 0.06 * rings)
    # A round cross-section: height grows like a circle's from the outline in.
    depth = np.clip(-stick / (0.24 * radius), 0, 1)
    roundness = np.sqrt(1 - (1 - depth) ** 2)
    maps = _empty_maps(size, shininess=10.0)
    _lay(maps, _coverage(stick), albedo, gloss=0.1, height=0.12 * radius * roundness)
    return maps, []


def _draw_plastic_nut(size, layout, missing_part):
    """A hexagonal nylon nut with a chamfer and a threaded hole."""
    radius = _object_radius(size)
    colour = np.array(
        [0.86, 0.85, 0.8] if layout.uniform() < 0.6 else [0.16, 0.16, 0.17], np.float32
    )
    hexagon = _hexagon_sdf(size, radius * math.cos(math.pi / 6))
    chamfer = _circle_sdf(size, (0, 0), 0.95 * radius)
    hole = _circle_sdf(size, (0, 0), 0.42 * radius)
    outline = np.maximum(hexagon, -hole)
    maps = _empty_maps(size, shininess=16.0)
    height = 0.05 * radius * np.minimum(_bevel(chamfer, 0.1 * radius), _bevel(-hole, 0.12 * radius))
    thread = np.abs(np.sin(_circle_sdf(size, (0, 0), 0) * (16 / radius)))
    shade = 1 - 0.35 * thread * np.clip(1 - (hole + 0.0) / (0.08 * radius), 0, 1) * (hole > 0)
    _lay(maps, _coverage(outline), colour[:, None, None] * shade, gloss=0.3, height=height)
    return maps, []


def _draw_audiojack(size, layout, missing_part):
    """A PCB audio jack: body, round barrel and five pins (parts)."""
    radius = _object_radius(size)
    maps = _empty_maps(size, shininess=20.0)
    pin_colour = np.array([0.8, 0.8, 0.78], np.float32)
    centres = [
        (pin_x * radius, side * 0.66 * radius) for pin_x in (0.0, 0.5) for side in (-1, 1)
    ] + [(1.0 * radius, 0.0)]
    for index, centre in enumerate(centres):
        if index == missing_part:
            continue
        horizontal = centre[1] == 0
        pin = _box_sdf(
            size,
            centre,
            (0.14 if horizontal else 0.04) * radius,
            (0.04 if horizontal else 0.14) * radius,
            corner=0.015 * radius,
        )
        _lay(
            maps,
            _coverage(pin),
            pin_colour,
            gloss=0.9,
            height=0.015 * radius * _bevel(pin, 0.03 * radius),
        )
    body = _box_sdf(size, (0.22 * radius, 0), 0.68 * radius, 0.55 * radius, corner=0.05 * radius)
    grey = np.float32(layout.uniform(0.18, 0.26))
    texture = 1 + 0.04 * _noise(layout, size, 40)
    _lay(
        maps,
        _coverage(body),
        np.stack([grey * texture] * 3),
        gloss=0.3,
        height=0.08 * radius * _bevel(body, 0.06 * radius),
        raised=True,
    )
    _, y = _grid(size)
    barrel = _box_sdf(size, (-0.72 * radius, 0), 0.26 * radius, 0.34 * radius, corner=0.02 * radius)
    roundness = np.sqrt(np.clip(1 - (y / (0.34 * radius)) ** 2, 0, 1))
    _lay(
        maps,
        _coverage(barrel),
        grey * 1.15 * np.ones(3, np.float32),
        gloss=0.45,
        height=0.08 * radius * roundness,
        raised=True,
    )
    for ring_x in (-0.62, -0.8):
        ring = _coverage(_box_sdf(size, (ring_x * radius, 0), 0.012 * radius, 0.33 * radius))
        maps.height -= 0.02 * radius * ring
    for mark_x, mark_y in ((0.55, -0.3), (0.55, 0.3)):
        ejector = _coverage(
            np.abs(_circle_sdf(size, (mark_x * radius, mark_y * radius), 0.07 * radius))
            - 0.01 * radius
        )
        maps.height -= 0.012 * radius * ejector
    return maps, centres


@dataclasses.dataclass(frozen=True)
class _ObjectKind:
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
        _draw_audiojack, ("AK", "BX", "CH", "HS"), _LIGHT_BACKGROUND, double_underscore=True
    ),
    "pcb": _ObjectKind(_draw_pcb, ("PS", "QS", "YW", "ZW"), _DARK_BACKGROUND),
    "bottle_cap": _ObjectKind(
        _draw_bottle_cap,
        ("AK", "BX", "HS", "PS", "YW", "ZW"),
        _LIGHT_BACKGROUND,
        free_rotation=True,
    ),
    "switch": _ObjectKind(_draw_switch, ("BX", "CH", "HS", "QS", "YW"), _LIGHT_BACKGROUND),
    "toy_brick": _ObjectKind(_draw_toy_brick, ("AK", "CH", "PS", "QS", "ZW"), _DARK_BACKGROUND),
    "washer": _ObjectKind(
        _draw_washer, ("AK", "BX", "CH", "HS", "PS", "ZW"), _DARK_BACKGROUND, free_rotation=True
    ),
    "button_battery": _ObjectKind(
        _draw_button_battery, ("AK", "BX", "CH", "HS", "ZW"), _DARK_BACKGROUND, free_rotation=True
    ),
    "terminalblock": _ObjectKind(
        _draw_terminalblock, ("AK", "PS", "QS", "YW", "ZW"), _LIGHT_BACKGROUND
    ),
    "woodstick": _ObjectKind(
        _draw_woodstick, ("AK", "CH", "HS", "PS", "YW", "ZW"), _DARK_BACKGROUND
    ),
    "plastic_nut": _ObjectKind(
        _draw_plastic_nut, ("AK", "BX", "CH", "PS", "YW"), _DARK_BACKGROUND, free_rotation=True
    ),
}

# --------------------------------------------------------------------------
# Defects (paper Table 1). Each ``_defect_<name>(context)`` returns the maps
# of the clean sample with the defect added, and the defect's centre in the
# object's frame (which decides the cameras that see it).


@dataclasses.dataclass(frozen=True)
class _DefectContext:
    rng: np.random.Generator
    maps: _SurfaceMaps
    parts: list
    redraw: Callable  # part index -> maps of the same sample without that part


def _interior_point(rng, maps, margin):
    """A random point of the object at least ``margin`` pixels inside it."""
    size = maps.alpha.shape[0]
    solid = (maps.alpha > 0.99).astype(np.uint8)
    diameter = 2 * int(round(margin)) + 1
    inside = cv2.erode(solid, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (diameter, diameter)))
    candidates = np.flatnonzero(inside) if inside.any() else np.flatnonzero(solid)
    row, column = divmod(int(candidates[rng.integers(len(candidates))]), size)
    return np.array([column, row], np.float32) - (size - 1) / 2


def _edge_point(rng, maps, depth):
    """A random outline point of the object's body, and its inward normal.

    Outline points with about ``depth`` pixels of material behind them are
    preferred, so thin parts (pins, tabs) are not bitten off whole; thin
    objects (a stick) get half or a quarter of it.
    """
    size = maps.alpha.shape[0]
    solid = (maps.alpha > 0.5).astype(np.uint8)
    outline = solid - cv2.erode(solid, np.ones((3, 3), np.uint8))
    for fraction in (1, 0.5, 0.25):
        diameter = 2 * int(round(depth * fraction)) + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (diameter, diameter))
        body = cv2.dilate(cv2.erode(solid, kernel), kernel)
        candidates = np.flatnonzero(outline & body)
        if len(candidates):
            break
    row, column = divmod(int(candidates[rng.integers(len(candidates))]), size)
    smooth = _blur(maps.alpha, 3.0)
    inward = np.array(
        [
            cv2.Sobel(smooth, cv2.CV_32F, 1, 0)[row, column],
            cv2.Sobel(smooth, cv2.CV_32F, 0, 1)[row, column],
        ]
    )
    inward /= max(float(np.hypot(*inward)), 1e-6)
    return np.array([column, row], np.float32) - (size - 1) / 2, inward


def _luminance(albedo):
    return 0.3 * albedo[0] + 0.59 * albedo[1] + 0.11 * albedo[2]


def _defect_pit(context):
    """AK: one to three small round depressions with a dark, shaded core."""
    rng, clean = context.rng, context.maps
    size = clean.alpha.shape[0]
    x, y = _grid(size)
    centre = _interior_point(rng, clean, 0.06 * size)
    maps = clean.copy()
    for index in range(rng.choice([1, 1, 2, 3])):
        if index == 0:
            pit_centre, radius = centre, size * rng.uniform(0.022, 0.04)
        else:
            pit_centre = centre + rng.normal(0, 0.045 * size, 2).astype(np.float32)
            radius = size * rng.uniform(0.014, 0.026)
        inside = np.clip(
            1 - ((x - pit_centre[0]) ** 2 + (y - pit_centre[1]) ** 2) / radius**2, 0, 1
        )
        cap = np.sqrt(inside) * clean.alpha
        maps.height -= radius * rng.uniform(0.6, 1.0) * cap
        maps.albedo *= 1 - rng.uniform(0.45, 0.75) * np.sqrt(cap)
        maps.gloss *= 1 - 0.6 * np.minimum(cap * 4, 1)
    return maps, centre


def _defect_deformation(context):
    """BX: the outline dented in (or bulged out), with a shaded hollow."""
    rng, clean = context.rng, context.maps
    size = clean.alpha.shape[0]
    x, y = _grid(size)
    point, inward = _edge_point(rng, clean, 0.08 * size)
    amplitude = size * rng.uniform(0.04, 0.075) * float(rng.choice([1, 1, 1, -1]))
    sigma = size * rng.uniform(0.05, 0.085)
    bump = np.exp(-((x - point[0]) ** 2 + (y - point[1]) ** 2) / (2 * sigma**2))
    # Each pixel takes its content from further out along the normal, so the
    # outline moves inward by ``amplitude`` at the dent's centre.
    source_x = (x + (size - 1) / 2 - amplitude * bump * inward[0]).astype(np.float32)
    source_y = (y + (size - 1) / 2 - amplitude * bump * inward[1]).astype(np.float32)

    def remap(image):
        return cv2.remap(
            image, source_x, source_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )

    maps = _SurfaceMaps(
        np.stack([remap(channel) for channel in clean.albedo]),
        remap(clean.height),
        remap(clean.alpha),
        remap(clean.gloss),
        remap(clean.raised),
        clean.shininess,
    )
    maps.height -= np.sign(amplitude) * 0.9 * abs(amplitude) * bump * maps.alpha
    # A dent in sheet material creases: a darker fold line across the hollow.
    tangent = np.array([-inward[1], inward[0]])
    fold = [
        point + 1.2 * sigma * tangent + 0.3 * sigma * inward,
        point + 0.9 * sigma * inward,
        point - 1.2 * sigma * tangent + 0.3 * sigma * inward,
    ]
    crease = _stroke(size, fold, max(1.0, 0.006 * size))
    maps.albedo *= 1 - 0.3 * _blur(crease, 1.0) * maps.alpha
    return maps, point + inward * abs(amplitude)


def _defect_abrasion(context):
    """CH: a worn patch: paler and matte, covered in fine parallel scuffs."""
    rng, clean = context.rng, context.maps
    size = clean.alpha.shape[0]
    x, y = _grid(size)
    centre = _interior_point(rng, clean, 0.05 * size)
    length = size * rng.uniform(0.08, 0.14)
    width = length * rng.uniform(0.35, 0.7)
    angle = rng.uniform(0, math.pi)
    direction = np.array([math.cos(angle), math.sin(angle)], np.float32)
    normal = np.array([-direction[1], direction[0]], np.float32)
    along = (x - centre[0]) * direction[0] + (y - centre[1]) * direction[1]
    across = (x - centre[0]) * normal[0] + (y - centre[1]) * normal[1]
    ellipse = (along / length) ** 2 + (across / width) ** 2
    region = np.clip((1 - ellipse + 0.4 * _noise(rng, size, 8)) * 1.8, 0, 1) * clean.alpha
    canvas = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(50, 110)):
        middle = centre + rng.uniform(-1, 1) * length * direction
        middle = middle + rng.uniform(-1, 1) * width * normal
        scuff_angle = angle + rng.normal(0, 0.08)
        half = (
            size
            * rng.uniform(0.01, 0.045)
            * np.array([math.cos(scuff_angle), math.sin(scuff_angle)])
        )
        start, end = (
            tuple(map(int, end)) for end in _pixel_points(size, [middle - half, middle + half])
        )
        cv2.line(canvas, start, end, int(rng.integers(90, 256)), 1, cv2.LINE_AA, shift=4)
    scuffs = canvas.astype(np.float32) / 255 * region
    wear = region * rng.uniform(0.55, 0.85)
    luminance = _luminance(clean.albedo)
    # Rubbing roughens the surface: dark ones go paler, pale ones greyer.
    worn = 0.45 * clean.albedo + 0.55 * np.where(
        luminance > 0.6, 0.7 * luminance, 0.35 * luminance + 0.55
    )
    scuff_colour = np.where(luminance > 0.6, np.float32(-0.3), np.float32(0.3))
    maps = clean.copy()
    maps.albedo = np.clip(clean.albedo + (worn - clean.albedo) * wear + scuff_colour * scuffs, 0, 1)
    maps.gloss = clean.gloss * (1 - 0.9 * region)
    maps.height = clean.height - 0.003 * size * scuffs
    return maps, centre


def _bezier(start, control, end, count=40):
    steps = np.linspace(0, 1, count)[:, None]
    return (1 - steps) ** 2 * start + 2 * (1 - steps) * steps * control + steps**2 * end


def _defect_scratch(context):
    """HS: one to three thin, long, gently curved lines cut into the surface."""
    rng, clean = context.rng, context.maps
    size = clean.alpha.shape[0]
    centre = _interior_point(rng, clean, 0.04 * size)
    angle = rng.uniform(0, math.pi)
    direction = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    line = np.zeros_like(clean.alpha)
    for index in range(rng.choice([1, 1, 2, 3])):
        length = size * rng.uniform(0.22, 0.42) * (1 if index == 0 else rng.uniform(0.5, 0.9))
        middle = centre + normal * index * size * rng.uniform(0.012, 0.03)
        bend = normal * length * rng.uniform(-0.2, 0.2)
        points = _bezier(
            middle - direction * length / 2, middle + bend, middle + direction * length / 2
        )
        thickness = size * rng.uniform(0.006, 0.011) / (1 + 0.5 * index)
        # Thinner at both ends, as a scratch fades out.
        line = np.maximum(line, _stroke(size, points, thickness))
        line = np.maximum(line, _stroke(size, points[6:-6], thickness + 1))
    line *= (clean.alpha > 0.99) * rng.uniform(0.8, 1.0)
    luminance = _luminance(clean.albedo)
    # Fresh cuts scatter light: bright on dark surfaces, a dark groove on pale ones.
    cut_colour = np.where(luminance < 0.55, 0.88, 0.3 * luminance)
    maps = clean.copy()
    maps.albedo = clean.albedo + (cut_colour - clean.albedo) * line
    maps.height = clean.height - 0.006 * size * _blur(line, 0.8)
    return maps, centre


def _defect_damage(context):
    """PS: a chip broken out of an edge, with cracks running from it."""
    rng, clean = context.rng, context.maps
    size = clean.alpha.shape[0]
    point, inward = _edge_point(rng, clean, 0.1 * size)
    chip_radius = size * rng.uniform(0.035, 0.06)
    vertices = int(rng.integers(9, 15))
    angles = np.sort(rng.uniform(0, 2 * math.pi, vertices))
    radii = chip_radius * rng.uniform(0.5, 1.15, vertices)
    chip_centre = point - inward * chip_radius * 0.2
    outline = chip_centre + np.stack([radii * np.cos(angles), radii * np.sin(angles)], -1)
    chip = _fill(size, outline)
    fracture = np.clip(_blur(chip, 0.012 * size) * 3 - chip, 0, 1) * clean.alpha
    luminance = _luminance(clean.albedo)
    broken = 0.5 * clean.albedo + 0.35 * luminance + 0.25
    maps = clean.copy()
    maps.albedo = clean.albedo + (broken - clean.albedo) * fracture
    maps.height = clean.height - 0.02 * size * fracture
    maps.gloss = clean.gloss * (1 - fracture)
    cracks = np.zeros_like(clean.alpha)
    for _ in range(rng.integers(1, 4)):
        heading = math.atan2(inward[1], inward[0]) + rng.normal(0, 0.6)
        position = point + inward * chip_radius * 0.6
        points = [position]
        for _ in range(rng.integers(6, 14)):
            heading += rng.normal(0, 0.45)
            position = position + 0.014 * size * np.array([math.cos(heading), math.sin(heading)])
            points.append(position)
        cracks = np.maximum(cracks, _stroke(size, points, max(1.0, 0.005 * size)))
        branch_from = points[len(points) // 2]
        branch_heading = heading + rng.choice([-1, 1]) * rng.uniform(0.5, 1.1)
        branch = [
            branch_from
            + step * 0.014 * size * np.array([math.cos(branch_heading), math.sin(branch_heading)])
            for step in range(int(rng.integers(2, 6)))
        ]
        cracks = np.maximum(cracks, _stroke(size, branch, 1.0))
    cracks *= clean.alpha > 0.99
    maps.albedo *= 1 - 0.8 * cracks
    maps.height -= 0.01 * size * cracks
    maps.alpha = clean.alpha * (1 - chip)
    maps.raised = clean.raised * (1 - chip)
    return maps, point


def _defect_missing_part(context):
    """QS: one component of the object (pin, stud, screw, part) absent."""
    index = int(context.rng.integers(len(context.parts)))
    return context.redraw(index), np.array(context.parts[index], np.float32)


def _defect_foreign_object(context):
    """YW: a fibre, a few particles or a small screw lying on the object."""
    rng, clean = context.rng, context.maps
    size = clean.alpha.shape[0]
    centre = _interior_point(rng, clean, 0.03 * size)
    kind = rng.choice(["fibre", "particles", "screw"])
    maps = clean.copy()
    if kind == "fibre":
        heading = rng.uniform(0, 2 * math.pi)
        turning = rng.normal(0, 0.35, 60).cumsum() * 0.3
        steps = size * rng.uniform(0.28, 0.5) / 60
        directions = np.stack([np.cos(heading + turning), np.sin(heading + turning)], -1)
        points = centre + np.cumsum(directions * steps, 0) - directions.sum(0) * steps / 2
        coverage = _stroke(size, points, max(1.0, size * rng.uniform(0.005, 0.009)))
        colour = [0.05, 0.04, 0.04] if rng.uniform() < 0.6 else [0.92, 0.9, 0.85]
        _lay(
            maps,
            coverage,
            colour,
            gloss=0.2,
            height=clean.height + 0.008 * size * coverage,
            raised=True,
        )
    elif kind == "particles":
        colours = ([0.12, 0.08, 0.05], [0.45, 0.3, 0.15], [0.9, 0.9, 0.88], [0.35, 0.35, 0.37])
        for _ in range(rng.integers(1, 5)):
            radius = size * rng.uniform(0.014, 0.032)
            where = centre + rng.normal(0, 0.04 * size, 2).astype(np.float32)
            angles = np.sort(rng.uniform(0, 2 * math.pi, 9))
            outline = where + radius * rng.uniform(0.6, 1.1, (9, 1)) * np.stack(
                [np.cos(angles), np.sin(angles)], -1
            )
            coverage = _fill(size, outline)
            dome = 0.8 * radius * _blur(coverage, radius * 0.4)
            colour = np.array(colours[rng.integers(len(colours))], np.float32)
            _lay(
                maps,
                coverage,
                colour * rng.uniform(0.85, 1.15),
                gloss=0.2,
                height=clean.height + dome,
                raised=True,
            )
    else:
        length = size * rng.uniform(0.12, 0.2)
        half_width = length * 0.1
        angle = rng.uniform(0, math.pi)
        x, y = _grid(size)
        along = (x - centre[0]) * math.cos(angle) + (y - centre[1]) * math.sin(angle)
        across = (y - centre[1]) * math.cos(angle) - (x - centre[0]) * math.sin(angle)
        shaft = _box_sdf(size, centre, length / 2, half_width, angle=angle, corner=half_width * 0.3)
        head_centre = centre - length / 2 * np.array([math.cos(angle), math.sin(angle)])
        head = _circle_sdf(size, head_centre, half_width * 1.9)
        threads = 0.5 + 0.5 * np.sin(along * (2 * math.pi / (half_width * 0.9)))
        roundness = np.sqrt(np.clip(1 - (across / half_width) ** 2, 0, 1))
        steel = np.float32(0.62) * (0.75 + 0.25 * threads)
        _lay(
            maps,
            _coverage(shaft),
            np.stack([steel] * 3),
            gloss=0.9,
            height=clean.height + half_width * (1.2 * roundness + 0.2 * threads),
            raised=True,
        )
        _lay(
            maps,
            _coverage(head),
            [0.66, 0.66, 0.68],
            gloss=0.9,
            height=clean.height + half_width * 2 * _bevel(head, half_width),
            raised=True,
        )
    return maps, centre


def _defect_contamination(context):
    """ZW: an irregular, semi-transparent stain, denser at its rim."""
    rng, clean = context.rng, context.maps
    size = clean.alpha.shape[0]
    x, y = _grid(size)
    centre = _interior_point(rng, clean, 0.05 * size)
    radius = size * rng.uniform(0.06, 0.12)
    field = (
        1
        - np.hypot(x - centre[0], y - centre[1]) / radius
        + 0.45 * _noise(rng, size, int(rng.integers(6, 12)))
    )
    for _ in range(rng.integers(0, 5)):
        droplet = centre + rng.normal(0, radius, 2).astype(np.float32)
        field = np.maximum(
            field, 1 - np.hypot(x - droplet[0], y - droplet[1]) / (radius * rng.uniform(0.1, 0.25))
        )
    stain = np.clip(field * 4, 0, 1) * clean.alpha
    rim = 4 * stain * (1 - stain)
    opacity = (
        stain
        * rng.uniform(0.5, 0.85)
        * np.clip(0.75 + 0.2 * _noise(rng, size, 12) + 0.4 * rim, 0, 1)
    )
    colours = {
        "oil": [0.16, 0.12, 0.07],
        "rust": [0.55, 0.3, 0.12],
        "dust": [0.86, 0.84, 0.78],
        "coolant": [0.72, 0.62, 0.22],
        "ink": [0.12, 0.18, 0.45],
        "grease": [0.9, 0.8, 0.5],
        "residue": [0.66, 0.66, 0.62],
    }
    # Only stains brighter or darker than the surface under them: the
    # defect must stay visible at the detector's input size (96-128 px).
    row, column = (int(round(value + (size - 1) / 2)) for value in centre[::-1])
    surface = _luminance(clean.albedo[:, row, column])
    visible = [name for name, colour in colours.items() if abs(_luminance(colour) - surface) > 0.2]
    candidates = visible or list(colours)
    kind = candidates[rng.integers(len(candidates))]
    maps = clean.copy()
    maps.albedo = (
        clean.albedo + (np.array(colours[kind], np.float32)[:, None, None] - clean.albedo) * opacity
    )
    maps.gloss = clean.gloss + ((0.7 if kind == "oil" else 0.05) - clean.gloss) * opacity
    return maps, centre


_DEFECTS = {
    "AK": _defect_pit,
    "BX": _defect_deformation,
    "CH": _defect_abrasion,
    "HS": _defect_scratch,
    "PS": _defect_damage,
    "QS": _defect_missing_part,
    "YW": _defect_foreign_object,
    "ZW": _defect_contamination,
}


# --------------------------------------------------------------------------
# Cameras, shading and compositing.


@dataclasses.dataclass(frozen=True)
class _Camera:
    homography: np.ndarray  # object frame -> image
    light: np.ndarray  # unit vector towards the light, object frame
    view: np.ndarray  # unit vector towards the camera, object frame
    cast_shift: tuple  # shadows of raised parts on the object, object frame
    floor_shift: tuple  # the object's shadow on the floor, image frame
    shadow_strength: float
    gain: np.ndarray  # exposure and white balance, per channel
    floor_gradient: tuple
    facing: Optional[np.ndarray]  # object frame, towards an oblique camera; None for C1
    noise_frame: int
    noise_offset: tuple


def _rotate(vector, angle):
    cos, sin = math.cos(angle), math.sin(angle)
    return np.array(
        [cos * vector[0] - sin * vector[1], sin * vector[0] + cos * vector[1], *vector[2:]],
        np.float32,
    )


def _homography(size, rotation, tilt, scale, offset):
    """Perspective view of the object plane rotated by ``rotation`` and
    tilted by ``tilt`` about the image's horizontal axis (near side down)."""
    focal = 2.2 * size
    half = (size - 1) / 2
    corners = np.array([[0, 0], [size - 1, 0], [size - 1, size - 1], [0, size - 1]], np.float32)
    projected = []
    for corner in corners - half:
        turned = _rotate(corner * scale, rotation)
        depth = focal - turned[1] * math.sin(tilt)
        projected.append(
            [
                focal * turned[0] / depth + half + offset[0],
                focal * turned[1] * math.cos(tilt) / depth + half + offset[1],
            ]
        )
    return cv2.getPerspectiveTransform(corners, np.array(projected, np.float32))


def _cameras(rng, size, free_rotation, noise_frames):
    """The five cameras of one sample: C1 from above, C2..C5 from the sides."""
    pose = rng.uniform(0, 2 * math.pi) if free_rotation else rng.normal(0, 0.08)
    offset = rng.uniform(-0.03, 0.03, 2) * size
    scale = rng.uniform(0.94, 1.04)
    cameras = []
    for camera in range(CAMERAS):
        tilt = 0.0 if camera == 0 else rng.uniform(0.4, 0.56)
        rotation = pose + (0.0 if camera == 0 else (camera - 1) * math.pi / 2 + rng.normal(0, 0.05))
        light_azimuth = rng.uniform(0, 2 * math.pi)
        elevation = rng.uniform(0.75, 1.15)
        light = np.array(
            [
                math.cos(light_azimuth) * math.cos(elevation),
                math.sin(light_azimuth) * math.cos(elevation),
                math.sin(elevation),
            ],
            np.float32,
        )
        object_light = _rotate(light, -rotation)
        cameras.append(
            _Camera(
                homography=_homography(size, rotation, tilt, scale, offset),
                light=object_light,
                view=_rotate(np.array([0, math.sin(tilt), math.cos(tilt)], np.float32), -rotation),
                cast_shift=tuple(
                    float(value) for value in -object_light[:2] / object_light[2] * 0.03 * size
                ),
                floor_shift=tuple(float(value) for value in -light[:2] / light[2] * 0.02 * size),
                shadow_strength=rng.uniform(0.25, 0.45),
                gain=(rng.uniform(0.92, 1.08) * rng.uniform(0.97, 1.03, 3)).astype(np.float32),
                floor_gradient=tuple(float(value) for value in rng.uniform(-0.12, 0.12, 2)),
                facing=None if camera == 0 else _rotate(np.array([0.0, 1.0]), -rotation),
                noise_frame=int(rng.integers(noise_frames)),
                noise_offset=tuple(int(value) for value in rng.integers(0, 32, 2)),
            )
        )
    return cameras


@dataclasses.dataclass(frozen=True)
class _Shadable:
    """Surface maps with the view-independent part of shading done."""

    albedo: np.ndarray
    alpha: np.ndarray
    gloss: np.ndarray
    normal: np.ndarray
    raised: np.ndarray  # blurred; None when nothing stands up
    shininess: float


def _shadable(maps):
    slope_x = cv2.Sobel(maps.height, cv2.CV_32F, 1, 0) / 8
    slope_y = cv2.Sobel(maps.height, cv2.CV_32F, 0, 1) / 8
    inverse_length = 1 / np.sqrt(slope_x**2 + slope_y**2 + 1)
    normal = np.stack([-slope_x * inverse_length, -slope_y * inverse_length, inverse_length])
    raised = _blur(maps.raised, 1.0) if maps.raised.any() else None
    return _Shadable(maps.albedo, maps.alpha, maps.gloss, normal, raised, maps.shininess)


def _translate(image, shift):
    matrix = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
    return cv2.warpAffine(image, matrix, image.shape[1::-1], borderMode=cv2.BORDER_CONSTANT)


def _facing(normal, direction):
    """Cosine between each pixel's normal and ``direction``, clipped at 0."""
    return np.clip(
        normal[0] * direction[0] + normal[1] * direction[1] + normal[2] * direction[2], 0, None
    )


def _shade(surface, camera):
    """Lambert diffuse plus a Blinn-Phong highlight, with cast shadows."""
    half_vector = camera.light + camera.view
    half_vector /= np.linalg.norm(half_vector)
    highlight = surface.gloss * _facing(surface.normal, half_vector) ** surface.shininess
    diffuse = _facing(surface.normal, camera.light)
    if surface.raised is not None:
        lit = 1 - 0.55 * np.clip(
            _translate(surface.raised, camera.cast_shift) - surface.raised, 0, 1
        )
        diffuse *= lit
        highlight *= lit
    return surface.albedo * (0.32 + 0.75 * diffuse) + 0.8 * highlight


_VIGNETTES = {}


def _vignette(size):
    if size not in _VIGNETTES:
        x, y = _grid(size)
        _VIGNETTES[size] = 1 - 0.15 * (x**2 + y**2) / (size / 2) ** 2
    return _VIGNETTES[size]


def _photograph(surface, camera, floor):
    """The view of one camera: (3, S, S) linear colour before sensor noise."""
    size = floor.shape[1]
    colour = _shade(surface, camera) * surface.alpha
    # OpenCV warps interleaved channels; the rest works on planes, which
    # NumPy broadcasts far faster than (S, S, 3) by (S, S, 1).
    layers = cv2.warpPerspective(
        cv2.merge([*colour, surface.alpha]),
        camera.homography,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )
    *object_colour, coverage = cv2.split(layers)
    shadow = _blur(_translate(coverage, camera.floor_shift), 0.015 * size)
    x, y = _grid(size)
    lighting = 1 + (camera.floor_gradient[0] * x + camera.floor_gradient[1] * y) / size
    image = floor * (lighting * (1 - camera.shadow_strength * shadow) * (1 - coverage))
    for channel, colour_plane in zip(image, object_colour):
        channel += colour_plane
    return image * camera.gain[:, None, None] * _vignette(size)


def _develop(image, camera, noise_bank):
    """Adds the camera's sensor noise; 8-bit (S, S, 3) RGB."""
    size = image.shape[1]
    row, column = camera.noise_offset
    noise = noise_bank[camera.noise_frame, :, row : row + size, column : column + size]
    planes = np.clip((image + 0.008 * noise) * 255 + 0.5, 0, 255).astype(np.uint8)
    return cv2.merge(list(planes))


def _vary(maps, rng):
    """One physical instance of a product: its own tint, blotches, roughness."""
    size = maps.alpha.shape[0]
    varied = maps.copy()
    tint = rng.uniform(0.95, 1.05, 3) * rng.uniform(0.93, 1.07)
    blotches = 0.04 * _noise(rng, size, 6) + 0.02 * _noise(rng, size, 48)
    varied.albedo = np.clip(
        maps.albedo * tint.astype(np.float32)[:, None, None] * (1 + blotches), 0, 1
    )
    varied.height = maps.height + 0.0002 * size * _noise(rng, size, 48)
    varied.gloss = maps.gloss * np.float32(rng.uniform(0.85, 1.15))
    return varied


def _object_key(object_name):
    """A stable integer for seeding (``hash`` changes between processes)."""
    return zlib.crc32(object_name.encode("utf-8"))


def _check_image_size(image_size):
    # Below 64 px the thinnest defects (scratches, fibres) vanish.
    if image_size < 64:
        raise ValueError(f"image_size must be at least 64 pixels, got {image_size}")


class _ObjectRenderer:
    """Renders the samples of one object; caches its drawn layout."""

    def __init__(self, object_name, image_size, seed):
        _check_image_size(image_size)
        if object_name not in SYNTHETIC_OBJECTS:
            raise ValueError(
                f"unknown synthetic object {object_name!r}; "
                f"expected one of {sorted(SYNTHETIC_OBJECTS)}"
            )
        self.kind = SYNTHETIC_OBJECTS[object_name]
        self.image_size = image_size
        self.seed = (seed, _object_key(object_name))
        self._drawings = {}
        floor_rng = np.random.default_rng([*self.seed, 1])
        floor_texture = (
            1 + 0.03 * _noise(floor_rng, image_size, 5) + 0.015 * _noise(floor_rng, image_size, 80)
        )
        self.floor = np.array(self.kind.background, np.float32)[:, None, None] * floor_texture
        self.noise_bank = floor_rng.standard_normal(
            (3, 3, image_size + 32, image_size + 32), np.float32
        )

    def drawing(self, missing_part=None):
        if missing_part not in self._drawings:
            layout = np.random.default_rng([*self.seed, 0])
            self._drawings[missing_part] = self.kind.draw(self.image_size, layout, missing_part)
        return self._drawings[missing_part]

    def render(self, sample_number, defect_code=None):
        rng = np.random.default_rng([*self.seed, 2, sample_number])
        instance_seed = int(rng.integers(2**32))
        base_maps, parts = self.drawing()
        clean = _vary(base_maps, np.random.default_rng(instance_seed))
        cameras = _cameras(rng, self.image_size, self.kind.free_rotation, len(self.noise_bank))
        surface = _shadable(clean)
        clean_images = [
            _develop(_photograph(surface, camera, self.floor), camera, self.noise_bank)
            for camera in cameras
        ]
        if defect_code is None:
            return [
                SyntheticView(index + 1, image, image, None)
                for index, image in enumerate(clean_images)
            ]
        if defect_code not in self.kind.defect_codes:
            raise ValueError(
                f"defect code {defect_code!r} is not one of this object's {self.kind.defect_codes}"
            )
        context = _DefectContext(
            rng,
            clean,
            parts,
            lambda part: _vary(self.drawing(part)[0], np.random.default_rng(instance_seed)),
        )
        # A defect drawn too small to see from two cameras is drawn again.
        for _ in range(20):
            maps, centre = _DEFECTS[defect_code](context)
            views = self._defective_views(_shadable(maps), centre, cameras, clean_images)
            if sum(view.mask is not None for view in views) >= MIN_DEFECTIVE_VIEWS:
                return views
        raise RuntimeError(
            f"could not render a visible {defect_code} defect for sample {sample_number}"
        )

    def _defective_views(self, surface, centre, cameras, clean_images):
        radius = _object_radius(self.image_size)
        minimum_pixels = MIN_MASK_FRACTION * self.image_size**2
        views = []
        for index, (camera, clean) in enumerate(zip(cameras, clean_images)):
            # An oblique camera does not see a defect on the far side.
            if camera.facing is not None and float(centre @ camera.facing) < -0.1 * radius:
                views.append(SyntheticView(index + 1, clean, clean, None))
                continue
            image = _develop(_photograph(surface, camera, self.floor), camera, self.noise_bank)
            red, green, blue = cv2.split(cv2.absdiff(image, clean))
            mask = (cv2.max(cv2.max(red, green), blue) > MASK_THRESHOLD).astype(np.uint8) * 255
            if cv2.countNonZero(mask) < minimum_pixels:
                views.append(SyntheticView(index + 1, clean, clean, None))
                continue
            views.append(
                SyntheticView(index + 1, cv2.copyTo(image, mask, clean.copy()), clean, mask)
            )
        return views


def render_sample(object_name, defect_code=None, image_size=256, seed=0, sample_number=1):
    """Renders the five views of one sample, as ``make_synthetic_iad`` does.

    The same arguments give the same pixels as the sample of that number in
    a data set built with ``seed`` (when it has that defect code).

    Args:
        object_name: a key of ``SYNTHETIC_OBJECTS``.
        defect_code: None for a normal sample, else one of the object's
            defect codes (``SYNTHETIC_OBJECTS[name].defect_codes``).
        image_size: side of the images in pixels.
        seed: the data set's seed.
        sample_number: the sample's number (``S0001`` is 1).

    Returns:
        A list of 5 ``SyntheticView``, cameras C1..C5.
    """
    return _ObjectRenderer(object_name, image_size, seed).render(sample_number, defect_code)


# --------------------------------------------------------------------------
# The data set: samples, files and FUIAD split files.


@dataclasses.dataclass(frozen=True)
class _PlannedSample:
    number: int
    defect_code: Optional[str]  # None for a normal sample
    in_test: bool


def _round_half_up(value):
    return int(math.floor(value + 0.5))


def _defective_train_images(alpha, train_images):
    return _round_half_up(alpha * train_images)


def _plan_samples(object_name, preset, rng):
    """The samples of one object: normal ones first, then each defect type's.

    There are enough training samples for the largest alpha, counting the
    fewest defective views a defective sample can have.
    """
    codes = SYNTHETIC_OBJECTS[object_name].defect_codes
    largest = _defective_train_images(FUIAD_ALPHAS[-1], preset.train_images)
    per_type = math.ceil(largest / len(codes))
    train_defective = math.ceil(per_type / MIN_DEFECTIVE_VIEWS)
    groups = [(None, math.ceil(preset.train_images / CAMERAS), preset.test_normal_samples)]
    groups += [(code, train_defective, preset.test_defective_samples) for code in codes]
    samples = []
    for code, train_count, test_count in groups:
        in_test = np.zeros(train_count + test_count, bool)
        in_test[rng.permutation(len(in_test))[:test_count]] = True
        samples += [
            _PlannedSample(len(samples) + index + 1, code, bool(test))
            for index, test in enumerate(in_test)
        ]
    return samples


def _timestamp(object_name, sample_number, camera):
    """A 14-digit capture time: the five views of a sample a second apart."""
    start = datetime.datetime(2023, 9, 4, 8, 0, 0) + datetime.timedelta(
        minutes=_object_key(object_name) % 9000
    )
    moment = start + datetime.timedelta(seconds=47 * sample_number + camera)
    return moment.strftime("%Y%m%d%H%M%S")


def _file_stem(object_name, sample, camera):
    timestamp = _timestamp(object_name, sample.number, camera)
    if sample.defect_code is None:
        return f"{object_name}_{sample.number:04d}_OK_C{camera}_{timestamp}"
    # Real-IAD names some objects' defective files with a double underscore.
    separator = "__" if SYNTHETIC_OBJECTS[object_name].double_underscore else "_"
    return (
        f"{object_name}{separator}{sample.number:04d}_NG_{sample.defect_code}_C{camera}_{timestamp}"
    )


def _sample_folder(sample):
    if sample.defect_code is None:
        return f"{NORMAL_CLASS}/S{sample.number:04d}"
    return f"NG/{sample.defect_code}/S{sample.number:04d}"


def _encode(extension, image, parameters=()):
    succeeded, encoded = cv2.imencode(extension, image, list(parameters))
    if not succeeded:
        raise RuntimeError(f"OpenCV could not encode a {extension} image")
    return encoded.tobytes()


def _write_sample(object_folder, object_name, sample, views):
    """Writes a sample's images and masks; returns its split entries."""
    folder = _sample_folder(sample)
    os.makedirs(os.path.join(object_folder, folder), exist_ok=True)
    entries = []
    for view in views:
        stem = f"{folder}/{_file_stem(object_name, sample, view.camera)}"
        bgr = cv2.cvtColor(view.image, cv2.COLOR_RGB2BGR)
        write_bytes(
            os.path.join(object_folder, f"{stem}.jpg"),
            _encode(".jpg", bgr, (cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY)),
        )
        mask_path = None
        if view.mask is not None:
            mask_path = f"{stem}{MASK_EXTENSION}"
            write_bytes(os.path.join(object_folder, mask_path), _encode(MASK_EXTENSION, view.mask))
        entries.append(
            {
                "category": object_name,
                "anomaly_class": sample.defect_code if view.mask is not None else NORMAL_CLASS,
                "image_path": f"{stem}.jpg",
                "mask_path": mask_path,
            }
        )
    return entries


def _fuiad_train(samples, entries_by_sample, alpha, train_images, codes):
    """The FUIAD training split of one object at ``alpha`` (paper 4.1).

    Defective images are taken one type at a time in turn, so every type is
    present even at alpha 0.1; the normal images are first the unlabelled
    views of those defective samples, then the views of normal samples.
    """
    defective_count = _defective_train_images(alpha, train_images)
    queues = {code: [] for code in codes}
    for sample in samples:
        if sample.defect_code is not None and not sample.in_test:
            queues[sample.defect_code] += [
                (sample.number, entry)
                for entry in entries_by_sample[sample.number]
                if entry["anomaly_class"] != NORMAL_CLASS
            ]
    chosen = []
    while len(chosen) < defective_count and any(queues.values()):
        for code in codes:
            if queues[code] and len(chosen) < defective_count:
                chosen.append(queues[code].pop(0))
    if len(chosen) < defective_count:
        raise RuntimeError(
            f"only {len(chosen)} defective training images for {defective_count} wanted"
        )
    used_samples = sorted({number for number, _ in chosen})
    normal_pool = [
        (number, entry)
        for number in used_samples
        for entry in entries_by_sample[number]
        if entry["anomaly_class"] == NORMAL_CLASS
    ] + [
        (sample.number, entry)
        for sample in samples
        if sample.defect_code is None and not sample.in_test
        for entry in entries_by_sample[sample.number]
    ]
    chosen += normal_pool[: train_images - defective_count]
    if len(chosen) < train_images:
        raise RuntimeError(f"only {len(chosen)} training images for {train_images} wanted")
    return [entry for _, entry in sorted(chosen, key=lambda item: (item[0], item[1]["image_path"]))]


def _write_splits(root, object_name, samples, entries_by_sample, preset):
    codes = SYNTHETIC_OBJECTS[object_name].defect_codes
    test = [
        entry for sample in samples if sample.in_test for entry in entries_by_sample[sample.number]
    ]
    for alpha in FUIAD_ALPHAS:
        folder = os.path.join(root, SPLITS_FOLDER, fuiad_setting(alpha))
        os.makedirs(folder, exist_ok=True)
        split = {
            "meta": {"prefix": f"{object_name}/", "normal_class": NORMAL_CLASS},
            "train": _fuiad_train(samples, entries_by_sample, alpha, preset.train_images, codes),
            "test": test,
        }
        write_json(os.path.join(folder, f"{object_name}.json"), split)


def _resolve_preset(preset):
    if isinstance(preset, SyntheticPreset):
        chosen = preset
    elif preset in PRESETS:
        chosen = PRESETS[preset]
    else:
        raise ValueError(
            f"unknown preset {preset!r}; expected one of {sorted(PRESETS)} or a SyntheticPreset"
        )
    unknown = [name for name in chosen.objects if name not in SYNTHETIC_OBJECTS]
    if unknown:
        raise ValueError(
            f"preset objects {unknown} are not in SYNTHETIC_OBJECTS {sorted(SYNTHETIC_OBJECTS)}"
        )
    _check_image_size(chosen.image_size)
    if chosen.train_images < 1:
        raise ValueError(f"preset train_images must be positive, got {chosen.train_images}")
    return chosen


def make_synthetic_iad(output_dir, preset="demo", seed=0, progress=True):
    """Writes a synthetic data set in Real-IAD's layout (paper-notes 6).

    ``output_dir`` receives ``realiad_<size>/<object>/{OK,NG}/...`` (JPEG
    images, PNG masks of 0/255) and
    ``realiad_jsons/realiad_jsons_fuiad_<alpha>/<object>.json`` for alpha
    0.0, 0.1, 0.2 and 0.4.

    Args:
        output_dir: folder to write to; created if missing. Its image folder
            must not exist yet or be empty, so sets never mix.
        preset: ``"tiny"`` (2 objects, 128 px, 220 images: for tests),
            ``"demo"`` (6 objects, 256 px, about 2,600 images), ``"full"``
            (10 objects, 256 px, about 15,000 images), or a
            ``SyntheticPreset``.
        seed: random seed; the same seed writes the same bytes.
        progress: show a progress bar.

    Returns:
        The data set root (absolute ``output_dir``): the folder that holds
        ``realiad_jsons``.
    """
    chosen = _resolve_preset(preset)
    root = os.path.abspath(output_dir)
    image_folder = os.path.join(root, f"{IMAGE_FOLDER_PREFIX}{chosen.image_size}")
    if os.path.isdir(image_folder) and os.listdir(image_folder):
        raise ValueError(f"{image_folder} already holds files; choose an empty output folder")
    plans = {
        name: _plan_samples(name, chosen, np.random.default_rng([seed, _object_key(name), 3]))
        for name in chosen.objects
    }
    progress_bar = ProgressBar(
        sum(len(samples) for samples in plans.values()), unit_name="sample", verbose=int(progress)
    )
    for name, samples in plans.items():
        renderer = _ObjectRenderer(name, chosen.image_size, seed)
        object_folder = os.path.join(image_folder, name)
        entries_by_sample = {}
        for sample in samples:
            views = renderer.render(sample.number, sample.defect_code)
            entries_by_sample[sample.number] = _write_sample(object_folder, name, sample, views)
            progress_bar.add(1)
        _write_splits(root, name, samples, entries_by_sample, chosen)
    return root


# --------------------------------------------------------------------------
# Contact sheets: a page of examples per defect type, for the docs.


def _image_folder(root):
    """The one ``realiad_<size>`` folder of a data set root."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"data set root {root} does not exist")
    folders = sorted(
        name
        for name in os.listdir(root)
        if name.startswith(IMAGE_FOLDER_PREFIX) and name[len(IMAGE_FOLDER_PREFIX) :].isdigit()
    )
    if len(folders) != 1:
        raise ValueError(
            f"{root} should hold exactly one realiad_<size> image folder, found {folders}"
        )
    return os.path.join(root, folders[0])


def _examples_by_type(root, split_folder):
    """Defective images with masks, per type, one object after another."""
    folder = os.path.join(root, SPLITS_FOLDER, split_folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"split folder {folder} does not exist")
    examples = {code: [] for code in DEFECT_CODES}
    for file_name in sorted(os.listdir(folder)):
        if not file_name.endswith(".json"):
            continue
        with open(os.path.join(folder, file_name), encoding="utf-8") as file:
            split = json.load(file)
        per_sample = {code: {} for code in DEFECT_CODES}
        for entry in split["train"] + split["test"]:
            if entry["anomaly_class"] in per_sample and entry["mask_path"]:
                sample_folder = os.path.dirname(entry["image_path"])
                per_sample[entry["anomaly_class"]].setdefault(sample_folder, []).append(
                    (split["meta"]["prefix"], entry)
                )
        for code, samples in per_sample.items():
            # One view of every sample before a second view of any.
            examples[code].append(
                [entry for views in _interleave(list(samples.values())) for entry in views]
            )
    # Interleave objects so that a page shows as many objects as it can.
    return {
        code: [entry for group in _interleave(lists) for entry in group]
        for code, lists in examples.items()
    }


def _interleave(lists):
    longest = max((len(entries) for entries in lists), default=0)
    for index in range(longest):
        yield [entries[index] for entries in lists if index < len(entries)]


def _contact_tile(image_folder, prefix, entry, tile_size):
    image = read_rgb_image(os.path.join(image_folder, prefix + entry["image_path"]))
    mask = read_mask(os.path.join(image_folder, prefix + entry["mask_path"]))
    tile = cv2.resize(image, (tile_size, tile_size), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask, (tile_size, tile_size), interpolation=cv2.INTER_NEAREST)
    # Outline the mask a few pixels out, so the line does not hide the defect.
    outside = cv2.dilate(
        (mask > 0).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    )
    contours, _ = cv2.findContours(outside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    # Yellow on a dark edge shows on every object colour.
    cv2.drawContours(tile, contours, -1, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.drawContours(tile, contours, -1, (255, 235, 0), 1, cv2.LINE_AA)
    caption = entry["category"]
    (width, height), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, 0.38, 1)
    cv2.rectangle(tile, (0, tile_size - height - 8), (width + 7, tile_size), (0, 0, 0), cv2.FILLED)
    cv2.putText(
        tile,
        caption,
        (4, tile_size - 5),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.38,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return tile


def write_contact_sheets(
    root,
    output_dir,
    examples_per_type=8,
    columns=4,
    tile_size=160,
    split_folder=fuiad_setting(0.4),
):
    """Writes one PNG per defect type: example images with the mask outlined.

    Args:
        root: a data set root (holds ``realiad_jsons`` and one
            ``realiad_<size>`` folder), e.g. from ``make_synthetic_iad``.
        output_dir: folder for the PNG files; created if missing.
        examples_per_type: images per sheet, taken from as many objects as
            possible.
        columns: images per row.
        tile_size: side of each image on the sheet, in pixels.
        split_folder: the split files to take the examples from (their
            training and test splits).

    Returns:
        The paths written, ``<output_dir>/synthetic_<CODE>.png``, in
        ``DEFECT_CODES`` order; types without examples get no sheet.
    """
    if examples_per_type < 1 or columns < 1 or tile_size < 32:
        raise ValueError(
            f"examples_per_type and columns must be positive and tile_size at least 32; got "
            f"{examples_per_type}, {columns}, {tile_size}"
        )
    image_folder = _image_folder(root)
    examples = _examples_by_type(root, split_folder)
    os.makedirs(output_dir, exist_ok=True)
    title_height = 30
    paths = []
    for code in DEFECT_CODES:
        chosen = examples[code][:examples_per_type]
        if not chosen:
            continue
        rows = math.ceil(len(chosen) / columns)
        sheet = np.full((title_height + rows * tile_size, columns * tile_size, 3), 32, np.uint8)
        cv2.putText(
            sheet,
            f"{code}  {DEFECT_NAMES[code]}",
            (8, 21),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.62,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        for index, (prefix, entry) in enumerate(chosen):
            row, column = divmod(index, columns)
            top = title_height + row * tile_size
            sheet[top : top + tile_size, column * tile_size : (column + 1) * tile_size] = (
                _contact_tile(image_folder, prefix, entry, tile_size)
            )
        path = os.path.join(output_dir, f"synthetic_{code}.png")
        write_png(path, sheet, compression=9)
        paths.append(path)
    return paths
