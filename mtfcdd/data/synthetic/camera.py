"""Cameras, shading and compositing: from an object's maps to a photograph.

A sample is seen by ``CAMERAS`` cameras, C1 from above and the others
obliquely from four sides, each with its own perspective, light, exposure
and sensor noise. ``photograph`` shades the maps (Lambert diffuse, a
Blinn-Phong highlight, cast shadows) and sets the object on the floor;
``develop`` adds the sensor noise and quantises to 8 bits.
"""

import dataclasses
import functools
import math
from typing import Optional

import cv2
import numpy as np

from mtfcdd.data.synthetic.drawing import blur, grid

CAMERAS = 5


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


def sample_cameras(rng, size, free_rotation, noise_frames):
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


def shadable(maps):
    slope_x = cv2.Sobel(maps.height, cv2.CV_32F, 1, 0) / 8
    slope_y = cv2.Sobel(maps.height, cv2.CV_32F, 0, 1) / 8
    inverse_length = 1 / np.sqrt(slope_x**2 + slope_y**2 + 1)
    normal = np.stack([-slope_x * inverse_length, -slope_y * inverse_length, inverse_length])
    raised = blur(maps.raised, 1.0) if maps.raised.any() else None
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


@functools.cache
def _vignette(size):
    x, y = grid(size)
    return 1 - 0.15 * (x**2 + y**2) / (size / 2) ** 2


def photograph(surface, camera, floor):
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
    shadow = blur(_translate(coverage, camera.floor_shift), 0.015 * size)
    x, y = grid(size)
    lighting = 1 + (camera.floor_gradient[0] * x + camera.floor_gradient[1] * y) / size
    image = floor * (lighting * (1 - camera.shadow_strength * shadow) * (1 - coverage))
    for channel, colour_plane in zip(image, object_colour):
        channel += colour_plane
    return image * camera.gain[:, None, None] * _vignette(size)


def develop(image, camera, noise_bank):
    """Adds the camera's sensor noise; 8-bit (S, S, 3) RGB."""
    size = image.shape[1]
    row, column = camera.noise_offset
    noise = noise_bank[camera.noise_frame, :, row : row + size, column : column + size]
    planes = np.clip((image + 0.008 * noise) * 255 + 0.5, 0, 255).astype(np.uint8)
    return cv2.merge(list(planes))
