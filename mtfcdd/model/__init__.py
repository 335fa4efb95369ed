"""The network of MultiTypeFCDD and its equations (paper 3.1, 4.3.1).

Image -> heatmaps -> scores -> loss, one module per part:

- ``backbone``: the frozen InceptionResNetV2 cut after block35.
- ``network``: ``MultiTypeFCDD``, the Functional model: pre-processing,
  backbone, head, type projection, pseudo-Huber output.
- ``pseudo_huber``: the output layer, paper Eq. 1.
- ``anomaly_map``: image scores (Eq. 2) and full-resolution heatmaps.
- ``multi_type_loss``: the multi-type loss, Eq. 3.
- ``saving``: load a trained ``.keras`` file, save one atomically.
- ``batch_memory``: whether a training batch fits in memory, checked
  before TensorFlow runs it.

All of it uses ``keras.ops`` only and runs on any Keras backend. Importing
this package registers the serializable classes (model, layer, losses), so
that ``keras.saving.load_model`` reads mtfcdd's models and checkpoints.
"""

from mtfcdd.model import multi_type_loss, network  # noqa: F401
