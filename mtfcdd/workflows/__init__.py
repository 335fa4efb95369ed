"""Whole jobs built from the stages: data -> training -> evaluation -> figures.

- ``experiment``: one experiment of the paper (train, evaluate, report).
- ``demo``: the main job on a generated data set, offline too.
"""
