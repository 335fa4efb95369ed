"""Result tables laid out like the paper's Tables 3, 4 and 5.

One evaluation result (``mtfcdd.evaluation.model_evaluation.evaluate``) per setting
goes in (per noise ratio alpha on Real-IAD; a custom data set's layout and any
emulated noise otherwise, ``mtfcdd.data.dataset.DataSet.setting``); Markdown,
CSV and JSON come out. Values are percentages with one decimal, as in the
paper, and every table states the preset, backbone weights, input size, score
reduction, pixel protocol, AUPRO integration and decision thresholds that
produced it.
"""

import csv
import io
import os

from mtfcdd.constants import TYPE_NAMES, UNKNOWN_ROW
from mtfcdd.utils.atomic_files import make_output_folder, write_json, write_text

IMAGE_TABLE = ("Table 3: image level", ("I-AUROC", "AP", "F1-max"))
PIXEL_TABLE = ("Table 4: pixel level", ("P-AUROC", "AUPRO"))
MULTI_CLASS_TABLE = ("Table 5: multi-class (any defect)", ("I-AUROC", "AUPRO"))


def record_data_settings(result, data):
    """Record in ``result["settings"]`` what was evaluated: Real-IAD's alpha
    (as ever), or a custom data set's layout, types and noise (no alpha)."""
    if data.layout == "realiad":
        result["settings"]["alpha"] = data.alpha
    else:
        result["settings"]["data"] = data.settings()


def results_key(settings):
    """The key of one result in a results file: ``DataSet.setting``."""
    if "alpha" in settings:
        return settings["alpha"]
    data = settings["data"]
    label_noise = data.get("label_noise")
    return data["layout"] + ("" if label_noise is None else f", noise {label_noise:g}")


def setting_label(key):
    """``"alpha=0.1"`` for a Real-IAD result's key, the key itself otherwise."""
    return key if isinstance(key, str) and not _is_number(key) else f"alpha={key}"


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def tables_for(results):
    """The tables that describe ``results``: Tables 3 and 4, or Table 5."""
    first = next(iter(results.values()))
    return (MULTI_CLASS_TABLE,) if len(first["type_codes"]) == 1 else (IMAGE_TABLE, PIXEL_TABLE)


def table(results, metric_names):
    """Header and rows of one table.

    Args:
        results: dict from setting (alpha on Real-IAD) to an evaluation result.
        metric_names: the metric columns, repeated for every setting.

    Returns:
        (header, rows), lists of strings; a row per type plus the Mean row
        (only with several types); a metric that is undefined is "-".
    """
    header = ["Anomaly Type"] + [
        f"{name} ({setting_label(key)})" for key in results for name in metric_names
    ]
    first = next(iter(results.values()))
    row_codes = list(first["type_codes"]) + (["Mean"] if len(first["type_codes"]) > 1 else [])
    rows = []
    for code in row_codes:
        cells = [TYPE_NAMES.get(code, code)]
        for result in results.values():
            for name in metric_names:
                value = result["metrics"][code][name]
                cells.append("-" if value is None else f"{100 * value:.1f}")
        rows.append(cells)
    return header, rows


def settings_line(results):
    """What produced the results, in one line.

    The training run is named when the result records it (the experiment
    scripts do), and so are the model file and its runtime. Results written
    before the pixel protocol and the thresholds' source were recorded used
    the per-type protocol; their thresholds' source is "not recorded"; mtfcdd
    0.1 named the input size ``input_size``. Results written before presets
    and the AUPRO integration were recorded used the paper's (``preset_of``).
    """
    parts = []
    for key, result in results.items():
        settings = result["settings"]
        training = settings.get("training")
        trained = "" if training is None else (
            f"trained {training['epochs']} epochs x {training['steps_per_epoch']} steps of "
            f"{training['batch_size']} on {training['training_images']} images, "
        )
        parts.append(
            f"{setting_label(key)}: preset {preset_of(result)}, {_data_description(settings)}{_model_description(settings)}{trained}backbone weights {settings['backbone_weights']}, input "
            f"{'x'.join(map(str, settings.get('image_size', settings.get('input_size'))))}, score reduction "
            f"{settings['score_reduction']}, pixel metrics at "
            f"{'x'.join(map(str, settings['pixel_size']))} ({settings.get('pixel_protocol', 'per-type')} "
            f"protocol, {settings.get('aupro', 'exact')} AUPRO), {settings['test_images']} test images, decision thresholds: "
            f"{settings.get('decision_thresholds', 'not recorded')}"
        )
    return "; ".join(parts)


