#!/usr/bin/env bash
# Regenerates examples/: a spoken example answer (espeak-ng) and its text, used by
# the no-microphone demo (./run.sh on a machine without a microphone) and the docs.
set -euo pipefail
cd "$(dirname "$0")/../examples"
QUESTION="Tell me about a time you fixed a problem that was not your responsibility."
cat > answer.json <<JSON
{"question": "$QUESTION", "company": "doordash"}
JSON
SSML='<speak>So, um, you would like to hear about a time I picked up a problem that technically belonged to another team?
<break time="600ms"/> Last spring I was the analyst on the grocery team at a delivery start up.
While I was building a weekly dashboard, I noticed that about six percent of orders were flagged as failed, even though nobody had asked for a refund.
<break time="1200ms"/> My job was only the dashboard, but I knew those numbers would send the operations team chasing the wrong drivers, so I wanted to find the cause before I published anything.
I pulled a month of raw app events, and I traced the failed orders to drivers who lost signal at the door.
Then I wrote a query that reclassified those orders from their GPS traces, and I walked the engineering lead through twenty examples.
<break time="1500ms"/> They fixed the app in the next sprint, and the failure rate fell from six percent to two percent, which, you know, stopped a retraining program that would have cost about forty thousand dollars.
I would rather chase a root cause than ship a number I do not trust, because I own the decisions my data drives.</speak>'
espeak-ng -m -s 150 -w /tmp/starcoach-example.wav "$SSML"
sox /tmp/starcoach-example.wav -r 16000 -c 1 answer.ogg vol 0.9
rm -f /tmp/starcoach-example.wav
echo "$SSML" | sed -e 's/<[^>]*>//g' | tr -s ' \n' ' ' | sed 's/^ //; s/ $//' > answer-transcript.txt
echo >> answer-transcript.txt

# The reply to the demo's follow-up question (for this answer the interviewer probes a strong
# answer: "Looking back, what would you do differently if it happened again?").
FOLLOW_SSML='<speak>Looking back, I would have gone to the engineering lead on the first day instead of a week later.
<break time="800ms"/> I spent five days proving the cause on my own, and the wrong numbers kept reaching the operations team while I did.
Next time I would share a rough finding early, say how sure I was, and check it with the people who own the app.</speak>'
espeak-ng -m -s 150 -w /tmp/starcoach-follow-up.wav "$FOLLOW_SSML"
sox /tmp/starcoach-follow-up.wav -r 16000 -c 1 follow-up.ogg vol 0.9
rm -f /tmp/starcoach-follow-up.wav
echo "$FOLLOW_SSML" | sed -e 's/<[^>]*>//g' | tr -s ' \n' ' ' | sed 's/^ //; s/ $//' > follow-up-transcript.txt
echo >> follow-up-transcript.txt
cat > follow-up.json <<JSON
{"question": "Looking back, what would you do differently if it happened again?", "company": "doordash"}
JSON
