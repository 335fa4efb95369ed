"""Rendering a sample: its five views and the exact masks of its defect.

One physical instance of an object is varied from its drawing, photographed
by every camera clean, then again with the defect: a mask marks exactly the
pixels the defect altered (same sensor noise, so the difference is the
defect alone), and every other pixel is copied from the clean view.
"""

import dataclasses
import zlib
from typing import Optional

import cv2
import numpy as np

from mtfcdd.data.synthetic.camera import develop, photograph, sample_cameras, shadable
from mtfcdd.data.synthetic.defects import DEFECTS, DefectContext
from mtfcdd.data.synthetic.drawing import noise, object_radius
from mtfcdd.data.synthetic.objects import SYNTHETIC_OBJECTS

# A defective sample shows its defect in at least this many views, so that
# the training splits can always be filled with the planned defective images.
MIN_DEFECTIVE_VIEWS = 2
# Difference in 8-bit levels above which a pixel counts as altered by a defect.
MASK_THRESHOLD = 8
# Smallest defect region worth a mask, as a fraction of the image area.
MIN_MASK_FRACTION = 0.0006


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


def _vary(maps, rng):
    """One physical instance of a product: its own tint, blotches, roughness."""
    size = maps.alpha.shape[0]
    varied = maps.copy()
    tint = rng.uniform(0.95, 1.05, 3) * rng.uniform(0.93, 1.07)
    blotches = 0.04 * noise(rng, size, 6) + 0.02 * noise(rng, size, 48)
    varied.albedo = np.clip(
        maps.albedo * tint.astype(np.float32)[:, None, None] * (1 + blotches), 0, 1
    )
    varied.height = maps.height + 0.0002 * size * noise(rng, size, 48)
    varied.gloss = maps.gloss * np.float32(rng.uniform(0.85, 1.15))
    return varied


def object_key(object_name):
    """A stable integer for seeding (``hash`` changes between processes)."""
    return zlib.crc32(object_name.encode("utf-8"))


def check_image_size(image_size):
    """Raises ``ValueError`` for an image side too small to render on."""
    # Below 64 px the thinnest defects (scratches, fibres) vanish.
    if image_size < 64:
        raise ValueError(f"image_size must be at least 64 pixels, got {image_size}")


class ObjectRenderer:
    """Renders the samples of one object; caches its drawn layout."""

    def __init__(self, object_name, image_size, seed):
        check_image_size(image_size)
        if object_name not in SYNTHETIC_OBJECTS:
            raise ValueError(
                f"unknown synthetic object {object_name!r}; "
                f"expected one of {sorted(SYNTHETIC_OBJECTS)}"
            )
        self.kind = SYNTHETIC_OBJECTS[object_name]
        self.image_size = image_size
        self.seed = (seed, object_key(object_name))
        self._drawings = {}
        floor_rng = np.random.default_rng([*self.seed, 1])
        floor_texture = (
            1 + 0.03 * noise(floor_rng, image_size, 5) + 0.015 * noise(floor_rng, image_size, 80)
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
        cameras = sample_cameras(
            rng, self.image_size, self.kind.free_rotation, len(self.noise_bank)
        )
        surface = shadable(clean)
        clean_images = [
            develop(photograph(surface, camera, self.floor), camera, self.noise_bank)
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
        context = DefectContext(
            rng,
            clean,
            parts,
            lambda part: _vary(self.drawing(part)[0], np.random.default_rng(instance_seed)),
        )
        # A defect drawn too small to see from two cameras is drawn again.
        for _ in range(20):
            maps, centre = DEFECTS[defect_code](context)
            views = self._defective_views(shadable(maps), centre, cameras, clean_images)
            if sum(view.mask is not None for view in views) >= MIN_DEFECTIVE_VIEWS:
                return views
        raise RuntimeError(
            f"could not render a visible {defect_code} defect for sample {sample_number}"
        )

    def _defective_views(self, surface, centre, cameras, clean_images):
        radius = object_radius(self.image_size)
        minimum_pixels = MIN_MASK_FRACTION * self.image_size**2
        views = []
        for index, (camera, clean) in enumerate(zip(cameras, clean_images)):
            # An oblique camera does not see a defect on the far side.
            if camera.facing is not None and float(centre @ camera.facing) < -0.1 * radius:
                views.append(SyntheticView(index + 1, clean, clean, None))
                continue
            image = develop(photograph(surface, camera, self.floor), camera, self.noise_bank)
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
    return ObjectRenderer(object_name, image_size, seed).render(sample_number, defect_code)
