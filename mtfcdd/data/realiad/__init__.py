"""Real-IAD (paper 4.1): reading its splits, checking a download.

- ``reader``: ``load_realiad``, the JSON splits -> ``Sample``s, the first
  problem raised with the file and entry at fault.
- ``verify``: ``verify_dataset``, every split, image and mask checked, every
  problem listed (``mtfcdd data verify``).
"""
