"""The shared-encoder stand-in for faster-whisper's model, with a fake model (fast, no Whisper)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

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


# --------------------------------------------------------------------------- the hesitation gate and the retry

EOT = 100
HESITATION = 7  # the token id standing for " um" here


def options(**changes):
    from faster_whisper.transcribe import TranscriptionOptions

    base = dict(beam_size=1, best_of=1, patience=1.0, length_penalty=1.0, repetition_penalty=1.0,
                no_repeat_ngram_size=5, log_prob_threshold=-1.0, no_speech_threshold=0.6,
                compression_ratio_threshold=2.4, condition_on_previous_text=True, prompt_reset_on_temperature=0.5,
                temperatures=[0.0], initial_prompt=None, prefix=None, suppress_blank=True, suppress_tokens=[-1],
                without_timestamps=False, max_initial_timestamp=1.0, word_timestamps=True,
                prepend_punctuations="", append_punctuations="", multilingual=False, max_new_tokens=None,
                clip_timestamps="0", hallucination_silence_threshold=None, hotwords=None)
    base.update(changes)
    return TranscriptionOptions(**base)


def step_logits(p_hesitation: float, vocab: int = 120):
    """Scores over the vocabulary for one decoding step, giving the hesitation token probability p."""
    import numpy as np

    rest = (1 - p_hesitation) / (vocab - 1)
    x = np.full(vocab, np.log(rest), dtype=np.float32)
    x[HESITATION] = np.log(p_hesitation)
    return x


class DecodingModel:
    """A stand-in for faster-whisper's WhisperModel whose CTranslate2 model decodes what it is told to."""

    time_precision = 0.02
    max_length = 448

    def __init__(self, steps_p: list[float], plain_tokens: int, prompted_tokens: list[int]):
        self.steps_p = steps_p
        self.plain_tokens = plain_tokens
        self.prompted_tokens = list(prompted_tokens)  # text tokens of each prompted decoding, in turn
        self.prompts: list[list[int]] = []
        self.model = SimpleNamespace(generate=self._generate)
        self.logger = SimpleNamespace(debug=lambda *a, **k: None)

    def _generate(self, encoder_output, prompts, return_logits_vocab=False, **kwargs):
        self.prompts.append(prompts[0])
        plain = len(self.prompts) == 1
        n = self.plain_tokens if plain else self.prompted_tokens.pop(0)
        result = SimpleNamespace(sequences=[["x"] * n], sequences_ids=[list(range(10, 10 + n)) + [EOT]],
                                 scores=[-0.1], no_speech_prob=0.01)
        if return_logits_vocab:
            result.logits = [[step_logits(p) for p in self.steps_p]]
        return [result]

    def generate_with_fallback(self, encoder_output, prompt, tokenizer, options):
        from faster_whisper import WhisperModel

        return WhisperModel.generate_with_fallback(self, encoder_output, prompt, tokenizer, options)


TOKENIZER = SimpleNamespace(eot=EOT, sot_prev=1, sot_sequence=[2], decode=lambda ids: "some words " * len(ids))


def test_the_probe_keeps_the_likeliest_hesitation_and_drops_the_scores() -> None:
    from starcoach.speech.shared_passes import _HesitationProbe

    m = DecodingModel([0.0001, 0.3, 0.02], plain_tokens=12, prompted_tokens=[])
    probe = _HesitationProbe(m.model, [HESITATION])
    (result,) = probe.generate("enc", [[2]])
    assert probe.most == pytest.approx(0.3, rel=1e-5)
    assert result.sequences_ids[0][-1] == EOT and not hasattr(result, "logits")


def test_a_window_where_no_hesitation_was_likely_is_decoded_once() -> None:
    m = DecodingModel([0.0001, 0.0004], plain_tokens=30, prompted_tokens=[35])
    shared = SharedPasses(m, TOKENIZER, [50, 51], gate=0.001, hesitation_ids=[HESITATION])
    result, *_ = shared.generate_with_fallback("enc", [2], TOKENIZER, options())
    assert len(result.sequences_ids[0]) == 31
    assert m.prompts == [[2]] and shared._pending is None and shared.gated == 1


def test_a_window_where_a_hesitation_was_likely_gets_the_prompted_decoding() -> None:
    m = DecodingModel([0.0001, 0.2], plain_tokens=30, prompted_tokens=[35])
    shared = SharedPasses(m, TOKENIZER, [50, 51], gate=0.001, hesitation_ids=[HESITATION])
    shared.generate_with_fallback("enc", [2], TOKENIZER, options())
    assert m.prompts == [[2], [1, 50, 51, 2]]
    assert len(shared._pending.sequences_ids[0]) == 36 and shared.gated == 0


@pytest.mark.parametrize("retry_tokens, kept", [(28, 28), (2, 4)])
def test_a_prompted_decoding_cut_short_is_decoded_again_with_the_short_prompt(retry_tokens: int, kept: int) -> None:
    m = DecodingModel([0.2], plain_tokens=30, prompted_tokens=[4, retry_tokens])
    shared = SharedPasses(m, TOKENIZER, [50, 51], gate=0.001, hesitation_ids=[HESITATION], retry_tokens=[60])
    shared.generate_with_fallback("enc", [2], TOKENIZER, options())
    assert m.prompts == [[2], [1, 50, 51, 2], [1, 60, 2]] and shared.retried == 1
    assert len(shared._pending.sequences_ids[0]) == kept + 1  # the longer of the two, with its end token


def test_a_full_prompted_decoding_is_not_decoded_again() -> None:
    m = DecodingModel([0.2], plain_tokens=30, prompted_tokens=[19])
    shared = SharedPasses(m, TOKENIZER, [50, 51], gate=0.001, hesitation_ids=[HESITATION], retry_tokens=[60])
    shared.generate_with_fallback("enc", [2], TOKENIZER, options())
    assert len(m.prompts) == 2 and shared.retried == 0


def test_a_redone_window_replaces_the_words_that_start_at_its_first_millisecond() -> None:
    # A window's start mapped back to the recording carries float noise (0.020000000000000018 s);
    # word times are kept in ms (0.02 s).  Compared unrounded, the first word stayed beside its
    # redone copy ("Umm, Umm,": one filler too many, seen on a Piper answer).
    from starcoach.model import Word
    from starcoach.speech.wordtimes import words_outside

    words = [Word("Umm,", 0.02, 0.68, 0.2), Word("so", 0.9, 0.96, 0.9), Word("later", 5.0, 5.2, 0.9)]
    start = 0.1 - 0.08  # 0.020000000000000004: not 0.02
    assert start != 0.02
    assert [w.text for w in words_outside(words, start, 5.0)] == ["later"]
    assert [w.text for w in words_outside(words, start, 4.9999999)] == ["later"]
    assert [w.text for w in words_outside(words, 0.5, 1.0)] == ["Umm,", "later"]
