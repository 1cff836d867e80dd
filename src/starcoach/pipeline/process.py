"""One path from an input (text, audio file or standard input) to an Analysis.

Batch analysis, practice, recovery and re-analysis all judge through
:func:`analyse_transcript`, so an answer is judged the same way wherever it
came from.  Every way an input can fail to be read is an :class:`InputError`
(kind + one-line message), checked here once (:func:`check_path`,
:func:`read_text_input`); the caller turns it into an ``Analysis`` with
``error`` set, so one bad input never stops the others.
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Union

from starcoach.catalogue.banks import Company
from starcoach.errors import StarcoachError
from starcoach.judge import EmptyAnswer, analyse
from starcoach.model import Analysis, Transcript

if TYPE_CHECKING:
    from starcoach.edges import Transcriber

AUDIO_EXTENSIONS = frozenset({
    ".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".webm", ".aiff",
    ".aif", ".wma", ".mka", ".caf",
})

#: A transcript larger than this is not an interview answer (about 40,000
#: words, four hours of speech); refusing it keeps a mistaken input (a log
#: file, a book) from tying up the analyser.
MAX_TRANSCRIPT_BYTES = 256 * 1024


class InputError(StarcoachError):
    """One input cannot be analysed; ``kind`` is the JSON ``error.kind`` (``missing``, ``not_text``, ...)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message, kind=kind)


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
        limit = f"{MAX_TRANSCRIPT_BYTES // 1024} KiB"
        size = (f"larger than the limit of {limit}" if len(raw) == MAX_TRANSCRIPT_BYTES + 1  # read no further
                else f"{len(raw) / 1024:.0f} KiB; the limit is {limit}")
        raise InputError("too_large", f"{name}: transcript is {size} (an answer is a few KiB)")
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


def analyse_transcript(transcript: Transcript | str, *, input: str, question: Optional[str],
                       company: Optional[Company], vault=None, cut: Optional[str] = None) -> Analysis:
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
                        delivery_fn=compute_delivery, cut=cut)
        else:
            a = analyse(transcript, question=question, company=company, input=input, cut=cut)
        if isinstance(transcript, Transcript):
            from dataclasses import replace

            from starcoach.shaky import poor_transcript_advice

            poor = poor_transcript_advice(transcript.words)
            if poor:
                a = replace(a, advice=(poor,) + a.advice)
        if vault is not None and vault.stories:
            from dataclasses import replace

            from starcoach.vault.matching import story_feedback

            line = story_feedback(a.transcript, vault)
            if line:
                a = replace(a, advice=a.advice + (line,))
        return a
    except EmptyAnswer:
        kind = "silent" if isinstance(transcript, Transcript) else "empty"
        msg = ("no speech was heard in the recording" if kind == "silent" else "the transcript has no words")
        return Analysis.failed(input, kind, f"{input}: {msg}", question=question,
                               company=company.id if company else None)


# --------------------------------------------------------------------------- the library's entry points


def analyse_text(text: str, *, question: Optional[str] = None, company: Union["Company", str, None] = None,
                 input: str = "-") -> Analysis:
    """Judge a written (or already transcribed) answer against R-STAR-L.

    ``company`` is a :class:`~starcoach.catalogue.banks.Company` or a company id (see
    ``starcoach companies``); an answer that cannot be judged (empty, not
    English) comes back with ``error`` set, as on the command line.
    """
    return analyse_transcript(text, input=input, question=question, company=_company(company))


def analyse_file(path: Union[str, "os.PathLike[str]"], *, question: Optional[str] = None,
                 company: Union["Company", str, None] = None,
                 transcriber: Optional["Transcriber"] = None) -> Analysis:
    """Judge the answer in a file: a ``.txt`` transcript, or a recording of any format PyAV decodes.

    A recording is transcribed by ``transcriber`` (an ``edges.Transcriber``;
    default: the bundled Whisper model, loaded for this call).  A file that
    cannot be used comes back as an ``Analysis`` with ``error`` set (kind and
    one-line message), as ``starcoach analyse --json`` prints it.
    """
    item = os.fspath(path)
    resolved = _company(company)
    try:
        if not is_audio(Path(item)):
            return analyse_transcript(read_text_input(item, lambda: b""), input=item, question=question,
                                      company=resolved)
        bad = check_path(item)
        if bad is not None:
            raise bad
        from starcoach.speech.decode import AudioError

        if transcriber is None:
            from starcoach.speech.transcribe import WhisperTranscriber
            from starcoach.speech.whisper_model import resolve_model

            transcriber = WhisperTranscriber(resolve_model(None))
        try:
            transcript = transcriber.transcribe_file(Path(item))
        except AudioError as e:
            raise InputError(e.kind, str(e)) from None
        return analyse_transcript(transcript, input=item, question=question, company=resolved)
    except InputError as e:
        return Analysis.failed(item, e.kind, e.message, question=question, company=resolved.id if resolved else None)


def _company(company: Union["Company", str, None]) -> Optional["Company"]:
    """A company given by id is looked up in the catalogue (``banks.UnknownCompany`` if there is none)."""
    if company is None or not isinstance(company, str):
        return company
    from starcoach.catalogue.banks import load_catalogue

    return load_catalogue().company(company)
