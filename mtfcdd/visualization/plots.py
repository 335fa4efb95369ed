"""Plots with axes and legends: the curves under the metrics, training curves.

Matplotlib draws them. It comes with the ``plots`` extra (``pip install
"mtfcdd[plots]"``), not with the base install, so that a board stays lean:
it is imported inside the functions here and nowhere else. Figures are
drawn on Matplotlib's non-interactive Agg canvas, without ``pyplot``: no
window opens and the caller's backend (a notebook's, say) is left alone.
Every function returns the PNG's bytes; the callers write them atomically.

Without Matplotlib the callers still write the data (CSV); ``available()``
then says once, on stderr, how to get the pictures.
"""

import functools
import io
import sys

PLOTS_HINT = (
    "Matplotlib is not installed: the data is written as CSV, without the PNG plots; "
    'pip install "mtfcdd[plots]" draws them.'
)
FIGURE_SIZE = (6.4, 4.8)
# Wider: the legend stands beside the curves.
CURVES_FIGURE_SIZE = (9.0, 4.8)
TRAINING_FIGURE_SIZE = (11.0, 4.4)
DOTS_PER_INCH = 120


def available():
    """True when Matplotlib can be imported; else says once how to get it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        _say_once(PLOTS_HINT)
        return False
    return True


@functools.lru_cache(maxsize=None)
def _say_once(message):
    print(message, file=sys.stderr, flush=True)


def curves_plot(lines, title, x_label, y_label, legend_title, x_limit=1.0, chance_line=False, steps=False,
                baselines=None):
    """One plot of several curves, e.g. one per defect type.

    Args:
        lines: ``(label, x, y)`` per curve; the label names the type and
            the area under its curve.
        title, x_label, y_label, legend_title: the plot's texts.
        x_limit: the x axis ends here (0.3 for the PRO curve, whose area
            is taken up to that false positive rate).
        chance_line: draw the diagonal of a random ranking (ROC curves).
        steps: draw the curves as steps, ``y[i]`` on ``(x[i-1], x[i]]``,
            as the precision-recall curve's area (AP) counts them.
        baselines: None, or per curve the y of a random ranking (a
            precision-recall curve's prevalence), drawn dashed in the
            curve's colour.

    Returns:
        The PNG, as bytes.
    """
    figure, (axes,) = _figure(CURVES_FIGURE_SIZE)
    if chance_line:
        axes.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1, label="chance")
    colours = [
        axes.plot(x, y, label=label, linewidth=1.4, drawstyle="steps-pre" if steps else "default")[0].get_color()
        for label, x, y in lines
    ]
    for index, (baseline, colour) in enumerate(zip(baselines or (), colours)):
        axes.axhline(baseline, color=colour, linestyle="--", linewidth=0.8, alpha=0.7,
                     label="random ranking (prevalence)" if index == 0 else None)
    axes.set(title=title, xlabel=x_label, ylabel=y_label, xlim=(0, x_limit), ylim=(0, 1.01))
    axes.grid(alpha=0.3)
    # Beside the plot, not over the curves (eight types fill any corner).
    axes.legend(title=legend_title, fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return _png(figure)


def training_plot(epochs, losses, held_out=None):
    """The loss per epoch and, when given, the held-out I-AUROC per type.

    Args:
        epochs: the epoch numbers (from 1).
        losses: the training loss of each epoch (paper Eq. 3).
        held_out: ``{label: I-AUROC per epoch}`` on the images held out
            from training, or None; a NaN marks an epoch without a value.

    Returns:
        The PNG, as bytes.
    """
    columns = 2 if held_out else 1
    figure, axes = _figure(TRAINING_FIGURE_SIZE if held_out else FIGURE_SIZE, columns)
    axes[0].plot(epochs, losses, marker="o", linewidth=1.4, color="black")
    axes[0].set(title="Training loss (Eq. 3)", xlabel="epoch", ylabel="loss")
    if held_out:
        for label, values in held_out.items():
            axes[1].plot(epochs, values, marker=".", linewidth=1.2, label=label)
        axes[1].set(title="I-AUROC on the held-out images", xlabel="epoch", ylabel="I-AUROC", ylim=(0, 1.01))
        axes[1].legend(fontsize="small", loc="lower right")
    for each in axes:
        each.grid(alpha=0.3)
        # Half an epoch of margin: a one-epoch run's axis would otherwise
        # span 0.95 to 1.05, with no whole number left to tick.
        each.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        each.xaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


def _figure(size, columns=1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=DOTS_PER_INCH, layout="tight")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(1, columns, squeeze=False)[0]


def _png(figure):
    from matplotlib.text import Text

    from mtfcdd.visualization.text import font_families

    # Type names in any script: each text falls back to an installed font
    # that has the letters DejaVu Sans lacks.
    texts = figure.findobj(Text)
    families = font_families("".join(text.get_text() for text in texts))
    if len(families) > 1:
        for text in texts:
            text.set_fontfamily(families)
    buffer = io.BytesIO()
    # No creation time or version in the file: the same plot gives the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
