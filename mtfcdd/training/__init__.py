"""Training MultiTypeFCDD (paper 4.3).

- ``config``: ``TrainingConfig``, every setting of a run, the paper's
  defaults.
- ``trainer``: ``train``: balanced epochs, checkpoints, resume, thresholds.
- ``training_curves``: held-out I-AUROC per epoch, ``training_curves.png``.
- ``precision``: mixed precision (bfloat16, float16 with loss scaling).
- ``distribution``: tf.distribute strategies, several GPUs or machines.
- ``run_folder``: a run's folder, what is in it and when it may be reused.
- ``progress_callback``: the progress bar of each epoch.
"""
