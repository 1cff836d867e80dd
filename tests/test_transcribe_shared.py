"""The shared-encoder stand-in for faster-whisper's model, with a fake model (fast, no Whisper)."""

from __future__ import annotations

from types import SimpleNamespace

from starcoach.speech.shared_passes import SharedPasses


class FakeModel:
    frames_per_second = 100
    time_precision = 0.02
    max_length = 448

    def __init__(self):
        self.feature_extractor = SimpleNamespace(time_per_frame=0.01)
        self.encoded = 0
        self.model = SimpleNamespace(generate=self._generate)
        self.generated = 0

    def encode(self, features):
        self.encoded += 1
        return f"enc{self.encoded}"

    def _generate(self, *a, **k):
        self.generated += 1
        return [SimpleNamespace(sequences_ids=[[1, 2]], scores=[-0.1], no_speech_prob=0.0)]

    def generate_with_fallback(self, encoder_output, prompt, tokenizer, options):
        self.generated += 1
        return SimpleNamespace(no_speech_prob=0.0, sequences_ids=[[1]]), -0.1, 0.0, 1.0

    def _split_segments_by_timestamps(self, **k):
        return [], 0, False

    def add_word_timestamps(self, segments, *a, **k):
        for seg in segments[0]:
            seg["words"] = [{"word": " done", "start": 27.0, "end": 29.7, "probability": 0.9}]
        return 29.7


def window(seek_frames: int, n_frames: int) -> list[list[dict]]:
    return [[{"seek": seek_frames, "start": seek_frames / 100, "end": 29.7, "tokens": [5]}]]


def test_a_window_of_only_the_padding_after_the_last_word_is_not_decoded() -> None:
    m = FakeModel()
    shared = SharedPasses(m, SimpleNamespace(eot=100, sot_prev=1, sot_sequence=[2]), None)
    shared._content_frames = 3010  # 30.1 s of audio: 0.4 s after the last word's end at 29.7 s
    assert shared.encode("features") == "enc1"
    shared.add_word_timestamps(window(0, 3000), SimpleNamespace(eot=100, decode=lambda t: "x"), "enc1",
                               3000, "", "", 0.0)
    assert shared._skip_next
    assert shared.encode("features of the leftover") == "enc1"  # no second encoder run
    result, avg_logprob, _, _ = shared.generate_with_fallback("enc1", [2], None, None)
    assert result.no_speech_prob == 1.0 and avg_logprob < -1.0  # faster-whisper moves past it
    assert m.encoded == 1 and m.generated == 0 and shared.skipped == 1


def test_a_window_with_real_audio_left_is_decoded() -> None:
    m = FakeModel()
    shared = SharedPasses(m, SimpleNamespace(eot=100, sot_prev=1, sot_sequence=[2]), None)
    shared._content_frames = 4500  # 15 s more after the last word
    shared.encode("features")
    shared.add_word_timestamps(window(0, 3000), SimpleNamespace(eot=100, decode=lambda t: "x"), "enc1",
                               3000, "", "", 0.0)
    assert not shared._skip_next
    assert shared.encode("next window") == "enc2"
