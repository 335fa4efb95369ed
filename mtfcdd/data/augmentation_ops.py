"""Training-time data augmentation in TensorFlow (paper 4.3.2).

``augment`` applies the ranges of an ``AugmentationConfig``
(``mtfcdd.data.augmentation``) to one image inside the tf.data pipeline. As
torchvision does, brightness and contrast are applied in a random order,
each clipped to 0..255, and contrast blends with the mean of the image's
grey version (ITU-R 601 weights) unless the config says per channel.

Every random number of an image is a stateless function of the seed and the
image's position in the training stream, so the augmented stream is the same
on every run and after resuming.
"""

import math

import tensorflow as tf

# Folded into the seed to keep augmentation's random numbers apart from the
# sampler's (mtfcdd.data.balanced_sampler uses keys 1 and 2).
_AUGMENTATION_STREAM = 3
# ITU-R 601-2 luma, the grey conversion of PIL and torchvision.
_GREY_WEIGHTS = (0.299, 0.587, 0.114)


def augment(image, position, seed, config):
    """Augment one training image, or leave it unchanged, at random.

    Args:
        image: (H, W, 3) float32 image, values in 0..255.
        position: int64 scalar, the image's draw number in the training stream.
        seed: integer seed of the training run.
        config: an ``AugmentationConfig``.

    Returns:
        The (H, W, 3) float32 image, values in 0..255; exactly ``image`` for
        the images not chosen.
    """
    image_seed = tf.random.experimental.stateless_fold_in(
        tf.constant([seed, _AUGMENTATION_STREAM], tf.int64), position
    )
    # One uniform number in [0, 1) per random decision of this image.
    chosen, *uniforms = tf.unstack(tf.random.stateless_uniform([8], image_seed))
    return tf.cond(
        chosen < config.fraction,
        lambda: _transform(image, config, *uniforms),
        lambda: image,
    )


def rotate_and_translate(
    image, angle_degrees, shift_pixels, fill_mode="reflect", interpolation="bilinear"
):
    """Rotate ``image`` about its centre, then shift it.

    Args:
        image: (H, W, C) float32 image.
        angle_degrees: rotation angle; positive turns the content
            counter-clockwise as the image is displayed (y axis down).
        shift_pixels: (dx, dy): the content moves dx pixels right, dy down.
        fill_mode: one of ``FILL_MODES``.
        interpolation: one of ``INTERPOLATIONS``.

    Returns:
        The (H, W, C) float32 image.
    """
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    center_x = (tf.cast(width, tf.float32) - 1.0) / 2.0
    center_y = (tf.cast(height, tf.float32) - 1.0) / 2.0
    angle = tf.convert_to_tensor(angle_degrees, tf.float32) * (math.pi / 180.0)
    cosine, sine = tf.cos(angle), tf.sin(angle)
    shift_x, shift_y = tf.unstack(tf.convert_to_tensor(shift_pixels, tf.float32))
    # The projective transform maps each output pixel back to the input
    # pixel it samples: undo the shift, then rotate back about the centre.
    source_x = center_x + shift_x
    source_y = center_y + shift_y
    transform = tf.stack([
        cosine, -sine, center_x - cosine * source_x + sine * source_y,
        sine, cosine, center_y - sine * source_x - cosine * source_y,
        0.0, 0.0,
    ])
    transformed = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[tf.newaxis],
        transforms=transform[tf.newaxis],
        output_shape=tf.stack([height, width]),
        fill_value=0.0,
        interpolation=interpolation.upper(),
        fill_mode=fill_mode.upper(),
    )
    return transformed[0]


def _transform(image, config, angle, shift_x, shift_y, factor, delta, contrast, order):
    """Apply the random changes; the uniforms in [0, 1) pick the amounts."""
    height = tf.cast(tf.shape(image)[0], tf.float32)
    width = tf.cast(tf.shape(image)[1], tf.float32)
    image = rotate_and_translate(
        image,
        _symmetric(angle, config.max_rotation_degrees),
        tf.stack([
            _symmetric(shift_x, config.max_translation) * width,
            _symmetric(shift_y, config.max_translation) * height,
        ]),
        config.fill_mode,
        config.interpolation,
    )

    def brightness(image):
        changed = image * _between(factor, config.brightness_range)
        changed += _symmetric(delta, config.max_brightness_delta) * 255.0
        return tf.clip_by_value(changed, 0.0, 255.0)

    def contrast_change(image):
        if config.contrast_mean == "grey":
            mean = tf.reduce_mean(tf.tensordot(image, tf.constant(_GREY_WEIGHTS), axes=1))
        else:
            mean = tf.reduce_mean(image, axis=(0, 1))
        changed = mean + _between(contrast, config.contrast_range) * (image - mean)
        return tf.clip_by_value(changed, 0.0, 255.0)

    # torchvision's ColorJitter applies its changes in a random order.
    return tf.cond(
        order < 0.5,
        lambda: contrast_change(brightness(image)),
        lambda: brightness(contrast_change(image)),
    )


def _between(uniform, value_range):
    """Map a uniform number in [0, 1) into [lower, upper)."""
    lower, upper = value_range
    return lower + uniform * (upper - lower)


def _symmetric(uniform, limit):
    """Map a uniform number in [0, 1) to one in [-limit, limit)."""
    return (2.0 * uniform - 1.0) * limit
