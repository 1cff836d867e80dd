"""The story vault: file format and validation, the vault commands, matching
answers to stories (measured on a labelled check), coverage and gap weights."""

from __future__ import annotations

import os
import re
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from starcoach.catalogue.banks import Question, load_catalogue
from starcoach.vault import coverage, matching, quantities
from starcoach.vault import format as vault_format

CATALOGUE = load_catalogue()
COMPANIES = CATALOGUE.companies

# Four stories from one made-up career: a success, a failure, a teamwork and a
# leadership story that share vocabulary (data, team, model...), which is what
# makes telling them apart hard.
VAULT_TOML = '''\
# my stories
[[story]]
id = "ghost-failures"
title = "Ghost failed deliveries"
kind = "success"
situation = [
    "Analyst on the grocery team at a delivery start-up",
    "About 4% of orders were marked as failed deliveries although customers never complained",
]
task = ["I only owned the weekly dashboard, but I wanted the cause found before publishing it"]
action = [
    "Pulled a month of raw app events and traced the failed orders to drivers losing signal at the door",
    "Wrote a query that reclassified those orders from the drivers' GPS traces",
    "Walked the engineering lead through twenty examples",
]
result = [
    "Cut false failures from 4% to 1.5%",
    "Operations cancelled a driver retraining programme that would have cost $40k",
]
competencies = ["ownership", "data-quality", "initiative"]
values = ["doordash:be-an-owner", "amazon:dive-deep"]

[[story]]
id = "churn-model-miss"
title = "The leaky churn model"
kind = "failure"
situation = ["I built a churn prediction model for the subscription product at a meal-kit company"]
task = ["Marketing wanted a list of at-risk subscribers for a retention campaign before the holidays"]
action = [
    "Trained a gradient boosting model on two years of subscription history and shipped it without a holdout on recent months",
    "When the campaign underperformed I ran a post-mortem and found leakage from the cancellation reason field",
    "Rebuilt the features with a strict time cut-off and set up a backtest on the last quarter",
]
result = [
    "The first campaign wasted about 12,000 discount vouchers",
    "The rebuilt model lifted retention of contacted subscribers by 3 points",
    "I now add a time-based holdout to every model review",
]
competencies = ["failure", "learning", "data-quality"]
values = ["amazon:learn-and-be-curious"]

[[story]]
id = "forecast-merge"
title = "One forecast for finance and supply chain"
kind = "teamwork"
situation = [
    "Finance and supply chain each kept their own demand forecast and argued every Monday about which was right",
]
task = ["My director asked me to get both teams onto one weekly number"]
action = [
    "Sat with each team to list the assumptions behind their spreadsheet",
    "Built a shared backtest comparing both forecasts against actual sales for 26 weeks",
    "Ran a workshop where the planners agreed on a blended forecast",
]
result = [
    "Forecast error dropped from 18% to 11%",
    "The Monday meeting shrank from an hour to 20 minutes",
]
competencies = ["teamwork", "conflict", "stakeholder-management", "communication"]
values = ["doordash:we-are-one-team"]

[[story]]
id = "intern-mentoring"
title = "Three interns, no SQL"
kind = "leadership"
situation = ["Our analytics team took on three summer interns with no SQL experience"]
task = ["I volunteered to run their onboarding and keep them productive within the first month"]
action = [
    "Wrote a two-week SQL curriculum based on our real tables",
    "Paired with each intern for an hour a day and reviewed their queries",
    "Gave each of them a small project that a stakeholder actually needed",
]
result = ["All three shipped their projects to production", "Two of them got return offers"]
competencies = ["mentoring", "leadership"]
values = ["amazon:hire-and-develop-the-best"]
'''

