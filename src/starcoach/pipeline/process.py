"""One path from an input (text, audio file or standard input) to an Analysis.

Batch analysis, practice and re-analysis all come through here, so an answer
is judged the same way wherever it came from.  Every failure an input can
have becomes an ``Analysis`` with ``error`` set (kind + one-line message);
nothing here raises for a bad input.
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

from starcoach.banks import Company
from starcoach.judge import EmptyAnswer, analyse
from starcoach.model import Analysis, Transcript

AUDIO_EXTENSIONS = frozenset({
    ".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".webm", ".aiff",
    ".aif", ".wma", ".mka", ".caf",
})
TEXT_EXTENSIONS = frozenset({".txt", ".text", ".md"})

#: A transcript larger than this is not an interview answer (about 40,000
#: words, four hours of speech); refusing it keeps a mistaken input (a log
#: file, a book) from tying up the analyser.
MAX_TRANSCRIPT_BYTES = 256 * 1024


@dataclass(frozen=True)
class InputError(Exception):
    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


def is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS


def expand_inputs(inputs: list[str]) -> Iterator[str]:
    """Directories become every audio file below them, sorted; others pass through.

    A folder (or sub-folder) that cannot be read is passed through itself, so
    it is reported as an error ("permission denied") instead of being skipped.
    """
    for item in inputs:
        p = Path(item)
        if item != "-" and p.is_dir():
            unreadable: list[str] = []
            found = []
            note = unreadable.append
            for folder, _dirs, files in os.walk(p, onerror=lambda e, note=note: note(e.filename)):
                found.extend(os.path.join(folder, f) for f in files
                             if is_audio(Path(f)) and os.path.isfile(os.path.join(folder, f)))
            if not found and not unreadable:
                yield item  # reported as an error: nothing to analyse there
            yield from sorted(set(unreadable))
            yield from sorted(found)
        else:
            yield item


def decode_transcript(raw: bytes, name: str) -> str:
    if len(raw) > MAX_TRANSCRIPT_BYTES:
        raise InputError("too_large", f"{name}: transcript is {len(raw) / 1024:.0f} KiB; the limit is "
                                      f"{MAX_TRANSCRIPT_BYTES // 1024} KiB (an answer is a few KiB)")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Windows Notepad's "Unicode"
        try:
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise InputError("not_text", f"{name}: not a text transcript (damaged UTF-16 text)") from None
    if b"\x00" in raw:
        raise InputError("not_text", f"{name}: not a text transcript (binary data)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        # Guessing another encoding (cp1252 used to be tried) judges garbled text without a word.
        bad = raw[e.start:e.start + 1].hex().upper()
        line = raw[:e.start].count(b"\n") + 1
        raise InputError("not_text", f"{name}: not UTF-8 text (byte 0x{bad} on line {line}); save it as UTF-8 "
                                     "and try again") from None
    if not text.strip():
        raise InputError("empty", f"{name}: the transcript is empty")
    return text


def check_path(item: str) -> Optional[InputError]:
    """Why ``item`` cannot be read as an input file, in one line; None if it is a regular file.

    Checked before anything opens the file: a FIFO (or a device) would block
    the content hash and the decoder for ever, and ``Path.exists()`` calls a
    symbolic-link loop or an unreadable folder "no such file".
    """
    p = Path(item)
    try:
        st = os.stat(p)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return InputError("unreadable", f"{item}: is a symbolic link loop (it points back to itself)")
        if e.errno == errno.ENOENT and os.path.islink(p):
            return InputError("missing", f"{item}: is a broken symbolic link (it points to "
                                         f"{os.readlink(p)}, which does not exist)")
        if e.errno == errno.ENOENT:
            return InputError("missing", f"{item}: no such file")
        if e.errno == errno.EACCES:
            return InputError("unreadable", f"{item}: permission denied")
        return InputError("unreadable", f"{item}: {e.strerror or e}")
    if stat.S_ISDIR(st.st_mode):
        try:
            with os.scandir(p):
                pass
        except PermissionError:
            return InputError("unreadable", f"{item}: permission denied (the folder cannot be read)")
        except OSError as e:
            return InputError("unreadable", f"{item}: the folder cannot be read ({e.strerror or e})")
        return InputError("empty", f"{item}: the folder has no audio files")
    if not stat.S_ISREG(st.st_mode):
        what = "a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
        return InputError("unreadable", f"{item}: is {what}; save the recording or text to a file and "
                                        "analyse that")
    return None


def read_text_input(item: str, stdin_read: Callable[[], bytes]) -> str:
    if item == "-":
        try:
            raw = stdin_read()
        except OSError as e:
            reason = str(e.strerror or e)
            reason = reason if reason.startswith("standard input") else f"standard input: {reason}"
            raise InputError("unreadable", f"{reason}; give the transcript as a file or pipe it in") from None
        return decode_transcript(raw, "standard input")
    p = Path(item)
    bad = check_path(item)
    if bad is not None:
        raise bad
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_TRANSCRIPT_BYTES + 1)
            if len(raw) > MAX_TRANSCRIPT_BYTES:
                size = os.path.getsize(p)
                raise InputError("too_large", f"{item}: transcript is {size / 1024:.0f} KiB; the limit is "
                                              f"{MAX_TRANSCRIPT_BYTES // 1024} KiB (an answer is a few KiB)")
    except PermissionError:
        raise InputError("unreadable", f"{item}: permission denied") from None
    except IsADirectoryError:
        raise InputError("unreadable", f"{item}: is a folder") from None
    except OSError as e:
        raise InputError("unreadable", f"{item}: {e.strerror or e}") from None
    return decode_transcript(raw, item)


class TranscriberSource:
    """Loads the speech model on first use and keeps it for the process."""

    def __init__(self, model: Optional[str] = None, on_load: Optional[Callable[[], None]] = None):
        self.model = model
        self._on_load = on_load
        self._transcriber = None

    def get(self):
        if self._transcriber is None:
            from starcoach.speech.transcribe import WhisperTranscriber

            if self._on_load:
                self._on_load()
            from starcoach.speech.whisper_model import resolve_model

            self._transcriber = WhisperTranscriber(resolve_model(self.model))
        return self._transcriber


def analyse_transcript(transcript: Transcript | str, *, input: str, question: Optional[str],
                       company: Optional[Company], vault=None) -> Analysis:
    """Analyse, add delivery for audio, and say which vault story was told and what it left out.

    An answer that is clearly not in English is not judged: it gets the error
    kind ``not_english`` (the rule: ``text.not_english``).
    """
    from starcoach.text import not_english

    language = not_english(transcript.text if isinstance(transcript, Transcript) else transcript)
    if language is not None:
        return Analysis.failed(input, "not_english", f"{input}: the answer is in {language}, not English; "
                                                     "only English answers are judged", question=question,
                               company=company.id if company else None)
    try:
        if isinstance(transcript, Transcript):
            from starcoach.speech.delivery import compute_delivery

            a = analyse(transcript, question=question, company=company, input=input,
                        delivery_fn=compute_delivery)
        else:
            a = analyse(transcript, question=question, company=company, input=input)
        if vault is not None and vault.stories:
            from dataclasses import replace

            from starcoach.vault import story_feedback

            line = story_feedback(a.transcript, vault)
            if line:
                a = replace(a, advice=a.advice + (line,))
        return a
    except EmptyAnswer:
        kind = "silent" if isinstance(transcript, Transcript) else "empty"
        msg = ("no speech was heard in the recording" if kind == "silent" else "the transcript has no words")
        return Analysis.failed(input, kind, f"{input}: {msg}", question=question,
                               company=company.id if company else None)


def process_input(item: str, *, question: Optional[str], company: Optional[Company],
                  transcribers: Optional[TranscriberSource] = None,
                  stdin_read: Callable[[], bytes] = lambda: b"") -> Analysis:
    """Analyse one input (path or '-'); failures come back as an Analysis with error set."""
    cid = company.id if company else None
    try:
        p = Path(item)
        if item != "-" and is_audio(p):
            bad = check_path(item)
            if bad is not None:
                raise bad
            if transcribers is None:
                transcribers = TranscriberSource()
            from starcoach.speech.decode import AudioError

            try:
                transcript = transcribers.get().transcribe_file(p)
            except AudioError as e:
                raise InputError(e.kind, str(e)) from None
            return analyse_transcript(transcript, input=item, question=question, company=company)
        text = read_text_input(item, stdin_read)
        return analyse_transcript(text, input=item, question=question, company=company)
    except InputError as e:
        return Analysis.failed(item, e.kind, e.message, question=question, company=cid)
