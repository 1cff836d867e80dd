"""Local speech-to-text: audio in, a :class:`~starcoach.model.Transcript` out.

Nothing of faster-whisper's types leaves here: callers get
``starcoach.model`` Words, Spans and Transcripts.  The model is found and
loaded, offline, by :mod:`starcoach.speech.whisper_model`.

How a recording is transcribed (measurements in docs/audio.md):

1. Audio arrives as a stream of blocks (:func:`starcoach.speech.decode.iter_audio_chunks`)
   and is cut into windows of about ``WINDOW_S`` (:mod:`starcoach.speech.windows`),
   each cut placed in a silence found by the VAD, so memory is bounded for an hour-long file and
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
   and one encoder run per 30 s Whisper window
   (:class:`starcoach.speech.shared_passes.SharedPasses`).
   Measured: same content accuracy as no prompt, nearly all fillers; in one
   process about 1.5-1.6 x a bare greedy faster-whisper run (docs/audio.md).
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Iterable, Optional, Sequence, Union

from starcoach.model import Span, Transcript, Word
from starcoach.speech.decode import SAMPLE_RATE_HZ, iter_audio_chunks
from starcoach.speech.level import at_working_level
from starcoach.speech.memory import release_freed_memory
from starcoach.speech.shared_passes import SharedPasses
from starcoach.speech.vad import speech_spans
from starcoach.speech.whisper_model import TranscriptionError, load_whisper, resolve_model
from starcoach.speech.windows import windows
from starcoach.speech.wordtimes import (
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
    words_outside,
)
from starcoach.text import first_line

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = [
    "DEFAULT_PROMPT_STRATEGY", "DISFLUENCY_PROMPT", "PROMPT_STRATEGIES", "WhisperTranscriber",
]

log = logging.getLogger(__name__)

#: Written like an answer full of hesitations: Whisper copies the prompt's
#: style, so it keeps "um" and "uh" instead of tidying them away.
DISFLUENCY_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking. Uh, so, um, yeah."

#: A shorter prompt, for a prompted decoding that stopped after a few words of its own.
RETRY_PROMPT = "Um, uh, hmm."

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

#: The prompted decoding of a window runs only if, at some step of the
#: unprompted one, the hesitation tokens together had at least this
#: probability (0: in every window).
DEFAULT_HESITATION_GATE = 0.001

#: Spellings whose single token counts for the gate (with a space before, and capitalised).
HESITATION_SPELLINGS = ("um", "uh", "umm", "uhm", "hmm", "erm")

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

# --------------------------------------------------------------------------- the transcriber


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
        hesitation_gate: float = DEFAULT_HESITATION_GATE,
        retry_prompt: Optional[str] = RETRY_PROMPT,
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
        #: windows whose prompted decoding the gate left out (for the benchmarks)
        self.gated = 0
        #: windows of quiet speech raised to a working level (``level.at_working_level``)
        self.raised = 0
        #: windows whose prompted decoding was cut short and decoded again with ``retry_prompt``
        self.retried = 0
        self.retry_prompt = retry_prompt
        self.hesitation_gate = hesitation_gate
        self._tk = None
        self._prompt_ids: Optional[list[int]] = None
        self._hesitation_ids: Optional[list[int]] = None
        self._retry_ids: Optional[list[int]] = None
        t0 = time.perf_counter()
        self._model = load_whisper(self.model_path, self.cpu_threads)
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

        Raises :class:`starcoach.speech.decode.AudioError` for files that are not usable audio.
        """
        return self._transcribe_blocks(iter_audio_chunks(path, chunk_s=30.0))

    # ----------------------------------------------------------------- windows

    def _transcribe_blocks(self, blocks: Iterable["np.ndarray"], passes: Optional[int] = None) -> Transcript:
        words: list[Word] = []
        speech: list[Span] = []
        total_samples = 0
        for window, offset_s, spans in windows(blocks):
            total_samples += window.size
            speech.extend(spans)
            words.extend(self._transcribe_window(window, offset_s, spans, passes or self.passes))
            del window
            release_freed_memory()
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
        window, raised = at_working_level(window, offset_s, spans)
        self.raised += raised
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
        shared = SharedPasses(self._model, self._tokenizer(),
                              self._prompt_tokens() if passes > 1 else None,
                              gate=self.hesitation_gate, hesitation_ids=self._hesitation_tokens(),
                              retry_tokens=self._retry_tokens() if self.retry_prompt else None)
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
        self.gated += shared.gated
        self.retried += shared.retried
        starts = [to_source(t, pieces, is_end=False) for t in shared.window_starts()]
        ran = shared.prompted_windows()
        for k, a in enumerate(starts):
            if not ran[k]:
                continue  # left out by the gate: nothing derailed
            b = starts[k + 1] if k + 1 < len(starts) else offset_s + window_s
            n_plain = sum(1 for w in plain if a <= w.start_s < b)
            n_prompted = sum(1 for w in prompted if a <= w.start_s < b)
            if n_plain >= DERAIL_MIN_WORDS and n_prompted < DERAIL_SHARE * n_plain:
                inside = [Span(max(x.start_s, a), min(x.end_s, b)) for x in spans if x.end_s > a and x.start_s < b]
                log.info("prompted pass derailed at %.1f-%.1f s (%d words for %d); redoing it", a, b,
                         n_prompted, n_plain)
                redo = self._run_prompted(window, offset_s, inside)
                prompted = words_outside(prompted, a, b) + redo
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

    def _hesitation_tokens(self) -> list[int]:
        """The tokens that start a hesitation on their own (" um", "Uh", ...), for the gate."""
        if self._hesitation_ids is None:
            tk = self._tokenizer()
            ids = []
            for spelling in HESITATION_SPELLINGS:
                for text in (" " + spelling, " " + spelling.capitalize(), spelling.capitalize()):
                    encoded = tk.encode(text)
                    if len(encoded) == 1 and encoded[0] not in ids:
                        ids.append(encoded[0])
            self._hesitation_ids = ids
        return self._hesitation_ids

    def _retry_tokens(self) -> list[int]:
        if self._retry_ids is None:
            self._retry_ids = self._tokenizer().encode(" " + self.retry_prompt.strip())
        return self._retry_ids

    def _prompt_tokens(self) -> list[int]:
        if self._prompt_ids is None:
            self._prompt_ids = self._tokenizer().encode(" " + self.prompt.strip())
        return self._prompt_ids


