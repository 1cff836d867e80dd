"""Answers written for the unit tests (the labelled sets live in data/)."""

QUESTION = "Tell me about a time you fixed a problem that wasn't your responsibility."

STRONG = (
    "So you'd like to hear about a time I picked up a problem that technically belonged to someone else? "
    "Last spring I was the analyst on the grocery team at a delivery start-up. "
    "While building a weekly dashboard I noticed that about six percent of orders were flagged as failed "
    "even though nobody had asked for a refund. "
    "My job was only the dashboard, but I knew those numbers would send the operations team chasing "
    "the wrong drivers, so I wanted to find the cause before I published anything. "
    "I pulled a month of raw app events and traced the failed orders to drivers who lost signal at the door. "
    "I wrote a query that reclassified those orders from their GPS traces, "
    "and then I walked the engineering lead through twenty examples. "
    "They fixed the app in the next sprint and the failure rate fell from six to two percent, "
    "which stopped a retraining programme that would have cost about forty thousand dollars. "
    "I'd rather chase a root cause than ship a number I don't trust, because I own the decisions my data drives."
)

LESSON_ENDING = STRONG.rsplit(". ", 1)[0] + ". I learned that it is always important to double-check the data."

VERBATIM = QUESTION + " " + STRONG.split("? ", 1)[1]

WE_ONLY = (
    "Sure, you want to know about a time we took on work outside our remit. "
    "Last year our analytics group supported the marketing team at a retailer. "
    "The campaign dashboard showed conversion falling for three weeks and nobody knew why. "
    "We dug into the tracking events and we found a broken tag on the checkout page. "
    "We rebuilt the tracking plan and we added automated tests to the release pipeline. "
    "Conversion reporting was back to normal within a week and the tests have caught four broken tags since. "
    "That is the kind of ownership I would bring to your team."
)

HYPOTHETICAL = (
    "If a problem wasn't my responsibility, I would first talk to whoever owns it. "
    "I usually try to understand the impact before doing anything. "
    "Then I would write up what I found and I'd offer to help fix it. "
    "I always think it's important to follow through."
)

NO_COMPANY_TIE = (
    "You're asking about a time I took on something outside my job. "
    "At my last job I was a data engineer supporting the finance team. "
    "Our nightly revenue load kept failing and the owner had left the company. "
    "I needed to keep month-end reporting on schedule. "
    "I read through the old scripts, I rewrote the load in dbt and I added alerting. "
    "The load has not failed since and month-end closes two days earlier. "
    "That's the kind of ownership I'd bring to this role."
)

STT = (
    "um so yeah you want to hear about a time i fixed something that wasnt my job so last year i was "
    "working as an analyst at a logistics company and there was this problem where the weekly report "
    "showed way too many late deliveries my task was just to build the report but i needed the numbers "
    "to be right so i dug into the raw scans and i found that one depot uploaded its scans a day late "
    "i wrote a fix to use the scan time instead of the upload time and i showed it to the depot manager "
    "in the end late deliveries went from twelve percent to four percent and the ops team stopped a "
    "review they had planned and honestly that's why ownership matters so much to me i own the numbers "
    "i publish"
)
