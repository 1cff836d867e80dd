"""One encoder run per Whisper window, feeding both decodings (without and with the disfluency prompt).

The "dual" strategy needs two decodings of every window: one without a
prompt (the words) and one with a prompt full of hesitations (the "um"s).
Run as two transcriptions they cost two spectrograms and two encoder runs;
here faster-whisper's own loop runs once, and each window's encoder output
is decoded a second time with the prompt (docs/audio.md has the figures).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Optional, Sequence

from starcoach.speech.memory import release_freed_memory

__all__ = ["MIN_LEFTOVER_S", "SharedPasses"]

#: A Whisper window holding less audio than this after the last word (the
#: padding we add after speech) is not decoded.
MIN_LEFTOVER_S = 0.5


class SharedPasses:
    """faster-whisper's WhisperModel, seen by its own ``transcribe`` loop, with a second prompt.

    ``WhisperModel.transcribe(shared, ...)`` runs faster-whisper's loop with
    this object as the model: every attribute is the real model's, except
    that each window's decoding also decodes the disfluency prompt against
    the same encoder output, and the word alignment of each window covers
    both decodings in one batch.
    """

    def __init__(self, model, tokenizer, prompt_tokens: Optional[list[int]], *, gate: float = 0.0,
                 hesitation_ids: Sequence[int] = (), retry_tokens: Optional[list[int]] = None):
        self._m = model
        self._tk = tokenizer
        self._prompt = None if prompt_tokens is None else [tokenizer.sot_prev, *prompt_tokens,
                                                            *tokenizer.sot_sequence]
        #: A prompted decoding cut short is decoded again with this prompt (None: never).
        self._retry = None if prompt_tokens is None or retry_tokens is None else [
            tokenizer.sot_prev, *retry_tokens, *tokenizer.sot_sequence]
        self.retried = 0
        #: The prompted decoding runs only in windows where the unprompted one gave a hesitation
        #: (one of ``hesitation_ids``) at least this probability at some step; 0: in every window.
        self._gate = gate if self._prompt is not None and hesitation_ids else 0.0
        self._probe = _HesitationProbe(model.model, hesitation_ids) if self._gate else None
        self.gated = 0  # windows whose prompted decoding was left out
        self._pending = None  # the prompted result of the window being decoded
        self._prompted_here = False
        self._content_frames = 0
        self._single_ending = False
        self._skip_next = False  # the next window is only the padding after the last word
        self._skipping = False
        self.skipped = 0
        #: (window start s, raw prompted words, whether the prompted decoding ran) per window, in order
        self._windows: list[tuple[float, list[tuple[str, float, float, float]], bool]] = []

    def __getattr__(self, name):
        if name == "model" and self.__dict__.get("_probe") is not None:
            return self._probe  # faster-whisper's generate_with_fallback decodes through it
        return getattr(self._m, name)

    def generate_segments(self, features, *args, **kwargs):
        from faster_whisper import WhisperModel

        self._content_frames = features.shape[-1] - 1
        return WhisperModel.generate_segments(self, features, *args, **kwargs)

    def encode(self, features):
        # faster-whisper decodes another window whenever the last word ends before
        # the audio does; after our own trimming that is the 0.3 s of padding, a
        # whole encoder run and decoding for nothing.  Such a window is skipped.
        if self._skip_next and self._last_encoded is not None:
            self._skip_next, self._skipping = False, True
            self.skipped += 1
            return self._last_encoded
        self._skipping = False
        self._last_encoded = self._m.encode(features)
        return self._last_encoded

    _last_encoded = None

    def _split_segments_by_timestamps(self, *args, **kwargs):
        out = self._m._split_segments_by_timestamps(*args, **kwargs)
        self._single_ending = out[2]
        return out

    def generate_with_fallback(self, encoder_output, prompt, tokenizer, options):
        if self._skipping:  # seen by faster-whisper as "no speech here": it moves past the window
            return SimpleNamespace(no_speech_prob=1.0, sequences_ids=[[]]), -10.0, 0.0, 1.0
        if self._probe is not None:
            from faster_whisper import WhisperModel

            self._probe.most = 0.0
            result = WhisperModel.generate_with_fallback(self, encoder_output, prompt, tokenizer, options)
            wanted = self._probe.most >= self._gate
            self.gated += not wanted
        else:
            result = self._m.generate_with_fallback(encoder_output, prompt, tokenizer, options)
            wanted = self._prompt is not None
        self._pending = None
        self._prompted_here = wanted
        if wanted:
            self._pending = self._decode(encoder_output, self._prompt, options)
            if self._retry is not None and _cut_short(self._pending, result[0], tokenizer.eot):
                # The prompted decoding stopped early (it wrote a few hesitations of its own and
                # ended): decoded again with the short prompt, against the same encoder output.
                again = self._decode(encoder_output, self._retry, options)
                self.retried += 1
                if _text_tokens(again, tokenizer.eot) > _text_tokens(self._pending, tokenizer.eot):
                    self._pending = again
        return result

    def _decode(self, encoder_output, prompt: list[int], options):
        max_initial = int(round(options.max_initial_timestamp / self._m.time_precision))
        return self._m.model.generate(
            encoder_output, [prompt], beam_size=options.beam_size, patience=options.patience,
            length_penalty=options.length_penalty, repetition_penalty=options.repetition_penalty,
            no_repeat_ngram_size=options.no_repeat_ngram_size, max_length=self._m.max_length,
            return_scores=True, return_no_speech_prob=True, suppress_blank=options.suppress_blank,
            suppress_tokens=options.suppress_tokens, max_initial_timestamp_index=max_initial,
        )[0]

    def add_word_timestamps(self, segments, tokenizer, encoder_output, num_frames, prepend, append,
                            last_speech_timestamp):
        import ctranslate2
        import numpy as np

        pending, self._pending = self._pending, None
        seek = segments[0][0]["seek"] if segments and segments[0] else 0
        offset = seek * self._m.feature_extractor.time_per_frame
        prompted = []
        if pending is not None:
            tokens = pending.sequences_ids[0]
            avg_logprob = pending.scores[0] * len(tokens) / (len(tokens) + 1)
            if not (pending.no_speech_prob > 0.6 and avg_logprob < -1.0) and any(t < tokenizer.eot for t in tokens):
                prompted, _, _ = self._m._split_segments_by_timestamps(
                    tokenizer=tokenizer, tokens=tokens, time_offset=offset, segment_size=num_frames,
                    segment_duration=num_frames * self._m.feature_extractor.time_per_frame, seek=seek)
        has_text = bool(segments and any(t < tokenizer.eot for seg in segments[0] for t in seg["tokens"]))
        if prompted and has_text:
            both = ctranslate2.StorageView.from_array(np.repeat(np.asarray(encoder_output), 2, axis=0))
            out = self._m.add_word_timestamps([segments[0], prompted], tokenizer, both, num_frames, prepend,
                                              append, last_speech_timestamp)
        else:
            out = self._m.add_word_timestamps(segments, tokenizer, encoder_output, num_frames, prepend, append,
                                              last_speech_timestamp)
            if prompted:
                self._m.add_word_timestamps([prompted], tokenizer, encoder_output, num_frames, prepend, append,
                                            last_speech_timestamp)
        words = [(w["word"], float(w["start"]), float(w["end"]), float(w["probability"]))
                 for seg in prompted for w in seg.get("words", ())
                 if seg["start"] != seg["end"] and tokenizer.decode(seg["tokens"]).strip()]
        self._windows.append((offset, words, self._prompted_here))
        # Where faster-whisper will start the next window, and how much audio it would hold.
        fps = self._m.frames_per_second
        ends = [w["end"] for seg in segments[0] for w in seg.get("words", ())] if segments else []
        nxt = seek + num_frames
        if not self._single_ending and ends and max(ends) > offset:
            nxt = round(max(ends) * fps)
        left = self._content_frames - nxt
        self._skip_next = 0 < left < MIN_LEFTOVER_S * fps
        return out

    def window_starts(self) -> list[float]:
        """Where each window decoded so far starts, in the joined audio."""
        return [start for start, _, _ in self._windows]

    def prompted_windows(self) -> list[bool]:
        """Per window decoded so far, whether its prompted decoding ran (False: left out by the gate)."""
        return [ran for _, _, ran in self._windows]

    def prompted_words(self) -> list[tuple[str, float, float, float]]:
        """The prompted words of every window, each window's up to where the next one starts."""
        out = []
        for k, (start, words, _) in enumerate(self._windows):
            end = self._windows[k + 1][0] if k + 1 < len(self._windows) else float("inf")
            out += [w for w in words if start <= w[1] < end]
        return out


