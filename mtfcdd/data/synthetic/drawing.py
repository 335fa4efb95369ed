"""Drawing primitives: signed distances on a pixel grid centred on the canvas.

An object is drawn flat, in its own frame, as ``SurfaceMaps`` (albedo,
height, coverage, gloss); ``lay`` paints a layer of material over them
wherever a coverage is above 0. The primitives make such coverages: signed
distance functions of circles, boxes and hexagons, anti-aliased strokes and
polygons, and smooth noise for textures.
"""

import dataclasses
import functools
import math

import cv2
import numpy as np


@dataclasses.dataclass
class SurfaceMaps:
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
        return SurfaceMaps(
            self.albedo.copy(),
            self.height.copy(),
            self.alpha.copy(),
            self.gloss.copy(),
            self.raised.copy(),
            self.shininess,
        )



@functools.cache
def grid(size):
    """x (columns) and y (rows) of every pixel, origin at the canvas centre."""
    coordinates = np.arange(size, dtype=np.float32) - (size - 1) / 2
    return np.meshgrid(coordinates, coordinates)


def circle_sdf(size, centre, radius):
    x, y = grid(size)
    return np.hypot(x - centre[0], y - centre[1]) - radius


def box_sdf(size, centre, half_width, half_height, angle=0.0, corner=0.0):
    x, y = grid(size)
    cos, sin = math.cos(angle), math.sin(angle)
    along = (x - centre[0]) * cos + (y - centre[1]) * sin
    across = (y - centre[1]) * cos - (x - centre[0]) * sin
    excess_x = np.abs(along) - (half_width - corner)
    excess_y = np.abs(across) - (half_height - corner)
    outside = np.hypot(np.maximum(excess_x, 0), np.maximum(excess_y, 0))
    inside = np.minimum(np.maximum(excess_x, excess_y), 0)
    return outside + inside - corner


def hexagon_sdf(size, apothem):
    x, y = grid(size)
    distance = np.abs(y)
    for angle in (math.pi / 6, -math.pi / 6):
        distance = np.maximum(distance, np.abs(x * math.cos(angle) + y * math.sin(angle)))
    return distance - apothem


def coverage(sdf):
    """Anti-aliased inside-ness of a signed distance field."""
    return np.clip(0.5 - sdf, 0, 1)


def bevel(sdf, width):
    """0 at the outline rising smoothly to 1 at ``width`` pixels inside."""
    ramp = np.clip(-sdf / width, 0, 1)
    return ramp * ramp * (3 - 2 * ramp)


def noise(rng, size, cells, stretch=1):
    """Smooth value noise (about unit variance) with ``cells`` blobs a side.

    ``stretch`` > 1 squeezes the blobs vertically into horizontal streaks.
    """
    field = rng.standard_normal((max(2, int(cells * stretch)), cells)).astype(np.float32)
    return cv2.resize(field, (size, size), interpolation=cv2.INTER_CUBIC)


def pixel_points(size, points):
    """Canvas-centred (x, y) points as OpenCV's fixed-point (shift 4) ints."""
    return np.round((np.asarray(points) + (size - 1) / 2) * 16).astype(np.int32)


def stroke(size, points, thickness):
    """Anti-aliased coverage of a polyline through ``points``."""
    canvas = np.zeros((size, size), np.uint8)
    cv2.polylines(
        canvas,
        [pixel_points(size, points)],
        False,
        255,
        thickness=max(1, int(round(thickness))),
        lineType=cv2.LINE_AA,
        shift=4,
    )
    return canvas.astype(np.float32) / 255


def fill(size, points):
    """Anti-aliased coverage of the polygon through ``points``."""
    canvas = np.zeros((size, size), np.uint8)
    cv2.fillPoly(canvas, [pixel_points(size, points)], 255, lineType=cv2.LINE_AA, shift=4)
    return canvas.astype(np.float32) / 255


def blur(image, sigma):
    return cv2.GaussianBlur(image, (0, 0), sigma)


def empty_maps(size, shininess):
    plane = np.zeros((size, size), np.float32)
    return SurfaceMaps(
        np.zeros((3, size, size), np.float32),
        plane,
        plane.copy(),
        plane.copy(),
        plane.copy(),
        shininess,
    )


def lay(maps, coverage, colour, gloss, height=None, raised=False):
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


def object_radius(size):
    """Half the extent of an object on its canvas; every kind scales with it."""
    return 0.34 * size
