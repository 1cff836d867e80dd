"""LiveTranscriber with a fake Whisper: speculation on the tail, adoption, bounded backlog (no model, fast)."""

from __future__ import annotations

import threading
import time

import numpy as np

import starcoach.speech.streaming as streaming
from starcoach.model import Span, Transcript, Word
from starcoach.speech.streaming import LiveTranscriber

RATE = 16000
BLOCK_S = 0.1


class FakeWhisper:
    """One word per stretch of sound; records every call; can be held until released."""

    def __init__(self, hold_first: bool = False):
        self.calls: list[dict] = []
        self.gate = threading.Event()
        if not hold_first:
            self.gate.set()
        self.finishing = False
        self.started = threading.Event()

    def transcribe(self, audio: np.ndarray, *, passes=None) -> Transcript:
        self.calls.append({"seconds": audio.size / RATE, "passes": passes, "after_finish": self.finishing})
        self.started.set()
        if len(self.calls) == 1:
            self.gate.wait(10)
        loud = np.abs(audio) > 0.01
        words, spans, start = [], [], None
        for i in range(0, audio.size, 160):
            on = bool(loud[i:i + 160].any())
            if on and start is None:
                start = i
            if not on and start is not None:
                spans.append(Span(start / RATE, i / RATE))
                start = None
        if start is not None:
            spans.append(Span(start / RATE, audio.size / RATE))
        for k, s in enumerate(spans):
            words.append(Word(f"w{len(self.calls)}.{k}", s.start_s, s.end_s))
        return Transcript(text=" ".join(w.text for w in words), words=tuple(words),
                          duration_s=audio.size / RATE, speech=tuple(spans))


def speech(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def feed(live: LiveTranscriber, audio: np.ndarray) -> None:
    step = int(BLOCK_S * RATE)
    for i in range(0, audio.size, step):
        live.feed(audio[i:i + step])


def wait_for(predicate, timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < end, "timed out waiting"
        time.sleep(0.005)


def idle(live: LiveTranscriber) -> bool:
    with live._cv:
        return not live._jobs and not live._busy


def test_enter_after_a_short_pause_needs_no_new_transcription() -> None:
    fake = FakeWhisper()
    live = LiveTranscriber(fake)
    feed(live, np.concatenate([speech(3.0), silence(0.4)]))  # too short a pause to cut a chunk
    wait_for(lambda: idle(live) and fake.calls)
    fake.finishing = True
    t = live.finish()  # Enter
    assert [c["after_finish"] for c in fake.calls] == [False]  # the speculation was the answer
    assert len(t.words) == 1 and t.words[0].start_s == 0.0
    assert [x.kind for x in live.timings] == ["speculative"]


def test_speech_after_the_speculation_is_heard_again() -> None:
    fake = FakeWhisper()
    live = LiveTranscriber(fake)
    feed(live, np.concatenate([speech(2.0), silence(0.4)]))
    wait_for(lambda: idle(live) and fake.calls)
    feed(live, speech(1.0))  # the candidate goes on: the speculation is out of date
    fake.finishing = True
    t = live.finish()
    assert len(fake.calls) == 2 and fake.calls[-1]["after_finish"]
    assert fake.calls[-1]["seconds"] >= 3.3  # the whole tail again, from the last cut
    assert [w.text for w in t.words] == ["w2.0", "w2.1"]


def test_a_chunk_cut_after_a_pause_adopts_the_speculation() -> None:
    fake = FakeWhisper()
    live = LiveTranscriber(fake)
    feed(live, np.concatenate([speech(3.0), silence(0.3)]))
    wait_for(lambda: idle(live) and fake.calls)
    feed(live, silence(0.7))  # now the chunk is cut at the pause
    assert live.pending_s < 1.0
    feed(live, np.concatenate([speech(2.0), silence(3.0)]))
    t = live.finish()
    # One call per stretch of speech: the cut chunk was not transcribed again.
    assert len(fake.calls) == 2
    assert [round(w.start_s, 1) for w in t.words] == [0.0, 4.0]


def test_backlog_is_merged_and_the_last_job_single_pass_when_behind() -> None:
    fake = FakeWhisper(hold_first=True)  # the machine is busy: the first job takes "forever"
    live = LiveTranscriber(fake, speculate=False)
    feed(live, np.concatenate([speech(4.5), silence(0.8)]))  # four chunks, each cut at its pause
    wait_for(lambda: fake.started.is_set())  # the first is being transcribed alone, the rest wait behind it
    for _ in range(3):
        feed(live, np.concatenate([speech(4.5), silence(0.8)]))
    feed(live, speech(1.0))
    done: dict = {}
    finisher = threading.Thread(target=lambda: done.setdefault("t", live.finish()))
    finisher.start()
    wait_for(lambda: live._closing)
    fake.gate.set()
    finisher.join(10)
    t = done["t"]
    assert len(fake.calls) == 2  # the held chunk, then everything that waited, as one job
    assert fake.calls[1]["passes"] == 1 and fake.calls[1]["seconds"] >= 4 * 5.3 - 5.3 + 1.0 - 0.1
    assert len(t.words) == 5
    note = live.degradation()
    assert note is not None and "one pass" in note and "together" in note


def test_a_job_that_waited_too_long_gets_a_single_pass(monkeypatch) -> None:
    monkeypatch.setattr(streaming, "SINGLE_PASS_AFTER_S", 0.0)
    fake = FakeWhisper()
    live = LiveTranscriber(fake, speculate=False)
    feed(live, np.concatenate([speech(3.0), silence(3.0)]))
    live.finish()
    assert [c["passes"] for c in fake.calls] == [1]
    assert "one pass" in (live.degradation() or "")


def test_nothing_degraded_on_an_idle_machine() -> None:
    fake = FakeWhisper()
    live = LiveTranscriber(fake)
    for _ in range(3):
        feed(live, np.concatenate([speech(3.0), silence(1.0)]))
        wait_for(lambda: idle(live))
    live.finish()
    assert all(c["passes"] is None for c in fake.calls)
    assert live.degradation() is None


def test_a_transcriber_without_passes_still_works() -> None:
    class Plain:
        def __init__(self):
            self.inner = FakeWhisper()

        def transcribe(self, audio):
            return self.inner.transcribe(audio)

    monkey = Plain()
    live = LiveTranscriber(monkey)
    streaming_single = streaming.SINGLE_PASS_AFTER_S
    try:
        streaming.SINGLE_PASS_AFTER_S = 0.0
        feed(live, np.concatenate([speech(2.0), silence(3.0)]))
        t = live.finish()
    finally:
        streaming.SINGLE_PASS_AFTER_S = streaming_single
    assert len(t.words) == 1
    assert live.degradation() is None  # could not degrade, so it did not claim to
