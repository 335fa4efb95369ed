"""The synthetic data set's electronic components: a circuit board, a
switch, a terminal block and an audio jack.

Each ``draw_<kind>(size, layout, missing_part)`` follows the contract of
:mod:`mtfcdd.data.synthetic.objects`, which registers them beside the
other kinds: it draws the same random numbers whatever ``missing_part`` is,
and returns the maps and the centres of its removable parts (QS).
"""

import math

import numpy as np

from mtfcdd.data.synthetic.drawing import (
    bevel,
    box_sdf,
    circle_sdf,
    coverage,
    empty_maps,
    grid,
    lay,
    noise,
    object_radius,
    stroke,
)


def draw_pcb(size, layout, missing_part):
    """A small circuit board; its components (IC, capacitor, chips) are parts."""
    radius = object_radius(size)
    maps = empty_maps(size, shininess=24.0)
    board = box_sdf(size, (0, 0), 0.98 * radius, 0.66 * radius, corner=0.05 * radius)
    solder_mask = np.array([0.1, 0.36, 0.17], np.float32)
    texture = 1 + 0.05 * noise(layout, size, 24)
    lay(
        maps,
        coverage(board),
        solder_mask[:, None, None] * texture,
        gloss=0.45,
        height=0.025 * radius * bevel(board, 0.03 * radius),
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
        trace = stroke(size, points, 0.025 * radius) * coverage(board + 0.04 * radius)
        lay(maps, trace, trace_colour, gloss=0.55, height=maps.height + 0.006 * radius)
    gold = np.array([0.8, 0.64, 0.3], np.float32)
    for corner_x in (-0.85, 0.85):
        for corner_y in (-0.53, 0.53):
            centre = (corner_x * radius, corner_y * radius)
            lay(maps, coverage(circle_sdf(size, centre, 0.075 * radius)), gold, gloss=0.8)
            hole = coverage(circle_sdf(size, centre, 0.04 * radius))
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
                pad = box_sdf(size, leg_centre, 0.028 * radius, 0.07 * radius)
                lay(
                    maps,
                    coverage(pad),
                    tin,
                    gloss=0.9,
                    height=maps.height + 0.01 * radius,
                    raised=present,
                )
        if present:
            body = box_sdf(size, centre, 0.32 * radius, 0.19 * radius, corner=0.02 * radius)
            lay(
                maps,
                coverage(body),
                [0.07, 0.07, 0.08],
                gloss=0.2,
                height=0.06 * radius * bevel(body, 0.03 * radius),
                raised=True,
            )
            dot = coverage(
                circle_sdf(
                    size, (centre[0] - 0.24 * radius, centre[1] + 0.1 * radius), 0.03 * radius
                )
            )
            maps.height -= 0.01 * radius * dot
    elif part == "capacitor":
        pad = box_sdf(size, centre, 0.2 * radius, 0.2 * radius, corner=0.03 * radius)
        lay(maps, coverage(pad), tin, gloss=0.9, height=maps.height + 0.01 * radius)
        if present:
            can = circle_sdf(size, centre, 0.18 * radius)
            lay(
                maps,
                coverage(can),
                [0.72, 0.73, 0.76],
                gloss=0.7,
                height=0.09 * radius * bevel(can, 0.05 * radius),
                raised=True,
            )
            stripe = coverage(
                box_sdf(size, (centre[0] - 0.12 * radius, centre[1]), 0.04 * radius, 0.14 * radius)
            ) * coverage(can)
            lay(maps, stripe, [0.1, 0.12, 0.35], gloss=0.5)
            for vent_angle in (0.0, math.pi / 2):
                vent = coverage(
                    box_sdf(size, centre, 0.1 * radius, 0.008 * radius, angle=vent_angle)
                )
                maps.height -= 0.02 * radius * vent
    else:
        for end in (-1, 1):
            offset = (end * 0.07 * radius * math.cos(angle), end * 0.07 * radius * math.sin(angle))
            pad = box_sdf(
                size,
                (centre[0] + offset[0], centre[1] + offset[1]),
                0.045 * radius,
                0.05 * radius,
                angle=angle,
            )
            lay(maps, coverage(pad), tin, gloss=0.9, height=maps.height + 0.008 * radius)
        if present:
            body = box_sdf(
                size, centre, 0.1 * radius, 0.045 * radius, angle=angle, corner=0.01 * radius
            )
            lay(
                maps,
                coverage(body),
                [0.1, 0.09, 0.08],
                gloss=0.3,
                height=0.04 * radius * bevel(body, 0.015 * radius),
                raised=True,
            )
            for end in (-1, 1):
                cap_centre = (
                    centre[0] + end * 0.08 * radius * math.cos(angle),
                    centre[1] + end * 0.08 * radius * math.sin(angle),
                )
                end_cap = box_sdf(size, cap_centre, 0.025 * radius, 0.047 * radius, angle=angle)
                lay(maps, coverage(end_cap), tin, gloss=0.9)


def draw_switch(size, layout, missing_part):
    """A rocker switch: housing, coloured rocker and four brass tabs (parts)."""
    radius = object_radius(size)
    maps = empty_maps(size, shininess=22.0)
    terminal_colour = np.array([0.78, 0.62, 0.3], np.float32)
    centres = [(0.0, 0.0)]
    for side_x in (-1, 1):
        for side_y in (-1, 1):
            centre = (side_x * 0.98 * radius, side_y * 0.26 * radius)
            centres.append(centre)
    for index, centre in enumerate(centres[1:], start=1):
        if index != missing_part:
            tab = box_sdf(size, centre, 0.14 * radius, 0.09 * radius, corner=0.02 * radius)
            lay(
                maps,
                coverage(tab),
                terminal_colour,
                gloss=0.85,
                height=0.02 * radius * bevel(tab, 0.02 * radius),
            )
    housing = box_sdf(size, (0, 0), 0.88 * radius, 0.6 * radius, corner=0.06 * radius)
    lay(
        maps,
        coverage(housing),
        [0.14, 0.14, 0.15],
        gloss=0.35,
        height=0.07 * radius * bevel(housing, 0.06 * radius),
        raised=True,
    )
    cavity = box_sdf(size, (0, 0), 0.66 * radius, 0.4 * radius, corner=0.03 * radius)
    lay(maps, coverage(cavity), [0.04, 0.04, 0.045], gloss=0.1, height=0.03 * radius)
    colours = ([0.78, 0.1, 0.08], [0.9, 0.9, 0.86], [0.12, 0.55, 0.2])
    colour = np.array(colours[layout.integers(len(colours))], np.float32)
    if missing_part != 0:
        x, _ = grid(size)
        rocker = box_sdf(size, (0, 0), 0.6 * radius, 0.34 * radius, corner=0.04 * radius)
        # The rocker is tilted: one half slopes up, which the light shows.
        tilt = 0.07 * radius * (0.5 + 0.5 * np.clip(x / (0.6 * radius), -1, 1))
        lay(
            maps,
            coverage(rocker),
            colour,
            gloss=0.45,
            height=0.05 * radius + tilt * bevel(rocker, 0.04 * radius),
            raised=True,
        )
        marks = coverage(
            box_sdf(size, (-0.3 * radius, 0), 0.015 * radius, 0.13 * radius)
        ) + coverage(np.abs(circle_sdf(size, (0.3 * radius, 0), 0.1 * radius)) - 0.015 * radius)
        mark_colour = [0.95, 0.95, 0.92] if colour.mean() < 0.6 else [0.1, 0.1, 0.1]
        lay(maps, np.clip(marks, 0, 1), mark_colour, gloss=0.45)
    return maps, centres


def draw_terminalblock(size, layout, missing_part):
    """A three-way terminal block; its three screws are parts."""
    radius = object_radius(size)
    colours = ([0.1, 0.45, 0.22], [0.12, 0.3, 0.65], [0.55, 0.56, 0.58])
    colour = np.array(colours[layout.integers(len(colours))], np.float32)
    maps = empty_maps(size, shininess=20.0)
    body = box_sdf(size, (0, 0), 0.96 * radius, 0.62 * radius, corner=0.04 * radius)
    lay(
        maps, coverage(body), colour, gloss=0.3, height=0.06 * radius * bevel(body, 0.05 * radius)
    )
    cell = 0.64 * radius
    centres = []
    slot_angles = layout.uniform(0, math.pi, 3)
    for index in range(3):
        cell_x = (index - 1) * cell
        if index:
            groove = coverage(box_sdf(size, (cell_x - cell / 2, 0), 0.012 * radius, 0.6 * radius))
            maps.height -= 0.03 * radius * groove
            maps.albedo *= 1 - 0.5 * groove
        opening = box_sdf(
            size, (cell_x, 0.33 * radius), 0.17 * radius, 0.14 * radius, corner=0.02 * radius
        )
        lay(maps, coverage(opening), [0.05, 0.05, 0.05], gloss=0.05, height=0.0)
        centre = (cell_x, -0.2 * radius)
        centres.append(centre)
        well = circle_sdf(size, centre, 0.2 * radius)
        lay(maps, coverage(well), colour * 0.45, gloss=0.2, height=0.02 * radius)
        screw = circle_sdf(size, centre, 0.17 * radius)
        if index == missing_part:
            thread = np.abs(np.sin(circle_sdf(size, centre, 0) * (12 / radius)))
            hole = coverage(circle_sdf(size, centre, 0.11 * radius))
            lay(maps, hole, np.stack([0.06 + 0.08 * thread] * 3), gloss=0.3, height=-0.02 * radius)
            continue
        lay(
            maps,
            coverage(screw),
            [0.72, 0.72, 0.7],
            gloss=0.8,
            height=0.02 * radius + 0.05 * radius * bevel(screw, 0.08 * radius),
            raised=True,
        )
        slot = coverage(
            box_sdf(size, centre, 0.15 * radius, 0.025 * radius, angle=slot_angles[index])
        )
        maps.height -= 0.05 * radius * slot
        maps.albedo *= 1 - 0.6 * slot
    return maps, centres


def draw_audiojack(size, layout, missing_part):
    """A PCB audio jack: body, round barrel and five pins (parts)."""
    radius = object_radius(size)
    maps = empty_maps(size, shininess=20.0)
    pin_colour = np.array([0.8, 0.8, 0.78], np.float32)
    centres = [
        (pin_x * radius, side * 0.66 * radius) for pin_x in (0.0, 0.5) for side in (-1, 1)
    ] + [(1.0 * radius, 0.0)]
    for index, centre in enumerate(centres):
        if index == missing_part:
            continue
        horizontal = centre[1] == 0
        pin = box_sdf(
            size,
            centre,
            (0.14 if horizontal else 0.04) * radius,
            (0.04 if horizontal else 0.14) * radius,
            corner=0.015 * radius,
        )
        lay(
            maps,
            coverage(pin),
            pin_colour,
            gloss=0.9,
            height=0.015 * radius * bevel(pin, 0.03 * radius),
        )
    body = box_sdf(size, (0.22 * radius, 0), 0.68 * radius, 0.55 * radius, corner=0.05 * radius)
    grey = np.float32(layout.uniform(0.18, 0.26))
    texture = 1 + 0.04 * noise(layout, size, 40)
    lay(
        maps,
        coverage(body),
        np.stack([grey * texture] * 3),
        gloss=0.3,
        height=0.08 * radius * bevel(body, 0.06 * radius),
        raised=True,
    )
    _, y = grid(size)
    barrel = box_sdf(size, (-0.72 * radius, 0), 0.26 * radius, 0.34 * radius, corner=0.02 * radius)
    roundness = np.sqrt(np.clip(1 - (y / (0.34 * radius)) ** 2, 0, 1))
    lay(
        maps,
        coverage(barrel),
        grey * 1.15 * np.ones(3, np.float32),
        gloss=0.45,
        height=0.08 * radius * roundness,
        raised=True,
    )
    for ring_x in (-0.62, -0.8):
        ring = coverage(box_sdf(size, (ring_x * radius, 0), 0.012 * radius, 0.33 * radius))
        maps.height -= 0.02 * radius * ring
    for mark_x, mark_y in ((0.55, -0.3), (0.55, 0.3)):
        ejector = coverage(
            np.abs(circle_sdf(size, (mark_x * radius, mark_y * radius), 0.07 * radius))
            - 0.01 * radius
        )
        maps.height -= 0.012 * radius * ejector
    return maps, centres