# Labelled answers: (answer, the story it retells or None).  DEV is what the
# weights and threshold were set on; HELDOUT_1 was written after the first
# tuning (it exposed two false matches, since fixed); HELDOUT_2 was written
# after the last change to the matcher.
DEV = [
    ("So you want to hear about a time I went past my remit. At the delivery company I was the grocery analyst, "
     "and something like four percent of orders showed up as failed even though nobody had complained. "
     "Strictly my job was the weekly dashboard, but I didn't want to publish numbers I couldn't explain. "
     "I grabbed a month of raw events from the app and found that the failures clustered where couriers lost "
     "their phone signal right at the customer's door. I wrote SQL that relabelled those orders using the GPS "
     "pings, and I sat down with the engineering lead and went through twenty cases. In the end false failures "
     "went from four percent to one and a half percent, and ops scrapped a retraining course for drivers that "
     "would have cost forty thousand dollars. That's what owning a number means to me.", "ghost-failures"),
    ("A time I dug into data. Our dashboard said lots of deliveries failed, about 4 percent, but customers "
     "weren't complaining. I pulled the app event logs and saw the drivers were losing reception at the doorstep, "
     "so the app never got the confirmation. I reclassified the orders with GPS data and showed engineering. "
     "They fixed it and the failure rate dropped a lot.", "ghost-failures"),
    ("Sure. On the grocery side of a delivery startup I noticed failed deliveries that looked fake. I traced them "
     "to lost signal at the door, rewrote the classification with GPS traces, walked our engineering lead "
     "through examples, and we got the false failure rate down to 1.5%.", "ghost-failures"),
    ("The failure I think about most was a churn model I built at a meal kit company. Marketing needed at-risk "
     "subscribers for a holiday retention push. I trained a boosted tree model on two years of history and I "
     "shipped it without holding out the recent months. The campaign flopped, and in the post-mortem I found the "
     "cancellation reason field was leaking the label. We burned through roughly twelve thousand vouchers. I "
     "rebuilt the features with a hard time cutoff and backtested on the last quarter, and the new model lifted "
     "retention by three points. Now every model review I run has a time-based holdout.", "churn-model-miss"),
    ("So a mistake I made: I predicted which subscribers would cancel, for a retention campaign, and the model "
     "looked brilliant offline but did nothing in the real campaign. Turned out a field about why people cancel "
     "was leaking information. I redid the features with a proper cut-off date and tested on the most recent "
     "quarter. Lesson learned, I always hold out recent data now.", "churn-model-miss"),
    ("I once shipped a churn model with target leakage. The holiday campaign it fed wasted discount vouchers. "
     "After a post-mortem I rebuilt it with a time cutoff and a backtest.", "churn-model-miss"),
    ("You're asking about bringing two groups together. Finance and the supply chain team had separate demand "
     "forecasts and every Monday they fought over whose was right. My director asked me to get them onto a "
     "single weekly number. I met each team to write down the assumptions in their spreadsheets, then I built a "
     "backtest that compared both forecasts with actual sales over 26 weeks. I ran a workshop where the "
     "planners settled on a blended forecast. Forecast error went from eighteen percent to eleven percent and "
     "the Monday meeting went from an hour to twenty minutes.", "forecast-merge"),
    ("A conflict between teams: finance and supply chain disagreed every week on the demand forecast. I listened "
     "to both sides, compared their forecasts against real sales, and got the planners to agree on a blend. "
     "The Monday argument basically disappeared.", "forecast-merge"),
    ("Two departments each had their own sales forecast and spent the weekly meeting arguing. I built a shared "
     "backtest of both against actuals and ran a workshop, and forecast error fell to 11%.", "forecast-merge"),
    ("Mentoring, okay. Our analytics group hired three summer interns and none of them knew SQL. I offered to "
     "own their onboarding and make sure they were useful in their first month. I put together a two week SQL "
     "course built on our actual tables, paired with each of them for an hour every day and reviewed their "
     "queries, and handed each one a small project a stakeholder really needed. All three got their projects "
     "into production and two received return offers.", "intern-mentoring"),
    ("I coached three interns who had never written a query. I wrote them a short curriculum using our own "
     "tables and reviewed their work daily. They all shipped something real by the end of the summer.",
     "intern-mentoring"),
    ("When we brought on summer interns without SQL I ran the onboarding: pairing sessions every day, query "
     "reviews, and a real stakeholder project each. Two of the three got return offers.", "intern-mentoring"),
    # unrelated answers
    ("At a retail company I ran an A/B test on our welcome email. The marketing manager wanted to send a "
     "discount to everyone, but I proposed testing subject lines first. I set up the experiment with 50,000 "
     "users, checked for sample ratio mismatch, and the winning subject line raised open rates by 8 percent. "
     "We rolled it out to all new signups.", None),
    ("I disagreed with a product manager about a launch date. She wanted to ship the new search feature before "
     "the conference, but the relevance tests were failing. I showed her the failing cases, we agreed to launch "
     "to ten percent of users first, and we fixed the ranking bug within a week before the full launch.", None),
    ("In my support role a key customer escalated because invoices were wrong. I called the customer the same "
     "day, found that a tax rule had been misconfigured, and worked with billing to reissue 300 invoices. "
     "The customer renewed their contract the next quarter.", None),
    ("At university our group project on urban transport had a member who stopped showing up. I organised a "
     "call, we split the remaining chapters by interest, and I took over the statistical analysis. We handed "
     "in on time and got the top mark in the class.", None),
    ("At an insurance company the CRM had duplicate customer records, so the marketing team mailed the same "
     "people twice. I wrote a fuzzy matching script on names and postcodes, reviewed a sample of matches with "
     "the CRM owner, and merged about 9,000 duplicates. Mailing costs fell by 6 percent.", None),
    ("At a hackathon I built a prototype chatbot that answered HR policy questions. I scraped the policy wiki, "
     "wired it to a search index, and demoed it to the HR director. It won the people's choice award and HR "
     "asked to pilot it.", None),
    ("I led the migration of our reporting from spreadsheets to a BI tool. I inventoried 120 reports, retired "
     "the ones nobody opened, and trained each department. Report requests to our team fell by a third.", None),
]

