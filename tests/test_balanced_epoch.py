"""Balanced epochs (paper 4.2, Eq. 4, 5, Table 2) against independent values."""

import functools
import json
import os
from fractions import Fraction

import numpy as np
import pytest

from mtfcdd.cli import main
from mtfcdd.constants import DEFECT_CODES
from mtfcdd.data.balanced_epoch import (
    balanced_epoch_summary,
    expected_draws,
    simulate_draws,
)

BATCH_SIZE = 32
TRAIN_IMAGES = 57840
# Paper Table 2: alpha -> (defective training images, balanced iterations).
PAPER_TABLE_2 = {0.1: (3774, 15206.14), 0.2: (7605, 14128.68), 0.4: (15313, 11960.70)}
PAPER_RATIOS = {0.1: 8.41, 0.2: 7.82, 0.4: 6.62}


def spread_evenly(normal, defective, types=len(DEFECT_CODES)):
    """Normal count, then ``defective`` split over ``types`` as evenly as possible."""
    share, remainder = divmod(defective, types)
    return (normal,) + tuple(share + (k < remainder) for k in range(types))


def markov_chain_expectation(quotas):
    """E[T] by first-step analysis over the (capped) per-class counts, exact."""
    classes = len(quotas)

    @functools.lru_cache(maxsize=None)
    def remaining(state):
        open_classes = [i for i in range(classes) if state[i] < quotas[i]]
        if not open_classes:
            return Fraction(0)
        # A draw of a class that met its quota leaves the state unchanged.
        onward = sum(
            remaining(state[:i] + (state[i] + 1,) + state[i + 1:]) for i in open_classes
        )
        return (1 + onward / classes) * Fraction(classes, len(open_classes))

    return remaining((0,) * classes)


def markov_chain_distribution(quotas, longest):
    """P(T = t) for t = 0..longest, by propagating the state distribution."""
    classes = len(quotas)
    states = {(0,) * classes: 1.0}
    probabilities = np.zeros(longest + 1)
    for step in range(1, longest + 1):
        following = {}
        for state, probability in states.items():
            for i in range(classes):
                successor = state[:i] + (min(state[i] + 1, quotas[i]),) + state[i + 1:]
                following[successor] = (
                    following.get(successor, 0.0) + probability / classes
                )
        done = tuple(quotas)
        probabilities[step] = following.pop(done, 0.0)
        states = following
    return probabilities


def brute_force_draws(quotas, trials, seed, longest=100):
    """T of simulated epochs, drawing one class at a time like the sampler."""
    generator = np.random.default_rng(seed)
    drawn = generator.integers(len(quotas), size=(trials, longest))
    running_counts = np.cumsum(
        drawn[:, :, None] == np.arange(len(quotas)), axis=1, dtype=np.int16
    )
    complete = np.all(running_counts >= np.asarray(quotas), axis=2)
    assert complete[:, -1].all(), "an epoch outlasted the simulated draws"
    return np.argmax(complete, axis=1) + 1


@pytest.mark.parametrize("classes", [1, 2, 3, 5, 9, 30])
def test_unit_quotas_give_the_coupon_collector_mean(classes):
    harmonic = sum(1.0 / k for k in range(1, classes + 1))
    result = expected_draws([1] * classes)
    assert result.expected_draws == pytest.approx(classes * harmonic, rel=1e-10)
    assert result.method == "exact"
    assert result.standard_error is None and result.trials is None


@pytest.mark.parametrize(
    "quotas", [(2, 3), (1, 4, 2), (4, 4), (3, 3, 3), (6, 1, 3, 2), (7,)]
)
def test_exact_value_matches_the_markov_chain(quotas):
    assert expected_draws(quotas).expected_draws == pytest.approx(
        float(markov_chain_expectation(quotas)), rel=1e-10
    )


@pytest.mark.parametrize("quotas", [(2, 3), (1, 4, 2)])
def test_exact_value_matches_a_brute_force_simulation(quotas):
    draws = brute_force_draws(quotas, trials=40000, seed=1)
    standard_error = draws.std(ddof=1) / np.sqrt(draws.size)
    exact = expected_draws(quotas).expected_draws
    assert abs(draws.mean() - exact) < 4 * standard_error


def test_simulated_epochs_follow_the_exact_distribution():
    quotas, longest = (2, 3), 40
    simulated = simulate_draws(quotas, trials=100000, seed=2)
    exact_cdf = np.cumsum(markov_chain_distribution(quotas, longest))
    simulated_cdf = np.array([(simulated <= t).mean() for t in range(longest + 1)])
    # Kolmogorov-Smirnov bound at the 0.1% level for 100,000 draws.
    assert np.max(np.abs(simulated_cdf - exact_cdf)) < 1.95 / np.sqrt(simulated.size)


