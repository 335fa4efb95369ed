"""Predicting on image files: scores, detected types, pictures.

- ``predict_images``: ``predict`` runs any heatmap model (Keras or LiteRT)
  over files, folders or patterns and writes panels and tables.
"""
