"""Every cue family and question concept matches the examples it must and does not match the others."""

import json
import re
from pathlib import Path

import pytest

from starcoach.judge.checks import concepts
from starcoach.judge.cues import families, normalise

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

CUES = Path(__file__).resolve().parents[1] / "src" / "starcoach" / "judge" / "cues"
FAMILIES = families()


@pytest.mark.parametrize("fam", FAMILIES, ids=[f.id for f in FAMILIES])
def test_family_matches_its_examples_and_not_its_counter_examples(fam):
    assert fam.match and fam.nomatch, f"{fam.id} needs examples both ways"
    for s in fam.match:
        assert fam.count(normalise(s)) > 0, (fam.id, s)
    for s in fam.nomatch:
        assert fam.count(normalise(s)) == 0, (fam.id, s)


def test_family_ids_are_unique_and_documented():
    ids = [f.id for f in FAMILIES]
    assert len(ids) == len(set(ids))
    assert all(f.about for f in FAMILIES)


CONCEPTS = tomllib.loads((CUES / "concepts_en.toml").read_text(encoding="utf-8"))["concept"]


@pytest.mark.parametrize("name", sorted(CONCEPTS))
def test_concept_markers_match_their_examples(name):
    _, answer_rx = concepts()[name]
    for s in CONCEPTS[name]["match"]:
        assert answer_rx.search(normalise(s)), (name, s)
    for s in CONCEPTS[name]["nomatch"]:
        assert not answer_rx.search(normalise(s)), (name, s)


def test_no_pattern_has_a_literal_backslash_before_a_letter():
    # A doubled backslash before a letter matches a backslash, not a word character: a dead marker.
    doubled = re.compile(r"\\\\[a-z]")
    fams = tomllib.loads((CUES / "en.toml").read_text(encoding="utf-8"))["family"]
    patterns = [p for f in fams for p in f["patterns"]] + [v[k] for v in CONCEPTS.values() for k in ("question", "answer")]
    assert len(patterns) > 100
    for p in patterns:
        assert not doubled.search(p), p


def test_weights_name_only_features_the_families_can_produce():
    w = json.loads((CUES.parent / "weights.json").read_text(encoding="utf-8"))
    ids = {f"cue:{f.id}" for f in FAMILIES}
    for label, coef in w["coef"].items():
        for name in coef:
            if name.startswith("cue:"):
                assert name in ids, (label, name)


def test_no_family_repeats_a_pattern():
    for f in tomllib.loads((CUES / "en.toml").read_text(encoding="utf-8"))["family"]:
        assert len(f["patterns"]) == len(set(f["patterns"])), f["id"]
