"""The cues shown while an answer is recorded: words so far, fillers, recent pace, the parts heard."""

from __future__ import annotations

import threading

import numpy as np

from fakes import RATE_HZ, FakeTranscriber, spoken
from starcoach.model import Word
from starcoach.pipeline.live import PACE_MIN_S, CueTracker, live_cues, recent_wpm
from starcoach.speech.streaming import LiveTranscriber
from starcoach.views.practice import cues_view


def timed(text: str, start_s: float = 0.0, step_s: float = 0.4) -> list[Word]:
    return [Word(w, start_s + k * step_s, start_s + k * step_s + 0.3) for k, w in enumerate(text.split())]


def test_pace_is_over_the_last_thirty_seconds_only():
    slow = timed(" ".join(["slow"] * 20), 0.0, 2.0)  # 30 words a minute for 40 s
    fast = timed(" ".join(["fast"] * 75), 40.0, 0.4)  # then 150 words a minute for 30 s
    wpm = recent_wpm(slow + fast)
    # The window is the last 30 s: the fast words, and none of the slow ones.
    assert 140 <= wpm <= 155, wpm
    assert recent_wpm(slow) == 15 / 0.5  # 8.3-38.3 s: the 15 words starting in it
    assert recent_wpm(timed("too few words", 0.0, 0.4)) is None  # under PACE_MIN_S of speech
    assert recent_wpm([]) is None and PACE_MIN_S > 1.0


def test_cues_count_words_and_fillers_and_name_the_parts_heard():
    text = ("Last year I was a support lead at a small bank, um, and our refunds took two weeks. My job was to "
            "get them under three days. So I rewrote the refund script and, like, tested it with the finance team.")
    cues = live_cues(timed(text))
    assert cues.words == len(text.split())
    assert cues.fillers == 2  # "um" and the filler "like"
    assert cues.parts == ("situation", "task", "action")  # no result yet, no link back
    shown = cues_view(cues).plain
    assert f"{cues.words} words" in shown and "2 fillers" in shown and "wpm (last 30 s)" in shown
    assert "heard: R S T A R L (Situation, Task, Action)" in shown
    assert "after your first pause" in cues_view(None).plain


def test_the_tracker_judges_again_only_when_words_arrive():
    words: list[Word] = []
    calls = []
    tracker = CueTracker(lambda: tuple(words))
    assert tracker.current() is None
    words.extend(timed("I led the migration of our billing system last spring."))
    import starcoach.pipeline.live as live

    real = live.live_cues
    live.live_cues = lambda w, **k: calls.append(len(w)) or real(w, **k)
    try:
        first = tracker.current()
        assert tracker.current() is first and calls == [len(words)]
        words.extend(timed("We cut the run time by half.", 10.0))
        assert tracker.current().words == len(words) and calls == [10, 17]
    finally:
        live.live_cues = real


def test_the_live_transcriber_hands_out_the_words_of_finished_chunks():
    script = "I set up the alerts first. Then I moved the jobs to the new queue and it held."
    tx = FakeTranscriber(script)
    live = LiveTranscriber(tx, speculate=False, min_chunk_s=1.0)
    audio = spoken(script, pauses={5: 1.0})
    half = audio.size // 2  # inside the 1 s pause after "first."
    try:
        assert live.words_so_far() == ()
        for i in range(0, half, RATE_HZ // 10):
            live.feed(audio[i:min(half, i + RATE_HZ // 10)])
        # The chunk cut at the pause is transcribed while the answer goes on.
        deadline = threading.Event()
        for _ in range(100):
            if live.words_so_far():
                break
            deadline.wait(0.02)
        assert [w.text for w in live.words_so_far()] == script.split()[:6]
        live.feed(audio[half:])
        final = live.finish()
    finally:
        live.cancel()
    words = live.words_so_far()
    assert [w.text for w in words] == script.split() == [w.text for w in final.words]
    assert np.all(np.diff([w.start_s for w in words]) > 0)