HELDOUT_1 = [
    ("Okay, a time I took initiative. I was doing analytics for groceries at a food delivery startup and the "
     "weekly numbers had this weird chunk of failed drop-offs, four-ish percent, with no refund requests behind "
     "them. I dug through app event data and it was the driver's phone going offline at the front door, so the "
     "delivery never got confirmed. I re-labelled those orders based on where the GPS said the driver was, and "
     "took twenty examples to the engineering lead. False failures came down to one point five percent.",
     "ghost-failures"),
    ("I'll tell you about a model that went wrong. I was predicting subscription cancellations for a meal kit "
     "business, marketing used my list for a retention offer before Christmas, and it barely moved anything. "
     "I had let a feature about the cancellation reason sneak in, which is only filled after someone cancels. "
     "We wasted around twelve thousand vouchers. After fixing the leak and backtesting properly the retention "
     "lift was three points.", "churn-model-miss"),
    ("Finance had a forecast, supply chain had a different forecast, and the Monday meeting was a fight. My "
     "director gave me the job of getting one number. I learned the assumptions each side used, backtested both "
     "against real sales, and got the planners to agree a blended version in a workshop. Error went down from "
     "18 to 11 percent.", "forecast-merge"),
    ("One summer I onboarded three interns who couldn't write SQL. I designed a two week course on our real "
     "tables, did daily pairing and code review, and gave each a real project for a stakeholder. All three made "
     "it to production and two came back with offers.", "intern-mentoring"),
    ("At a bank I was asked to cut the time to produce the monthly risk report. I mapped every manual step, "
     "automated the data pulls with Python, and replaced three spreadsheets with one model. The report went "
     "from four days to half a day.", None),
    ("A teammate and I disagreed on whether to use a neural network or a simple regression for pricing. I "
     "suggested we both build a quick version and compare them on last month's data. The regression was almost "
     "as accurate and far easier to explain, so we shipped it.", None),
    ("When I was a shift supervisor at a warehouse, two pickers kept arguing about break times. I sat down with "
     "both, made a rota they agreed on, and complaints stopped. Picking errors on that shift also dropped by "
     "ten percent.", None),
]

HELDOUT_2 = [
    ("Right, so going beyond my job. Grocery analytics, delivery start-up. Failed deliveries looked inflated, "
     "around 4%, but customers weren't asking for refunds. I looked at a month of raw event logs, saw the drivers "
     "dropping off the network right at the door, and reclassified those orders using GPS location. We went to "
     "1.5% false failures and the retraining programme for drivers, forty grand, was cancelled.", "ghost-failures"),
    ("My biggest failure was a leaky churn model. I trained it on two years of subscriptions, didn't hold out "
     "the latest months, and it fed a holiday retention campaign that flopped. The post-mortem showed the "
     "cancellation reason column leaked the answer.", "churn-model-miss"),
    ("Getting two teams to agree: supply chain and finance each had a demand forecast. I interviewed both about "
     "their assumptions, built a 26-week backtest on actual sales, and facilitated a session where planners "
     "chose a blend. The weekly meeting went from an hour to twenty minutes.", "forecast-merge"),
    ("I helped three interns learn SQL from zero with a curriculum built on our own tables and daily pairing, "
     "and each delivered a project a stakeholder needed.", "intern-mentoring"),
    ("At a hospital I noticed appointment no-shows were higher on Mondays. I pulled the booking data, found "
     "reminder texts were not sent on weekends, and worked with IT to fix the scheduler. No-shows fell by 12 "
     "percent.", None),
    ("I disagreed with my manager about dropping a feature from the mobile app. I gathered usage data showing "
     "that a small but loyal group used it daily, and we kept it in a simplified form.", None),
    ("At a logistics company I led a team of four analysts through a data warehouse migration. I set weekly "
     "milestones, paired the juniors with seniors, and we finished two weeks early with no data loss.", None),
]