@pytest.mark.parametrize(
    "quotas",
    [(2, 3), (1, 4, 2), (50, 3, 200, 200), (1000,) * 9, (54066, 53800, 472)],
)
def test_monte_carlo_agrees_with_the_exact_value(quotas):
    estimate = expected_draws(quotas, method="monte_carlo", trials=20000, seed=3)
    exact = expected_draws(quotas).expected_draws
    assert estimate.method == "monte_carlo" and estimate.trials == 20000
    assert abs(estimate.expected_draws - exact) < 4 * estimate.standard_error


def test_monte_carlo_is_reproducible_with_its_seed():
    first = expected_draws((5, 9), method="monte_carlo", trials=500, seed=7)
    again = expected_draws((5, 9), method="monte_carlo", trials=500, seed=7)
    other = expected_draws((5, 9), method="monte_carlo", trials=500, seed=8)
    assert first == again and first != other


@pytest.mark.parametrize("alpha", sorted(PAPER_TABLE_2))
def test_paper_table_2(alpha):
    defective, paper_iterations = PAPER_TABLE_2[alpha]
    summary = balanced_epoch_summary(
        spread_evenly(TRAIN_IMAGES - defective, defective), batch_size=BATCH_SIZE
    )
    assert summary.balanced_iterations == pytest.approx(paper_iterations, abs=0.2)
    assert summary.standard_iterations == 1807.5
    assert round(summary.standard_epochs_per_balanced_epoch, 2) == PAPER_RATIOS[alpha]
    assert summary.expected_draws == summary.balanced_iterations * BATCH_SIZE


def test_table_2_barely_depends_on_how_defects_spread_over_types():
    even = balanced_epoch_summary(spread_evenly(54066, 3774))
    skewed_counts = (54066, 1200, 900, 600, 500, 300, 150, 100, 24)
    assert sum(skewed_counts) == TRAIN_IMAGES
    skewed = balanced_epoch_summary(skewed_counts)
    assert skewed.balanced_iterations == pytest.approx(
        even.balanced_iterations, abs=0.01
    )


@pytest.mark.parametrize(
    "counts, message",
    [([], "at least one class"), ([3, 0], "counts\\[1\\]"), ([2.5], "counts\\[0\\]"),
     ([True], "counts\\[0\\]"), (None, "sequence"), ("ab", "counts\\[0\\]")],
)
def test_bad_counts_raise(counts, message):
    with pytest.raises(ValueError, match=message):
        expected_draws(counts)


def test_bad_options_raise():
    with pytest.raises(ValueError, match="method"):
        expected_draws([1, 2], method="integral")
    with pytest.raises(ValueError, match="trials"):
        expected_draws([1, 2], method="monte_carlo", trials=1)
    with pytest.raises(ValueError, match="batch_size"):
        balanced_epoch_summary([1, 2], batch_size=0)


def test_cli_json_output(capsys):
    counts = ",".join(str(count) for count in spread_evenly(54066, 3774))
    assert main(["balanced-epochs", "--counts", counts, "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["balanced_iterations"] == pytest.approx(15206.14, abs=0.2)
    assert output["expected_draws"] == pytest.approx(32 * output["balanced_iterations"])
    assert output["standard_iterations"] == 1807.5
    ratio = output["standard_epochs_per_balanced_epoch"]
    assert ratio == pytest.approx(8.41, abs=0.005)
    assert output["method"] == "exact" and output["standard_error"] is None


def test_cli_monte_carlo_table(capsys):
    arguments = ["balanced-epochs", "--counts", "1,1,1", "--batch-size", "2",
                 "--method", "monte_carlo", "--trials", "4000"]
    assert main(arguments) == 0
    rows = dict(
        line.split("  ", 1) for line in capsys.readouterr().out.strip().splitlines()
    )
    expected = float(rows["expected draws"].split("+-")[0])
    assert expected == pytest.approx(5.5, abs=0.15)
    assert rows["standard iterations"].strip() == "1.50"
    assert "4000 trials" in rows["expected draws"]


def test_cli_input_errors(capsys):
    for counts in ("5,0", "5,-1", "5,x"):
        with pytest.raises(SystemExit) as exit_info:
            main(["balanced-epochs", "--counts", counts])
        assert exit_info.value.code == 2
        assert f"argument --counts: expected comma-separated whole numbers >= 1, e.g. 54066,472,471; got '{counts}'" in capsys.readouterr().err


def test_cli_counts_the_training_split_of_a_data_set(tiny_dataset, capsys):
    # Count the classes straight from the split files, independently of the reader.
    tally = {}
    split_folder = os.path.join(tiny_dataset, "realiad_jsons", "realiad_jsons_fuiad_0.2")
    for name in os.listdir(split_folder):
        with open(os.path.join(split_folder, name)) as file:
            for entry in json.load(file)["train"]:
                tally[entry["anomaly_class"]] = tally.get(entry["anomaly_class"], 0) + 1
    expected = [tally["OK"]] + [tally[code] for code in DEFECT_CODES if code in tally]

    assert main(["balanced-epochs", "--data", tiny_dataset, "--alpha", "0.2", "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["counts"] == expected
    assert output["expected_draws"] == pytest.approx(expected_draws(expected).expected_draws)
