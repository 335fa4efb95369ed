"""Pictures of heatmaps, drawn with OpenCV.

- ``panels``: a heatmap over its image, mask contours, the per-image
  prediction panel, grids of examples.
"""
