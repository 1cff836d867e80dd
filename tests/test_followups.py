"""The interviewer's follow-up questions: chosen from what the judge found, worded from the banks."""

from __future__ import annotations

from pathlib import Path

import pytest

from starcoach.catalogue.banks import BankError, builtin_dir, load_catalogue
from starcoach.judge import analyse
from starcoach.judge.followups import REASON_NAMES, choose, load_templates, parse_templates, quote, reasons

Q = "Tell me about a time you had to fix a process that kept failing."

STRONG = ("A process that kept failing, sure. "
          "Last spring at a parcel depot, our overnight sorting script crashed about twice a week. "
          "I was responsible for the depot's tooling, so it was up to me to make it reliable before the holiday peak. "
          "I traced the crashes to a label printer that sent half-written files, added a check that waited for "
          "complete files, and wrote an alert for the morning shift. "
          "Crashes fell from eight a month to none over the next quarter, and the shift lead saved an hour a day. ")

NO_RESULT = ("Last spring at a parcel depot, our overnight sorting script crashed about twice a week. "
             "I was responsible for the depot's tooling, so it was up to me to make it reliable. "
             "I traced the crashes to a label printer that sent half-written files and added a check that waited "
             "for complete files.")

UNMEASURED = ("Last spring at a parcel depot, our overnight sorting script crashed about twice a week. "
              "I was responsible for the depot's tooling, so it was up to me to make it reliable. "
              "I traced the crashes to a label printer and added a check that waited for complete files. "
              "After that the mornings went a lot more smoothly and the shift lead was happy.")

WE_ONLY = ("Last spring at a parcel depot, our overnight sorting script crashed about twice a week. "
           "The goal was to make it reliable before the holiday peak. "
           "We traced the crashes to a label printer, and we rebuilt the import step so it waited for complete files. "
           "Crashes fell from eight a month to none over the next quarter.")

NO_TASK = ("Last spring at a parcel depot, our overnight sorting script crashed about twice a week. "
           "I traced the crashes to a label printer that sent half-written files. "
           "I added a check that waited for complete files and wrote an alert for the morning shift. "
           "Crashes fell from eight a month to none over the next quarter.")

HYPOTHETICAL = ("If a process kept failing, I would first look at the logs to find a pattern. "
                "I would talk to the people who use it every day and ask what they see. "
                "Then I would fix the most common cause first and set up an alert so I would know if it came back.")

NO_SITUATION = ("My job was to make the sorting script reliable. "
                "I traced the crashes to a label printer that sent half-written files, and I added a check that "
                "waited for complete files. "
                "Crashes fell from eight a month to none over the next quarter.")


@pytest.fixture(scope="module")
def templates():
    return load_templates([builtin_dir()])


@pytest.fixture(scope="module")
def company():
    cat = load_catalogue()
    return cat.companies["amazon"]


def first(text, templates, **kw):
    a = analyse(text, question=Q, company=kw.get("company"))
    got = choose(a, templates, **kw)
    assert got, reasons(a, kw.get("company"))
    return a, got[0]


def test_no_result_asks_how_it_turned_out(templates):
    a, f = first(NO_RESULT, templates)
    assert not a.structure["result"].present
    assert f.reason == "result_missing" and f.component == "result"


def test_an_unmeasured_result_is_asked_how_it_was_measured_quoting_the_candidate(templates):
    a, f = first(UNMEASURED, templates)
    assert a.structure["result"].present and not a.checks.result_quantified
    assert f.reason == "result_unmeasured"
    assert f.template == "result-unmeasured-quote"
    assert '"After that the mornings went a lot more smoothly' in f.text and "measure" in f.text


def test_we_only_actions_ask_what_the_candidate_did(templates):
    a, f = first(WE_ONLY, templates)
    assert a.checks.action_voice == "we"
    assert f.reason == "we_only" and f.component == "action"
    assert '"We traced the crashes to a label printer"' in f.text and "yourself" in f.text


def test_no_task_asks_what_they_were_responsible_for(templates):
    a, f = first(NO_TASK, templates)
    assert not a.structure["task"].present
    assert f.reason == "task_missing" and "responsible" in f.text


def test_a_hypothetical_answer_asks_for_a_time_it_really_happened(templates):
    a, _ = first(HYPOTHETICAL, templates)
    assert a.checks.hypothetical
    got = choose(a, templates, n=8)
    # Asked alone: "How did it turn out?" about what one would do has no answer.
    assert [f.reason for f in got] == ["hypothetical"]
    assert "really happened" in got[0].text or "actually" in got[0].text


def test_a_reply_to_a_hypothetical_answer_is_a_real_time_only_when_it_sets_a_scene():
    from starcoach.judge.story import NOW_REAL, judge_reply

    first = analyse(HYPOTHETICAL, question=Q)
    assert first.checks.hypothetical
    # Something done, but no when or where: not yet a real time.
    bare = analyse("To check it, I tracked the error count for the next six weeks, and it stayed under five a day.")
    got = judge_reply(first, [], bare, question=Q, company=None).supplied
    assert not any(s.how == NOW_REAL for s in got), got
    scene = analyse("Last spring I was the analyst at a parcel depot, and the label job kept failing every night. "
                    "I read a week of its logs and found it crashed on addresses with a comma, so I fixed the parser.")
    got = judge_reply(first, [], scene, question=Q, company=None).supplied
    real = [s for s in got if s.how == NOW_REAL]
    assert real and real[0].component == "situation" and "parcel depot" in real[0].evidence, got


def test_no_situation_asks_when_and_where(templates):
    a = analyse(NO_SITUATION, question=Q)
    # missing, or found only as unsure ("?"): either way the interviewer did not hear it
    sit = a.structure["situation"]
    assert not sit.present or sit.confidence < 0.7
    got = {f.reason: f for f in choose(a, templates, n=8)}
    assert "When and where" in got["situation_missing"].text