def _data_description(settings):
    """"folder-layout data set /data/parts (types crack, dent), " or "" (Real-IAD)."""
    data = settings.get("data")
    if data is None:
        return ""
    return f"{data['layout']}-layout data set {data['root']} (types {', '.join(data['defect_types'])}), "


def preset_of(result):
    """The preset an evaluation result was produced with: the evaluation's,
    plus the training's when it differs (``"authors, trained paper"``);
    ``"paper"`` for results written before presets were recorded."""
    settings = result["settings"]
    evaluation = settings.get("preset", "paper")
    training = settings.get("training", {}).get("preset", evaluation)
    return evaluation if training == evaluation else f"{evaluation}, trained {training}"


def _model_description(settings):
    """"model_int8.tflite on LiteRT (int8), ", "Keras model, " or "" (not recorded)."""
    if "runtime" not in settings:
        return ""
    quantization = f" ({settings['quantization']})" if settings.get("quantization") else ""
    if not settings.get("model_file"):
        return f"{settings['runtime']} model{quantization}, "
    return f"{os.path.basename(settings['model_file'])} on {settings['runtime']}{quantization}, "


def markdown(results):
    """All tables of ``results`` as one Markdown document."""
    sections = [f"Settings: {settings_line(results)}."]
    for title, metric_names in tables_for(results):
        header, rows = table(results, metric_names)
        lines = [f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
        lines += [f"| {' | '.join(row)} |" for row in rows]
        sections.append(f"### {title} (%)\n\n" + "\n".join(lines))
    for key, result in results.items():
        if "type_classification" in result:
            sections.append(_type_classification_markdown(key, result))
        if "decisions" in result and UNKNOWN_ROW in result["decisions"]["rows"]:
            sections.append(_decisions_markdown(key, result["decisions"]))
    return "\n\n".join(sections) + "\n"


def write_reports(results, output_dir, stem="results"):
    """Writes ``<stem>.json``, ``<stem>.md`` and one CSV per table.

    Returns:
        The list of paths written.
    """
    make_output_folder(output_dir)
    paths = [os.path.join(output_dir, f"{stem}.json"), os.path.join(output_dir, f"{stem}.md")]
    write_json(paths[0], {str(key): result for key, result in results.items()})
    write_text(paths[1], markdown(results))
    for title, metric_names in tables_for(results):
        header, rows = table(results, metric_names)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([header] + rows)
        table_name = title.split(":")[0].lower().replace(" ", "")
        paths.append(os.path.join(output_dir, f"{stem}_{table_name}.csv"))
        write_text(paths[-1], buffer.getvalue())
    return paths


def _type_classification_markdown(key, result):
    codes = result["type_codes"]
    classification = result["type_classification"]
    lines = [
        f"### Type classification of the defective test images ({setting_label(key)})",
        "",
        f"Predicted type = arg-max of the type scores; macro-F1 "
        f"{100 * classification['macro_f1']:.1f} %. Rows: true type, columns: predicted.",
        "",
        "| true \\ predicted | " + " | ".join(codes) + " |",
        "|" + "---|" * (len(codes) + 1),
    ]
    for code, counts in zip(codes, classification["confusion_matrix"]):
        lines.append(f"| {code} | " + " | ".join(str(count) for count in counts) + " |")
    return "\n".join(lines)


def _decisions_markdown(key, decisions):
    """The decisions' matrix, shown where test images of types absent from training were decided."""
    rule = decisions["open_set"]
    lines = [
        f"### Decisions at the thresholds, types absent from training as unknown ({setting_label(key)})",
        "",
        "Rows: true type of the defective test images (unknown: the types the model was trained "
        "without); columns: the decision. Open-set rule: "
        + ("off" if rule is None else f"{rule['method']} at {rule['threshold']:.4g}") + ".",
        "",
        "| true \\ decided | " + " | ".join(decisions["columns"]) + " |",
        "|" + "---|" * (len(decisions["columns"]) + 1),
    ]
    for name, counts in zip(decisions["rows"], decisions["matrix"]):
        lines.append(f"| {name} | " + " | ".join(str(count) for count in counts) + " |")
    return "\n".join(lines)
