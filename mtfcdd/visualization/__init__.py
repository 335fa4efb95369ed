"""Pictures: heatmaps drawn with OpenCV, plots drawn with Matplotlib.

- ``panels``: a heatmap over its image, mask contours, the per-image
  prediction panel, grids of examples.
- ``figures``: the paper's Figure 2 (per-type grid) and one image's
  heatmaps from several models (Figure 3, float32 beside int8).
- ``text``: captions drawn on pictures, with an installed font's glyphs
  for letters outside ASCII.
- ``plots``: curves with axes and legends (ROC, precision-recall, PRO,
  training); Matplotlib, the optional ``plots`` extra.
"""
