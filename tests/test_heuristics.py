"""The analyser measured on the labelled answers (tests/data): a regression guard.

The figures themselves are printed by benchmarks/eval_heuristics.py and
recorded in docs/heuristics.md; these floors sit a little below them, so
a change that makes any component clearly worse fails here.
"""

from pathlib import Path

import pytest

from starcoach.evaluation import evaluate, load_labelled
from starcoach.model import COMPONENTS

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def dev():
    items = load_labelled(DATA / "answers_dev.toml")
    assert len(items) >= 80
    return evaluate(items)


@pytest.fixture(scope="module")
def heldout():
    items = load_labelled(DATA / "answers_heldout.toml")
    assert len(items) >= 40
    return evaluate(items)


@pytest.mark.parametrize("component", COMPONENTS)
def test_dev_presence_f1(dev, component):
    assert dev.presence[component].f1 >= 0.87, (component, dev.presence[component])


@pytest.mark.parametrize("component", COMPONENTS)
def test_heldout_presence_f1(heldout, component):
    assert heldout.presence[component].f1 >= 0.78, (component, heldout.presence[component])


def test_answer_level_checks(dev, heldout):
    for rep in (dev, heldout):
        assert rep.checks["verbatim repeat"].f1 >= 0.9
        assert rep.checks["quantified result"].f1 >= 0.85
        assert rep.checks["hypothetical"].f1 >= 0.75
        assert rep.checks["we-only action"].f1 >= 0.75
        assert rep.word_accuracy >= 0.75


def test_labels_are_well_formed():
    for name in ("answers_dev.toml", "answers_heldout.toml"):
        items = load_labelled(DATA / name)
        assert len({i.id for i in items}) == len(items)
        for i in items:
            assert i.segments and i.question