def test_no_link_back_with_a_company_names_the_value_the_story_comes_closest_to(templates, company):
    a, f = first(STRONG, templates, company=company)
    assert not a.structure["link_back"].present
    assert f.reason == "link_missing" and f.component == "link_back"
    assert company.name in f.text
    names = {v.name for v in company.values}
    assert any(f'"{n}"' in f.text for n in names)


def test_without_a_company_there_is_no_link_follow_up(templates):
    a = analyse(STRONG, question=Q)
    assert "link_missing" not in [r for r, _ in reasons(a, None)]


def test_a_strong_answer_still_gets_a_probing_question(templates):
    a, f = first(STRONG, templates)
    assert [r for r, _ in reasons(a)] == ["strong"]
    assert f.reason == "strong" and f.component is None


def test_the_most_important_reason_comes_first_and_n_limits_them(templates):
    weak = ("We had a script that kept crashing at the depot. "
            "We looked at the logs and we changed the import step, and then we wrote a short note about it "
            "for the night shift.")
    a = analyse(weak, question=Q)
    got = choose(a, templates, n=3)
    assert len(got) == 3
    order = [f.reason for f in got]
    assert order == sorted(order, key=REASON_NAMES.index)
    assert order[0] == "result_missing"
    assert choose(a, templates, n=0) == []


def test_the_same_follow_up_is_not_asked_twice_in_a_session(templates):
    a = analyse(STRONG, question=Q)
    asked: set[str] = set()
    seen = []
    for _ in range(3):
        f = choose(a, templates, asked=asked)[0]
        seen.append(f.template)
        asked.add(f.template)
    assert len(set(seen)) == 3


def test_a_competency_variant_is_preferred_when_it_applies(templates):
    a = analyse(STRONG, question=Q)
    f = choose(a, templates, competencies=["conflict"])[0]
    assert f.template == "strong-conflict"
    assert choose(a, templates, competencies=["ownership"])[0].template != "strong-conflict"


def test_a_company_variant_is_only_for_that_company(tmp_path: Path, company):
    d = tmp_path / "follow_ups"
    d.mkdir()
    (d / "mine.toml").write_text(
        '[[follow_ups]]\nid = "any"\nwhen = "strong"\ntext = "What next?"\n\n'
        f'[[follow_ups]]\nid = "theirs"\nwhen = "strong"\ncompanies = ["{company.id}"]\n'
        'text = "How would that work at {company}?"\n', encoding="utf-8")
    ts = load_templates([tmp_path])
    a = analyse(STRONG + f"That is the kind of ownership I would bring to {company.name}.", question=Q,
                company=company)
    f = choose(a, ts, company=company)[0]
    assert (f.template, f.text) == ("theirs", f"How would that work at {company.name}?")
    assert choose(analyse(STRONG, question=Q), ts)[0].template == "any"


def test_quote_is_short_and_the_candidates_own_words():
    s = "So then we rebuilt the whole import step over two weekends, which nobody had touched in years."
    assert quote(s) == "we rebuilt the whole import step over two weekends,".rstrip(",")
    assert len(quote("one two three four five six seven eight nine ten eleven twelve thirteen").split()) == 12


@pytest.mark.parametrize("body,problem", [
    ('[[follow_ups]]\nid = "x"\nwhen = "sometimes"\ntext = "Hm?"\n', "'when' must be one of"),
    ('[[follow_ups]]\nid = "x"\nwhen = "strong"\ntext = "Say {name}?"\n', "unknown placeholder {name}"),
    ('[[follow_ups]]\nid = "x"\nwhen = "strong"\ntext = "Think of {value}"\n', "{value} is only known"),
    ('[[follow_ups]]\nid = "x"\nwhen = "strong"\ntext = "Hm {"\n', "broken {placeholder}"),
    ('[[follow_ups]]\nid = "x"\nwhen = "strong"\ntext = ""\n', "'text' must be a non-empty string"),
    ('[[follow_ups]]\nid = "x"\nwhen = "strong"\ntext = "Hm?"\ncolour = "red"\n', "unknown key 'colour'"),
    ('title = "none here"\n', "no [[follow_ups]] entries"),
    ('[[follow_ups]\nid = "x"\n', "invalid TOML"),
    ('[[follow_ups]]\nid = "x"\nwhen = "strong"\ncompetencies = ["juggling"]\ntext = "Hm?"\n',
     "unknown competency 'juggling'"),
])
def test_a_broken_template_file_is_refused_naming_the_file_and_problem(tmp_path: Path, body, problem):
    d = tmp_path / "follow_ups"
    d.mkdir()
    (d / "bad.toml").write_text(body, encoding="utf-8")
    with pytest.raises(BankError) as e:
        load_templates([tmp_path])
    assert problem in str(e.value) and "bad.toml" in str(e.value)


def test_an_id_defined_twice_is_refused(tmp_path: Path):
    for name in ("a", "b"):
        d = tmp_path / name / "follow_ups"
        d.mkdir(parents=True)
        (d / "f.toml").write_text('[[follow_ups]]\nid = "same"\nwhen = "strong"\ntext = "Hm?"\n', encoding="utf-8")
    with pytest.raises(BankError, match="already defined"):
        load_templates([tmp_path / "a", tmp_path / "b"])


def test_the_built_in_templates_cover_every_reason(templates):
    assert {t.when for t in templates} == set(REASON_NAMES)
    assert parse_templates({"follow_ups": [{"id": "a", "when": "strong", "text": "Why?"}]}, Path("x"))[0].id == "a"
