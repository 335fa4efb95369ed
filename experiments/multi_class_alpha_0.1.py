"""Paper experiment: multi-class anomaly detection, noise ratio alpha = 0.1.

K = 1 heatmap, any defect (paper Table 5).

    python experiments/multi_class_alpha_0.1.py --data /path/to/Real-IAD --resolution realiad_512
    python experiments/multi_class_alpha_0.1.py --synthetic --image-size 128 --backbone-weights synthetic
"""

from mtfcdd.cli.experiment import experiment_main

if __name__ == "__main__":
    experiment_main(name="multi_class_alpha_0.1", alpha=0.1, multi_class=True)