#: A prompted decoding is cut short when it has fewer than this share of the unprompted
#: decoding's text tokens (which had at least CUT_SHORT_MIN_TOKENS).
CUT_SHORT_SHARE = 0.6
CUT_SHORT_MIN_TOKENS = 10


def _text_tokens(result, eot: int) -> int:
    return sum(1 for t in result.sequences_ids[0] if t < eot)


def _cut_short(prompted, plain, eot: int) -> bool:
    n_plain = _text_tokens(plain, eot)
    return n_plain >= CUT_SHORT_MIN_TOKENS and _text_tokens(prompted, eot) < CUT_SHORT_SHARE * n_plain


class _HesitationProbe:
    """The CTranslate2 model, whose ``generate`` also notes how likely a hesitation was at any step.

    Asks for the decoder's scores over the vocabulary at every step (which does
    not change what is decoded) and keeps the largest probability the
    hesitation tokens had together at one step, in ``most``.
    """

    def __init__(self, model, hesitation_ids: Sequence[int]):
        self._m = model
        self._ids = list(hesitation_ids)
        self.most = 0.0

    def __getattr__(self, name):
        return getattr(self._m, name)

    def generate(self, *args, **kwargs):
        import numpy as np

        results = self._m.generate(*args, return_logits_vocab=True, **kwargs)
        first = results[0]
        for step in first.logits[0]:
            x = np.asarray(step)
            top = x.max()
            p = float(np.exp(x[self._ids] - top).sum() / np.exp(x - top).sum())
            self.most = max(self.most, p)
        # What faster-whisper reads of a result, without the scores over the vocabulary (200 KB a step).
        kept = SimpleNamespace(sequences=first.sequences, sequences_ids=first.sequences_ids, scores=first.scores,
                               no_speech_prob=first.no_speech_prob)
        del results, first
        release_freed_memory()  # they were freed just now, after the whole decoding held them
        return [kept]
