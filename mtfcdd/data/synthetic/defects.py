"""The eight defect types of paper Table 1, rendered into an object's maps.

Each ``_defect_<name>(context)`` returns the maps of the clean sample with
the defect added, and the defect's centre in the object's frame (which
decides the cameras that see it). ``DEFECTS`` gives the renderer of each
defect code.
"""

import dataclasses
import math
from typing import Callable

import cv2
import numpy as np

from mtfcdd.data.synthetic.drawing import (
    SurfaceMaps,
    bevel,
    blur,
    box_sdf,
    circle_sdf,
    coverage,
    fill,
    grid,
    lay,
    noise,
    pixel_points,
    stroke,
)


@dataclasses.dataclass(frozen=True)
class DefectContext:
    """What a defect renderer works on: one sample of one object.

    Attributes:
        rng: the sample's random generator; the defect draws from it.
        maps: the clean sample's surface maps.
        parts: centres of the object's removable parts (QS).
        redraw: part index -> maps of the same sample without that part.
    """

    rng: np.random.Generator
    maps: SurfaceMaps
    parts: list
    redraw: Callable


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
    smooth = blur(maps.alpha, 3.0)
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
    x, y = grid(size)
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
    x, y = grid(size)
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

    maps = SurfaceMaps(
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
    crease = stroke(size, fold, max(1.0, 0.006 * size))
    maps.albedo *= 1 - 0.3 * blur(crease, 1.0) * maps.alpha
    return maps, point + inward * abs(amplitude)


def _defect_abrasion(context):
    """CH: a worn patch: paler and matte, covered in fine parallel scuffs."""
    rng, clean = context.rng, context.maps
    size = clean.alpha.shape[0]
    x, y = grid(size)
    centre = _interior_point(rng, clean, 0.05 * size)
    length = size * rng.uniform(0.08, 0.14)
    width = length * rng.uniform(0.35, 0.7)
    angle = rng.uniform(0, math.pi)
    direction = np.array([math.cos(angle), math.sin(angle)], np.float32)
    normal = np.array([-direction[1], direction[0]], np.float32)
    along = (x - centre[0]) * direction[0] + (y - centre[1]) * direction[1]
    across = (x - centre[0]) * normal[0] + (y - centre[1]) * normal[1]
    ellipse = (along / length) ** 2 + (across / width) ** 2
    region = np.clip((1 - ellipse + 0.4 * noise(rng, size, 8)) * 1.8, 0, 1) * clean.alpha
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
            tuple(map(int, end)) for end in pixel_points(size, [middle - half, middle + half])
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
        line = np.maximum(line, stroke(size, points, thickness))
        line = np.maximum(line, stroke(size, points[6:-6], thickness + 1))
    line *= (clean.alpha > 0.99) * rng.uniform(0.8, 1.0)
    luminance = _luminance(clean.albedo)
    # Fresh cuts scatter light: bright on dark surfaces, a dark groove on pale ones.
    cut_colour = np.where(luminance < 0.55, 0.88, 0.3 * luminance)
    maps = clean.copy()
    maps.albedo = clean.albedo + (cut_colour - clean.albedo) * line
    maps.height = clean.height - 0.006 * size * blur(line, 0.8)
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
    chip = fill(size, outline)
    fracture = np.clip(blur(chip, 0.012 * size) * 3 - chip, 0, 1) * clean.alpha
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
        cracks = np.maximum(cracks, stroke(size, points, max(1.0, 0.005 * size)))
        branch_from = points[len(points) // 2]
        branch_heading = heading + rng.choice([-1, 1]) * rng.uniform(0.5, 1.1)
        branch = [
            branch_from
            + step * 0.014 * size * np.array([math.cos(branch_heading), math.sin(branch_heading)])
            for step in range(int(rng.integers(2, 6)))
        ]
        cracks = np.maximum(cracks, stroke(size, branch, 1.0))
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
        fibre = stroke(size, points, max(1.0, size * rng.uniform(0.005, 0.009)))
        colour = [0.05, 0.04, 0.04] if rng.uniform() < 0.6 else [0.92, 0.9, 0.85]
        lay(
            maps,
            fibre,
            colour,
            gloss=0.2,
            height=clean.height + 0.008 * size * fibre,
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
            particle = fill(size, outline)
            dome = 0.8 * radius * blur(particle, radius * 0.4)
            colour = np.array(colours[rng.integers(len(colours))], np.float32)
            lay(
                maps,
                particle,
                colour * rng.uniform(0.85, 1.15),
                gloss=0.2,
                height=clean.height + dome,
                raised=True,
            )
    else:
        length = size * rng.uniform(0.12, 0.2)
        half_width = length * 0.1
        angle = rng.uniform(0, math.pi)
        x, y = grid(size)
        along = (x - centre[0]) * math.cos(angle) + (y - centre[1]) * math.sin(angle)
        across = (y - centre[1]) * math.cos(angle) - (x - centre[0]) * math.sin(angle)
        shaft = box_sdf(size, centre, length / 2, half_width, angle=angle, corner=half_width * 0.3)
        head_centre = centre - length / 2 * np.array([math.cos(angle), math.sin(angle)])
        head = circle_sdf(size, head_centre, half_width * 1.9)
        threads = 0.5 + 0.5 * np.sin(along * (2 * math.pi / (half_width * 0.9)))
        roundness = np.sqrt(np.clip(1 - (across / half_width) ** 2, 0, 1))
        steel = np.float32(0.62) * (0.75 + 0.25 * threads)
        lay(
            maps,
            coverage(shaft),
            np.stack([steel] * 3),
            gloss=0.9,
            height=clean.height + half_width * (1.2 * roundness + 0.2 * threads),
            raised=True,
        )
        lay(
            maps,
            coverage(head),
            [0.66, 0.66, 0.68],
            gloss=0.9,
            height=clean.height + half_width * 2 * bevel(head, half_width),
            raised=True,
        )
    return maps, centre


def _defect_contamination(context):
    """ZW: an irregular, semi-transparent stain, denser at its rim."""
    rng, clean = context.rng, context.maps
    size = clean.alpha.shape[0]
    x, y = grid(size)
    centre = _interior_point(rng, clean, 0.05 * size)
    radius = size * rng.uniform(0.06, 0.12)
    field = (
        1
        - np.hypot(x - centre[0], y - centre[1]) / radius
        + 0.45 * noise(rng, size, int(rng.integers(6, 12)))
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
        * np.clip(0.75 + 0.2 * noise(rng, size, 12) + 0.4 * rim, 0, 1)
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


DEFECTS = {
    "AK": _defect_pit,
    "BX": _defect_deformation,
    "CH": _defect_abrasion,
    "HS": _defect_scratch,
    "PS": _defect_damage,
    "QS": _defect_missing_part,
    "YW": _defect_foreign_object,
    "ZW": _defect_contamination,
}