def write_vault(tmp_path: Path, text: str = VAULT_TOML, name: str = "vault.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def data_vault() -> Path:
    """The default vault path: vault.toml in the data folder ($STARCOACH_HOME)."""
    return Path(os.environ["STARCOACH_HOME"]) / "vault.toml"


# --------------------------------------------------------------------------- format and validation


def test_loads_the_stories():
    v = vault_format.loads(VAULT_TOML, companies=COMPANIES)
    assert [s.id for s in v.stories] == ["ghost-failures", "churn-model-miss", "forecast-merge", "intern-mentoring"]
    ghost = v.story("ghost-failures")
    assert ghost.kind == "success" and ghost.result[0] == "Cut false failures from 4% to 1.5%"
    assert ghost.competencies == ("ownership", "data-quality", "initiative")
    assert ghost.values_for("doordash") == ["be-an-owner"] and ghost.line == 2
    assert ghost.bullets()[0] == ("situation", "Analyst on the grocery team at a delivery start-up")


def _story(extra: str = "", **fields: str) -> str:
    base = {"id": '"s1"', "title": '"A story"', "kind": '"success"', "action": '["Did a thing"]',
            "result": '["It went from 4% to 2%"]'}
    base.update(fields)
    body = "".join(f"{k} = {v}\n" for k, v in base.items() if v is not None)
    return "# header comment\n\n[[story]]\n" + body + extra


@pytest.mark.parametrize("text, line, fragment", [
    (_story(kind='"win"'), 6, "unknown kind 'win'"),
    (_story(kind='"sucess"'), 6, "did you mean 'success'"),
    (_story(extra='competencies = [\n    "ownership",\n    "ownershp",\n]\n'), 11,
     "unknown competency 'ownershp' (did you mean 'ownership'?)"),
    (_story(extra='values = ["dordash:be-an-owner"]\n'), 9, "unknown company 'dordash'"),
    (_story(extra='values = ["doordash:be-owner"]\n'), 9, "DoorDash has no value 'be-owner'"),
    (_story(extra='values = ["Be an owner"]\n'), 9, "must be written company:value"),
    (_story(id='"My Story"'), 4, "id 'My Story' must be lower case"),
    (_story(title=None), 3, "'title' must be a non-empty string"),
    (_story(extra='situaton = ["x"]\n'), 9, "unknown key 'situaton' (did you mean 'situation'?)"),
    (_story(action="[]", result="[]"), 3, "has no bullet points"),
    (_story(action='["ok", 3]'), 7, "must be a string in quotes"),
    (_story() + "\n" + _story().split("\n", 2)[2], 11, "the id is already used by story #1"),
    (_story(title='"unterminated'), 5, "invalid TOML"),
    ('[[stories]]\nid = "x"\n', 1, "unknown entry 'stories' (stories are [[story]] tables)"),
])
def test_validation_errors_name_file_line_and_problem(tmp_path, text, line, fragment):
    p = write_vault(tmp_path, text)
    with pytest.raises(vault_format.VaultError) as e:
        vault_format.load(p, COMPANIES)
    assert e.value.line == line, (str(e.value), text)
    assert fragment in e.value.problem, str(e.value)
    assert str(e.value).startswith(f"{p}:{line}: ")


def test_values_are_checked_only_against_given_companies():
    text = _story(extra='values = ["acme:measure-twice"]\n')
    assert vault_format.loads(text).stories[0].values == ("acme:measure-twice",)
    with pytest.raises(vault_format.VaultError, match="unknown company 'acme'"):
        vault_format.loads(text, companies=COMPANIES)


def test_save_and_load_round_trip_private_and_atomic(tmp_path):
    v = vault_format.loads(VAULT_TOML)
    p = tmp_path / "sub" / "vault.toml"
    vault_format.save(v, p)
    assert vault_format.load(p).stories == v.stories
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert [x.name for x in p.parent.iterdir()] == ["vault.toml"]  # no temp file left behind
    # A story with quotes, backslashes and non-ASCII text survives.
    odd = vault_format.Story(id="odd", title='The "odd" one \\ naïve', action=("Said \"no\" — twice",), result=("50% less",))
    vault_format.save(vault_format.Vault((odd,)), p)
    assert vault_format.load(p).stories == (odd,)


def test_append_story_keeps_comments_and_refuses_a_broken_result(tmp_path):
    p = write_vault(tmp_path)
    new = vault_format.Story(id="new-one", title="New", kind="other", action=("Did it",), result=("Done",))
    v = vault_format.append_story(p, new, COMPANIES)
    assert len(v.stories) == 5 and p.read_text().startswith("# my stories")
    dup = vault_format.Story(id="new-one", title="Again", action=("x",))
    before = p.read_text()
    with pytest.raises(vault_format.VaultError, match="already used"):
        vault_format.append_story(p, dup, COMPANIES)
    assert p.read_text() == before


# --------------------------------------------------------------------------- quantities


@pytest.mark.parametrize("text, values", [
    ("cut false failures from 4% to 1.5%", [4, 1.5]),
    ("fell from four percent to one and a half percent", [4, 1.5]),
    ("one point five per cent", [1.5]),
    ("saved $40k, about forty thousand dollars, forty grand", [40000, 40000, 40000]),
    ("two hundred and fifty users and 1,200 orders and 3.5 million rows", [250, 1200, 3.5e6]),
    ("twenty-five percent of a dozen", [25, 12]),
])
def test_quantities_in_digits_and_words(text, values):
    assert [q.value for q in quantities.quantities(text)] == values


# --------------------------------------------------------------------------- matching


def _confusion(vault, data):
    tp = fp = fn = tn = 0
    wrong = []
    for text, label in data:
        m = matching.match_story(text, vault)
        got = m.story.id if m else None
        if label is not None and got == label:
            tp += 1
        elif label is not None:
            fn += 1
            fp += got is not None
        elif got is not None:
            fp += 1
        else:
            tn += 1
        if got != label:
            wrong.append((label, got, text[:60]))
    return tp, fp, fn, tn, wrong


def test_story_matching_accuracy_on_the_labelled_check():
    vault = vault_format.loads(VAULT_TOML)
    report = []
    totals = [0, 0, 0, 0]
    for name, data in (("dev", DEV), ("held-out 1", HELDOUT_1), ("held-out 2", HELDOUT_2)):
        tp, fp, fn, tn, wrong = _confusion(vault, data)
        totals = [a + b for a, b in zip(totals, (tp, fp, fn, tn))]
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        report.append(f"{name}: precision {p:.2f} recall {r:.2f} (tp {tp} fp {fp} fn {fn} tn {tn}) {wrong}")
    tp, fp, fn, tn = totals
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    msg = f"overall precision {precision:.2f} recall {recall:.2f}; " + "; ".join(report)
    assert precision >= 0.9 and recall >= 0.9, msg
    assert tn >= 12, msg  # unrelated answers, some on close topics, match nothing


def test_match_confidence_and_edge_cases():
    vault = vault_format.loads(VAULT_TOML)
    full = matching.match_story(DEV[0][0], vault)
    assert full.story.id == "ghost-failures" and full.confidence >= 0.9 and full.missing == ()
    assert full.runner_up is not None
    assert matching.match_story("", vault) is None
    assert matching.match_story(DEV[0][0], vault_format.Vault()) is None
    assert matching.match_story("I like turtles.", vault) is None


GHOST = vault_format.loads(VAULT_TOML).story("ghost-failures")


def test_missing_points_a_result_said_in_words_counts():
    answer = DEV[0][0]  # says "from four percent to one and a half percent" and "forty thousand dollars"
    assert "four percent" in answer and "4%" not in answer
    assert matching.missing_points(answer, GHOST) == []


def test_missing_points_the_measured_result_never_said():
    answer = ("At the delivery start-up I was the grocery analyst and about four percent of orders were "
              "marked as failed deliveries. I pulled a month of raw app events and traced the failed orders "
              "to drivers losing signal at the door. I wrote a query that reclassified those orders from the "
              "GPS traces and walked the engineering lead through twenty examples. False failures went down "
              "a lot and operations cancelled the retraining programme.")
    missing = matching.missing_points(answer, GHOST)
    assert ("result", "Cut false failures from 4% to 1.5%") in missing
    assert ("result", "Operations cancelled a driver retraining programme that would have cost $40k") in missing
    assert not [pb for pb in missing if pb[0] == "action"], missing
    line = matching.story_feedback(answer, vault_format.loads(VAULT_TOML))
    assert line is not None and line.startswith("You told your story 'Ghost failed deliveries' but left out: "
                                                 "the measured result (4% → 1.5%; you never said 1.5%)")


def test_story_feedback_names_the_missing_action_and_is_silent_when_nothing_is_missing():
    vault = vault_format.loads(VAULT_TOML)
    assert matching.story_feedback(DEV[0][0], vault) is None
    assert matching.story_feedback(HELDOUT_1[4][0], vault) is None  # told no vault story
    full = DEV[6][0]
    assert matching.story_feedback(full, vault) is None
    cut = "I met each team to write down the assumptions in their spreadsheets, then I built"
    assert cut in full
    line = matching.story_feedback(full.replace(cut, "I built"), vault)  # without the talks with each team
    assert line == ("You told your story 'One forecast for finance and supply chain' but left out: the action "
                    "\u201cSat with each team to list the assumptions behind their spreadsheet\u201d.")


# --------------------------------------------------------------------------- fit and values


def q(text: str, *comps: str) -> Question:
    return Question(id="t", text=text, competencies=comps, bank="t")


def test_fit_prefers_the_story_that_suits_the_question():
    vault = vault_format.loads(VAULT_TOML)
    cases = [
        (q("Describe a time you failed at something that mattered to you.", "failure", "learning"),
         "churn-model-miss"),
        (q("Tell me about a time you found a problem in a dataset that nobody had noticed.", "ownership",
           "data-quality", "initiative"), "ghost-failures"),
        (q("Tell me about a time you had a conflict between two teams.", "conflict", "teamwork"),
         "forecast-merge"),
        (q("Give me an example of how you helped a junior analyst grow.", "mentoring", "leadership"),
         "intern-mentoring"),
    ]
    for question, want in cases:
        best, score = matching.best_story(vault, question)
        assert best.id == want and score >= 0.5, (question.text, best.id, score)
    failure_q = cases[0][0]
    assert matching.fit(vault.story("ghost-failures"), failure_q) < 0.2
    assert all(0.0 <= matching.fit(s, failure_q) <= 1.0 for s in vault.stories)


def test_value_coverage_explicit_and_inferred():
    vault = vault_format.loads(VAULT_TOML)
    dd = CATALOGUE.company("doordash")
    cov = coverage.value_coverage(vault, dd)
    assert set(cov) == {v.id for v in dd.values}
    owner = cov["be-an-owner"]
    assert owner == ["ghost-failures"] and not owner[0].inferred
    leaders = {str(r): r for r in cov["we-are-leaders"]}
    assert leaders["intern-mentoring"].inferred and "leadership" in leaders["intern-mentoring"].evidence
    assert cov["make-room-at-the-table"] == []
    # Inferred from the bullets' words: a story that says the value's cue phrases.
    extra = vault_format.Story(id="rollout", title="Pilot first", action=("We started small with a pilot in one market first",
                                                                "then scaled up",), result=("Adopted in 5 cities",))
    inferred = coverage.value_coverage(vault_format.Vault((extra,)), dd)["dream-big-start-small"]
    assert inferred == ["rollout"] and inferred[0].inferred and "pilot" in inferred[0].evidence


# --------------------------------------------------------------------------- commands


def test_missing_vault_says_init(cli):
    for action in (["list"], ["show", "x"], ["add"], ["edit", "--editor", "true"], ["coverage", "-c", "amazon"]):
        r = cli("vault", *action)
        assert r.code == 2, (action, r)
        assert "starcoach vault init" in r.err and r.err.count("\n") == 1, r.err


def test_init_creates_a_valid_private_template_and_never_overwrites(cli):
    r = cli("vault", "init")
    assert r.code == 0, r
    p = data_vault()
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    v = vault_format.load(p, COMPANIES)
    assert len(v.stories) == 1 and v.stories[0].result
    text = p.read_text()
    assert text.startswith("#") and "kind" in text and "competencies" in text
    p.write_text(text + "\n# my note\n")
    r = cli("vault", "init")
    assert r.code == 2 and "already exists" in r.err
    assert p.read_text().endswith("# my note\n")
    assert "`starcoach vault edit`" in r.err


def test_init_of_another_vault_names_it_in_what_to_do_next(cli, tmp_path):
    p = tmp_path / "mine.toml"
    r = cli("vault", "list", "--vault", str(p))
    assert r.code == 2 and r.err.strip() == (f"starcoach: no story vault at {p}; create one with "
                                             f"`starcoach vault --vault {p} init`"), r.err
    r = cli("vault", "init", "--vault", str(p))
    assert r.code == 0 and p.exists(), r
    said = " ".join(r.out.split())
    assert f"starcoach vault --vault {p} edit (in your editor) or starcoach vault --vault {p} add" in said, said


def test_list_and_show(tmp_path, cli):
    p = write_vault(tmp_path)
    r = cli("vault", "--vault", str(p), "list")
    assert r.code == 0, r
    for s in ("ghost-failures", "Ghost failed", "success", "doordash:be-an-owner", "amazon:learn-and-be-curious",
              "4 stories"):
        assert s in r.out, r.out
    r = cli("vault", "--vault", str(p), "show", "ghost-failures")
    assert r.code == 0, r
    assert "Cut false failures from 4% to 1.5%" in r.out and "DoorDash: Be an owner" in r.out
    assert "Situation" in r.out and "Result" in r.out
    r = cli("vault", "--vault", str(p), "show", "nope")
    assert r.code == 2 and "no story 'nope'" in r.err and "ghost-failures" in r.err


def test_list_reports_a_broken_vault_with_file_and_line(tmp_path, cli):
    p = write_vault(tmp_path, _story(kind='"win"'))
    r = cli("vault", "--vault", str(p), "list")
    assert r.code == 2 and f"{p}:6: story 's1': unknown kind 'win'" in r.err
    # The fix names this vault, not the default one that plain `vault edit` would open.
    assert r.err.rstrip().endswith(f"(fix it with `starcoach vault --vault {p} edit`)"), r.err
    # --vault may also come after the action.
    after = cli("vault", "list", "--vault", str(p))
    assert (after.code, after.out, after.err) == (r.code, r.out, r.err)
    d = data_vault()
    d.parent.mkdir(parents=True, exist_ok=True)
    d.write_text(p.read_text())
    r = cli("vault", "list")
    assert r.code == 2 and r.err.rstrip().endswith("(fix it with `starcoach vault edit`)"), r.err


ADD_INPUT = "\n".join([
    "Rescued the quarter-end close",       # title
    "",                                    # id: accept the default
    "sucess",                              # kind: a typo, asked again
    "teamwork",
    "Finance closed the books in 9 days",  # situation bullets
    "",
    "Get the close under 5 days",          # task
    "",
    "Automated the bank reconciliation",   # action
    "Ran a daily stand-up with accounting",
    "",
    "Close went from 9 days to 4 days",    # result
    "",
    "teamwork, speed",                     # competencies: 'speed' is not one, asked again
    "teamwork, deadlines",
    "doordash:be-owner",                   # values: unknown value, asked again
    "doordash:we-are-one-team, amazon:deliver-results",
    "",
])


def test_add_prompts_validates_and_appends(tmp_path, cli):
    p = write_vault(tmp_path)
    r = cli("vault", "--vault", str(p), "add", stdin=ADD_INPUT)
    assert r.code == 0, r
    assert "Unknown kind 'sucess'" in r.out and "Unknown competency 'speed'" in r.out
    assert "DoorDash has no value 'be-owner'" in r.out
    v = vault_format.load(p, COMPANIES)
    s = v.story("rescued-the-quarter-end-close")
    assert s is not None, [x.id for x in v.stories]
    assert s.kind == "teamwork" and s.action == ("Automated the bank reconciliation",
                                                 "Ran a daily stand-up with accounting")
    assert s.competencies == ("teamwork", "deadlines")
    assert s.values == ("doordash:we-are-one-team", "amazon:deliver-results")
    assert p.read_text().startswith("# my stories") and len(v.stories) == 5
    assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_add_stopped_early_saves_nothing(tmp_path, cli):
    p = write_vault(tmp_path)
    before = p.read_text()
    r = cli("vault", "--vault", str(p), "add", stdin="Half a story\n\nsuccess\nA situation\n")
    assert r.code == 2 and "nothing was saved" in r.err
    assert p.read_text() == before


def _editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text("import sys, pathlib\npath = pathlib.Path(sys.argv[1])\n" + textwrap.dedent(body))
    return f"{sys.executable} {script}"


NEW_STORY = '\n[[story]]\nid = "late"\ntitle = "Late addition"\nkind = "other"\naction = ["Did it"]\n'


def test_edit_runs_the_editor_and_checks_the_result(tmp_path, cli):
    p = write_vault(tmp_path)
    editor = _editor(tmp_path, f"path.write_text(path.read_text() + {NEW_STORY!r})\n")
    r = cli("vault", "--vault", str(p), "edit", "--editor", editor)
    assert r.code == 0, r
    assert "5 stories, all valid" in " ".join(r.out.split())  # the path may wrap the line
    assert vault_format.load(p).story("late") is not None


def test_edit_that_breaks_the_file_keeps_the_text_aside(tmp_path, cli):
    p = write_vault(tmp_path)
    before = p.read_text()
    editor = _editor(tmp_path, "path.write_text(path.read_text().replace('kind = \"failure\"', "
                               "'kind = \"flop\"') + '# my new notes\\n')\n")
    r = cli("vault", "--vault", str(p), "edit", "--editor", editor, stdin="k\n")
    assert r.code == 1, r
    assert f"{p}:26: story 'churn-model-miss': unknown kind 'flop'" in r.err, r.err
    assert p.read_text() == before
    bak = p.with_name("vault.toml.bak")
    assert "kind = \"flop\"" in bak.read_text() and bak.read_text().endswith("# my new notes\n")
    assert stat.S_IMODE(bak.stat().st_mode) == 0o600
    # A second broken edit never overwrites the first kept text.
    r = cli("vault", "--vault", str(p), "edit", "--editor", editor, stdin="")  # no answer: keep aside
    assert r.code == 1 and p.with_name("vault.toml.bak.2").exists() and "flop" in bak.read_text()


def test_edit_reopens_the_editor_until_the_file_is_fixed(tmp_path, cli):
    p = write_vault(tmp_path)
    runs = tmp_path / "runs"
    editor = _editor(tmp_path, f"""
        runs = pathlib.Path({str(runs)!r})
        n = int(runs.read_text()) + 1 if runs.exists() else 1
        runs.write_text(str(n))
        text = path.read_text()
        if n == 1:
            path.write_text(text.replace('"ownership", "data-quality"', '"ownershp", "data-quality"'))
        else:
            path.write_text(text.replace('"ownershp"', '"ownership"'))
        """)
    r = cli("vault", "--vault", str(p), "edit", "--editor", editor, stdin="\n")
    assert r.code == 0, r
    assert runs.read_text() == "2" and "did you mean 'ownership'" in r.err
    assert vault_format.load(p).stories == vault_format.loads(VAULT_TOML).stories


def test_coverage_for_a_company(tmp_path, cli):
    p = write_vault(tmp_path)
    r = cli("vault", "--vault", str(p), "coverage", "--company", "doordash")
    assert r.code == 0, r
    lines = r.out.splitlines()
    row = next(ln for ln in lines if ln.startswith("Be an owner"))
    assert "only one" in row and "ghost-failures" in row
    row = next(ln for ln in lines if ln.startswith("Make room at the table"))
    assert "no story" in row
    assert "values have no story" in r.out and "--focus gaps" in r.out
    assert "Questions that probe DoorDash's values" in r.out
    assert "gen-002" in r.out
    gen002 = next(ln for ln in lines if ln.startswith("gen-002"))
    assert "churn-model-miss" in gen002, gen002
    assert "no story fits well" in r.out
    r = cli("vault", "--vault", str(p), "coverage", "--company", "nosuch")
    assert r.code == 2 and "unknown company" in r.err


# --------------------------------------------------------------------------- gap weights


LINK_ACTION = (" I moved quickly and did not wait for a perfect answer, because speed and urgency matter, "
               "and that bias for action is exactly what I would bring to your team.")


def _store_answers(root: Path, company, texts: list[str]):
    from starcoach.judge import analyse
    from starcoach.store.database import Store

    store = Store.open(root)
    sid = store.new_session("analyse", company=company.id)
    for i, text in enumerate(texts, start=1):
        aid = store.new_answer(sid, i, question="Tell me about a time you acted fast.", company=company.id,
                               status="recorded")
        store.save_analysis(aid, analyse(text, question="Tell me about a time you acted fast.", company=company))
    store.finish_session(sid)
    return store


def test_gap_weights_without_vault_or_sessions(tmp_path):
    from starcoach.vault.coverage import gap_weights

    dd = CATALOGUE.company("doordash")
    w = gap_weights(dd, None, None)
    assert set(w) == {v.id for v in dd.values} and len(set(w.values())) == 1
    from starcoach.store.database import Store

    with Store.open(tmp_path / "data") as store:
        assert gap_weights(dd, store, None) == w
    assert gap_weights(dd, None, vault_format.Vault()) == w


def test_gap_weights_use_the_loaded_vault_and_never_read_the_file(tmp_path):
    """The weighting takes the vault the session loaded (and reported on): it does not
    load the file again, so a file changed or broken since then changes nothing."""
    from starcoach.vault.coverage import gap_weights

    dd = CATALOGUE.company("doordash")
    p = write_vault(tmp_path)
    vault = vault_format.load(p, CATALOGUE.companies)
    before = gap_weights(dd, None, vault)
    p.write_text("[[story]\n")  # broken after loading: not read again, so no VaultError to swallow
    assert gap_weights(dd, None, vault) == before
    p.unlink()
    assert gap_weights(dd, None, vault) == before
    assert before != gap_weights(dd, None, None)


def test_linked_answers_compare_company_ids_in_lower_case(tmp_path):
    """Rows stored with 'DoorDash' (an older version, a hand-edited database) count for doordash,
    as history and progress count them."""
    from answers import STRONG
    from starcoach.judge import analyse
    from starcoach.store.database import Store
    from starcoach.vault.coverage import linked_answers

    dd = CATALOGUE.company("doordash")
    body = STRONG.rsplit(". ", 1)[0] + "."
    store = Store.open(tmp_path / "data")
    try:
        sid = store.new_session("analyse", company="DoorDash")
        aid = store.new_answer(sid, 1, question="Tell me about a time you acted fast.", company=None,
                               status="recorded")
        store.save_analysis(aid, analyse(body + LINK_ACTION, question="Tell me about a time you acted fast.",
                                         company=dd))
        aid = store.new_answer(sid, 2, question="Tell me about a time you acted fast.", company="DOORDASH",
                               status="recorded")
        store.save_analysis(aid, analyse(body + LINK_ACTION, question="Tell me about a time you acted fast.",
                                         company=dd))
        store.finish_session(sid)
        assert linked_answers(dd, store)["bias-for-action"] == 2
    finally:
        store.close()


def test_gap_weights_follow_the_vault_and_past_answers(tmp_path):
    from starcoach.catalogue.questions import choose_questions
    from starcoach.vault.coverage import gap_weights, linked_answers

    dd = CATALOGUE.company("doordash")
    p = write_vault(tmp_path)
    vault = vault_format.load(p, CATALOGUE.companies)
    w = gap_weights(dd, None, vault)
    # Explicitly mapped (one story) < inferred only < no story at all.
    assert w["be-an-owner"] < w["we-are-learners"] < w["make-room-at-the-table"]
    assert w["we-are-leaders"] < w["we-are-learners"]  # two inferred stories beat one

    from answers import STRONG

    body = STRONG.rsplit(". ", 1)[0] + "."
    store = _store_answers(tmp_path / "data", dd, [body + LINK_ACTION, body + LINK_ACTION])
    try:
        assert linked_answers(dd, store)["bias-for-action"] == 2
        w2 = gap_weights(dd, store, vault)
        assert w2["bias-for-action"] < w["bias-for-action"]
        assert w2["make-room-at-the-table"] == w["make-room-at-the-table"]
    finally:
        store.close()

    # The least covered values are asked about first.
    questions = [Question("q-room", "Tell me about a time you made sure quieter people were heard and "
                                    "included different perspectives.", ("teamwork",), "t"),
                 Question("q-owner", "Tell me about a time you took ownership end to end.", ("ownership",), "t")]
    import random

    first = choose_questions(questions, 1, company=dd, weights=w, rng=random.Random(1))[0][0]
    assert first.id == "q-room"


def test_coverage_counts_past_answers_that_linked_the_value(tmp_path, cli):
    from answers import STRONG

    dd = CATALOGUE.company("doordash")
    body = STRONG.rsplit(". ", 1)[0] + "."
    _store_answers(Path(os.environ["STARCOACH_HOME"]), dd, [body + LINK_ACTION, body + LINK_ACTION]).close()
    p = write_vault(tmp_path)
    r = cli("vault", "--vault", str(p), "coverage", "--company", "doordash")
    assert r.code == 0, r
    row = next(ln for ln in r.out.splitlines() if ln.startswith("Bias for action"))
    assert "no story" in row and " 2 " in row, row


def test_reanalyse_judges_with_the_vault_as_analyse_does(tmp_path, cli):
    import json
    import sqlite3

    from starcoach.store.database import DB_NAME

    data_vault().parent.mkdir(parents=True, exist_ok=True)
    write_vault(data_vault().parent)
    answer = tmp_path / "answer.txt"
    answer.write_text("At the delivery start-up I was the grocery analyst and about four percent of orders were "
                      "marked as failed deliveries. I pulled a month of raw app events and traced the failed "
                      "orders to drivers losing signal at the door. I wrote a query that reclassified those orders "
                      "from the GPS traces and walked the engineering lead through twenty examples. False "
                      "failures went down a lot and operations cancelled the retraining programme.\n")
    r = cli("analyse", str(answer), "--question", "Tell me about a time you found a problem nobody had noticed.",
            "--company", "doordash", "--json")
    assert r.code == 0, r
    told = [x for x in json.loads(r.out)["advice"] if x.startswith("You told your story 'Ghost failed deliveries'")]
    assert told, r.out
    db = data_vault().parent / DB_NAME
    with sqlite3.connect(db) as con:  # an analysis stored by an older version, without the story line
        (obj,) = [json.loads(row[0]) for row in con.execute("SELECT analysis FROM answers")]
        con.execute("UPDATE answers SET analysis = ?", (json.dumps({**obj, "advice": []}),))
    r = cli("reanalyse", "--all")
    assert r.code == 0, r
    with sqlite3.connect(db) as con:
        (advice,) = [json.loads(row[0])["advice"] for row in con.execute("SELECT analysis FROM answers")]
    assert told[0] in advice


def test_focus_gaps_names_the_values_its_questions_probe():
    import random

    from starcoach.catalogue.banks import load_catalogue
    from starcoach.catalogue.questions import choose_questions
    from starcoach.vault.coverage import gap_line

    cat = load_catalogue()
    company = cat.company("amazon")
    n = len(company.values)
    weights = {v.id: 1.0 for v in company.values}
    weights["frugality"] = weights["dive-deep"] = 6.0
    chosen = choose_questions(cat.questions, 3, company=company, weights=weights, rng=random.Random(1))
    line = gap_line(company, weights, chosen)
    assert line.startswith(f"Focus on gaps: 2 of Amazon's {n} values are covered least"), line
    assert line.endswith("these questions probe \u2018Frugality\u2019, \u2018Dive Deep\u2019.") or line.endswith(
        "these questions probe \u2018Dive Deep\u2019, \u2018Frugality\u2019."), line

    # Nothing covered yet: every value ties, and the line names only values the questions ask about.
    tied = {v.id: 6.0 for v in company.values}
    for seed in range(5):
        chosen = choose_questions(cat.questions, 3, company=company, weights=tied, rng=random.Random(seed))
        line = gap_line(company, tied, chosen)
        assert line.startswith(f"Focus on gaps: none of Amazon's {n} values has a story"), line
        probed = {v.name for _, vals in chosen for v in vals}
        named = set(re.findall("\u2018([^\u2019]+)\u2019", line))
        assert named and named <= probed, (line, probed)
