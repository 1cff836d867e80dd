"""The judge measured on labelled answers: regression guards below the figures in docs/heuristics.md.

benchmarks/eval_heuristics.py prints the figures; these floors sit a little
below them, so a change that makes any component clearly worse fails here.
The held-out sets are only ever measured; the real answers are judged by
cross-validation grouped by the site they were published on.
"""

from pathlib import Path

import pytest

from starcoach.judge import fit as F
from starcoach.judge.emissions import load_weights
from starcoach.judge.evaluation import evaluate, load_labelled
from starcoach.model import COMPONENTS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
REAL = ROOT.parent / "shared" / "answers" / "real_dev.jsonl"


@pytest.fixture(scope="module")
def heldout():
    items = load_labelled(DATA / "answers_heldout.toml")
    assert len(items) >= 40
    return evaluate(items)


@pytest.fixture(scope="module")
def heldout_styles():
    items = load_labelled(DATA / "answers_heldout_styles.toml")
    assert len(items) >= 40
    return evaluate(items)


@pytest.fixture(scope="module")
def heldout_fresh():
    items = load_labelled(DATA / "answers_heldout_fresh.toml")
    assert len(items) >= 36 and sum(not i.on_topic for i in items) >= 10
    return evaluate(items)


@pytest.mark.parametrize("component", COMPONENTS)
def test_heldout_presence_f1(heldout, heldout_styles, heldout_fresh, component):
    assert heldout.presence[component].f1 >= 0.9, (component, heldout.presence[component])
    assert heldout_styles.presence[component].f1 >= 0.72, (component, heldout_styles.presence[component])
    assert heldout_fresh.presence[component].f1 >= 0.9, (component, heldout_fresh.presence[component])


def test_off_topic_and_values_named_on_the_fresh_held_out_set(heldout_fresh):
    # 0.80 and 0.92 measured when the set was written (docs/heuristics.md); floors a little below.
    assert heldout_fresh.checks["off topic"].f1 >= 0.7, heldout_fresh.checks["off topic"]
    assert heldout_fresh.values.f1 >= 0.85, heldout_fresh.values


def test_answer_level_checks(heldout):
    assert heldout.checks["verbatim repeat"].f1 >= 0.9
    assert heldout.checks["quantified result"].f1 >= 0.85
    assert heldout.checks["hypothetical"].f1 >= 0.75
    assert heldout.checks["we-only action"].f1 >= 0.75
    assert heldout.word_accuracy >= 0.8


@pytest.mark.skipif(not REAL.exists(), reason=f"no real answers at {REAL}")
def test_shipped_weights_are_a_fresh_fit_and_hold_on_real_answers_out_of_fold():
    """One fit for two checks: weights.json is exactly what scripts/fit_judge.py makes from the data
    (the settings it was fitted with), and the out-of-fold predictions that calibrate it (each
    answer judged by weights fitted without its web site, or without itself) hold on the real answers."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("fit_judge", ROOT / "scripts" / "fit_judge.py")
    fj = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fj)
    path = ROOT / "src/starcoach/judge/weights.json"
    data, pool, preds = fj.build_with_predictions(json.loads(path.read_text())["fitted_with"])
    assert fj.render(data) == path.read_text(encoding="utf-8"), "weights.json differs from a fresh fit"
    real = [(ex, pr) for ex, pr in zip(pool, preds) if "." in ex.source]
    assert len(real) == 40
    f1 = F.presence_f1([ex for ex, _ in real], [pr for _, pr in real])
    floors = {"situation": 0.95, "task": 0.75, "action": 0.95, "result": 0.85, "link_back": 0.95}
    for c, floor in floors.items():
        assert f1[c][2] >= floor, (c, f1[c])
    # Only 4 of the 40 open with a play-back, too few for an F1 floor; what a candidate must not get
    # is a play-back credited that is not there (real answers rarely have one).
    false_repeats = sum(1 for ex, pr in real if "repeat" in pr.labels and "repeat" not in ex.present)
    assert false_repeats <= 2, false_repeats


def test_the_grid_keeps_the_earlier_point_when_a_later_one_ties_it_to_three_decimals(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("fit_judge", ROOT / "scripts" / "fit_judge.py")
    fj = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fj)
    grid = [dict(l2=1.0), dict(l2=2.0), dict(l2=4.0)]
    monkeypatch.setattr(fj, "GRID", grid)
    monkeypatch.setattr(fj.F, "fit_args", lambda args: {"l2": args["l2"]})
    monkeypatch.setattr(fj.F, "cross_validate", lambda pool, test, k, l2: l2)

    def scores(means):
        monkeypatch.setattr(fj, "_mean_f1", lambda exs, l2: means[l2])
        return fj.choose(["own"], ["real"])["l2"]

    assert scores({1.0: 0.9571, 2.0: 0.9574, 4.0: 0.9500}) == 1.0  # a tie to three decimals
    assert scores({1.0: 0.9571, 2.0: 0.9590, 4.0: 0.9500}) == 2.0  # a clear win
    assert scores({1.0: 0.9500, 2.0: 0.9571, 4.0: 0.9580}) == 2.0


def test_weights_load_and_name_their_training_sets():
    w = load_weights()
    assert "answers_dev" in w.trained_on and not any("heldout" in t for t in w.trained_on)
    assert set(w.calibration) == set(COMPONENTS)


def test_labels_are_well_formed():
    for path in sorted(DATA.glob("answers_*.toml")):
        items = load_labelled(path)
        assert len({i.id for i in items}) == len(items), path.name
        for i in items:
            assert i.segments and i.question, (path.name, i.id)


def test_a_feature_that_is_evidence_against_yes_is_never_weighed_towards_it():
    # "x" goes with "yes" in these few rows; listed as evidence against, it is left out and the rest refitted.
    rows = [({"x": 1.0, "y": 1.0}, True), ({"x": 1.0}, True), ({"y": 1.0}, False), ({}, False), ({"x": 1.0}, False)]
    assert F.fit_binary(rows)["coef"].get("x", 0.0) > 0
    m = F.fit_binary(rows, against=("x",))
    assert "x" not in m["coef"] and set(m) == {"bias", "threshold", "coef"}


def test_the_value_model_chooses_the_value_a_closing_names_or_none():
    from starcoach.judge.logistic import fit_choice
    from starcoach.judge.values import choice_probabilities, named_values

    # Closings of a three-value company: the named value has its name in the closing ("name"),
    # others at most a weak word ("word"); some closings name none; one names two.
    def closing(named, weak=()):
        return [({**({"name": 1.0} if v in named else {}), **({"word": 1.0} if v in weak else {})}, v in named)
                for v in range(3)]

    groups = ([closing({0}, {1}), closing({1}), closing({2}, {0}), closing({0})] * 5
              + [closing(set(), {1}), closing(set())] * 4 + [closing({0, 2})])
    m = fit_choice(groups, l2=1.0)
    assert m["kind"] == "choice" and m["coef"]["name"] > 0 and 0.2 <= m["threshold"] <= 0.6
    names = ["A", "B", "C"]
    assert named_values(names, [f for f, _ in closing({1}, {2})], m) == ("B",)
    assert named_values(names, [f for f, _ in closing(set(), {2})], m) == ()
    assert set(named_values(names, [f for f, _ in closing({0, 2})], m)) == {"A", "C"}
    p = choice_probabilities(m, [f for f, _ in closing({1})])
    assert p[1] > 0.5 and sum(p) < 1.0  # the rest is "none"
    assert fit_choice([closing(set())]) == {}


def test_with_folds_the_value_models_threshold_is_chosen_on_out_of_fold_probabilities():
    from starcoach.judge.logistic import _best_threshold, fit_choice

    # Each named value carries a feature no other closing has: the fit remembers it, so its own
    # closings look surer to it than a new closing would.
    groups = []
    for i in range(24):
        right = i % 3 if i % 4 else None
        groups.append([({**({"word": 1.0} if v == (i * 2) % 3 else {}), **({f"only{i}": 1.0} if v == right else {})},
                        v == right) for v in range(3)])
    folds = [list(range(i, len(groups), 4)) for i in range(4)]
    inside, outside = fit_choice(groups), fit_choice(groups, folds=folds)
    assert outside["coef"] == inside["coef"] and outside["none"] == inside["none"]
    cases = [None] * len(groups)
    for fold in folds:
        m = fit_choice([g for i, g in enumerate(groups) if i not in fold])
        for i in fold:
            cases[i] = (m, groups[i])
    expected = _best_threshold(cases)
    assert outside["threshold"] == expected != inside["threshold"]


def test_a_second_value_is_named_when_the_closing_says_its_name_and_shares_the_probability():
    from starcoach.judge.values import named_values

    model = {"kind": "choice", "none": 0.0, "threshold": 0.4,
             "coef": {"closing:name_phrase": 4.0, "closing:name_word": 3.5, "closing:theme_phrase": 3.5}}
    # First value 0.61; second 0.37: under the threshold, but over a third of what the values hold.
    said = [{"closing:name_phrase": 1.0}, {"closing:name_word": 1.0}, {}]
    assert named_values(["A", "B", "C"], said, model) == ("A", "B")
    # The same share through words of its theme, not its name: only the first.
    themed = [{"closing:name_phrase": 1.0}, {"closing:theme_phrase": 1.0}, {}]
    assert named_values(["A", "B", "C"], themed, model) == ("A",)
    # Said by name but with too small a share (0.04): only the first.
    weak = [{"closing:name_phrase": 1.5}, {"closing:name_word": 0.8}, {}]
    assert named_values(["A", "B", "C"], weak, model) == ("A",)
    # Nothing named when even the first is under the threshold.
    assert named_values(["A", "B", "C"], [{"closing:name_word": 0.1}, {}, {}], model) == ()


def test_going_back_inside_the_story_stays_possible_but_its_start_and_the_play_back_keep_their_counts():
    import math

    told_in_order = [("repeat", "situation", "task", "action", "result", "link_back")] * 500
    t = F.transitions(told_in_order)
    assert t["action"]["task"] == pytest.approx(math.log(0.05), abs=1e-3)  # 1 in 507 by the counts
    assert t["situation"]["task"] > math.log(0.9)  # the usual step is not touched
    assert t["action"]["repeat"] < math.log(0.01)  # no floor for a play-back after the story
    assert t["start"]["result"] < math.log(0.01)  # nor for a story that starts with its result
    assert t["task"]["result"] < math.log(0.01)  # nor for skipping the action: an untold result stays untold
