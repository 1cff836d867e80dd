"""``starcoach practice``: check every argument, build the edges, run the practice loop.

Every argument is checked before anything slow or lasting happens (the
speech model loading, the recovery prompt, which may store an answer), so a
mistake costs the candidate one line and nothing else.  Then the microphone
(or ``--mic-file``), the speaker and the speech model are made here and
handed to :class:`~starcoach.pipeline.practice.Practice`, which never builds
its own; unfinished answers are offered for recovery first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from starcoach.cli.common import (
    load_catalogue_or_fail,
    load_transcriber,
    load_vault_quiet,
    open_store,
    resolve_company,
    resolve_model_or_fail,
)
from starcoach.cli.env import Env
from starcoach.errors import UsageError

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from starcoach.catalogue.banks import Catalogue, Company, Question
    from starcoach.edges import AudioSource, Speaker


def cmd_practice(args: "argparse.Namespace", env: Env) -> int:
    from pathlib import Path

    from starcoach.capture.portaudio import HardwareError
    from starcoach.pipeline.keys import Keys
    from starcoach.pipeline.practice import Practice, PracticeOptions
    from starcoach.pipeline.recovery import recover_unfinished

    catalogue = load_catalogue_or_fail(env)
    company = resolve_company(catalogue, args.company)
    _check_filters(args, catalogue)
    mic_files = [Path(m) for m in args.mic_file]
    questions = args.questions
    question_ids = tuple(args.question_id)
    extra_questions: list["Question"] = []
    follow_ups = args.follow_ups
    if args.demo:
        mic_files, demo_question, demo_company = _demo(catalogue)
        extra_questions = [demo_question]
        question_ids = (demo_question.id,)
        questions = 1
        follow_ups = min(follow_ups, 1)  # one follow-up, answered by the second recording
        company = company or demo_company
    from starcoach.pipeline.process import check_path

    for mic_file in mic_files:
        bad = check_path(str(mic_file))
        if bad is not None:
            raise UsageError(f"--mic-file {bad.message}")
    templates = _follow_up_templates(env) if follow_ups else []
    if args.focus == "gaps" and company is None:
        raise UsageError("--focus gaps needs --company (the values to cover)")
    model_path = resolve_model_or_fail(args.model, args, env)  # no usable model: said before the data folder is made
    source_factory = _source_factory(args.input_device, mic_files)  # no usable microphone: said now
    out = env.console()
    err = env.console(err=True)
    store = open_store(args, env)
    keys = Keys(env.stdin)
    try:
        transcriber = load_transcriber(model_path, err)
        vault_path = Path(args.vault) if args.vault else store.root / "vault.toml"
        vault = load_vault_quiet(vault_path, catalogue, err, env)
        if not args.no_recover:
            recover_unfinished(store, transcriber, catalogue, keys, out, err, vault)
        speaker = None if args.no_speak else _speaker(args.voice, args.rate, err)
        options = PracticeOptions(
            company=company, bank=args.bank, competency=args.competency, questions=questions,
            think_time_s=args.think_time, max_answer_s=args.max_answer, end_silence_s=args.end_silence,
            mic_file=mic_files[0] if mic_files else None, recordings=len(mic_files), mic_files=tuple(mic_files), question_ids=question_ids,
            focus=args.focus, follow_ups=follow_ups)
        practice = Practice(options, catalogue, store, out, keys, speaker=speaker, source_factory=source_factory,
                            transcriber=transcriber, err=err, extra_questions=extra_questions, vault=vault,
                            follow_up_templates=templates)
        try:
            return practice.run()
        except HardwareError as e:
            raise UsageError(str(e)) from None
    finally:
        store.close()


def _check_filters(args: "argparse.Namespace", catalogue: "Catalogue") -> None:
    from starcoach.catalogue.banks import COMPETENCIES

    if args.bank and args.bank not in catalogue.banks:
        raise UsageError(f"unknown bank '{args.bank}' (known: {', '.join(sorted(catalogue.banks))})")
    if args.competency and args.competency not in COMPETENCIES:
        raise UsageError(f"unknown competency '{args.competency}' (known: {', '.join(COMPETENCIES)})")
    known_ids = {q.id for q in catalogue.questions}
    for qid in args.question_id:
        if qid not in known_ids:
            raise UsageError(f"unknown question id '{qid}' (see `starcoach questions`)")


def _follow_up_templates(env: Env) -> list:
    """The follow-up questions' wording from every bank folder (a broken file: one line, exit 2)."""
    from starcoach.catalogue.banks import BankError, search_dirs
    from starcoach.judge.followups import load_templates

    try:
        return load_templates(search_dirs(env.environ))
    except BankError as e:
        raise UsageError(f"bad follow-up file: {e}") from None


def _demo(catalogue: "Catalogue") -> tuple[list["Path"], "Question", Optional["Company"]]:
    """The bundled example: its recordings (the answer, the reply to its follow-up), its question,
    and the company it was answered for."""
    import json

    from starcoach.catalogue.banks import Question, examples_dir

    ex = examples_dir()
    meta = json.loads((ex / "answer.json").read_text())
    question = Question(id="example", text=meta["question"], competencies=("ownership",), bank="example")
    return [ex / "answer.ogg", ex / "follow-up.ogg"], question, resolve_company(catalogue, meta.get("company"))


def _source_factory(input_device: Optional[str], mic_files: list["Path"]) -> Callable[[], "AudioSource"]:
    """A new audio source per answer: the recordings in turn (the last one again once they are used
    up), played in real time; or the microphone (checked now)."""
    from starcoach.capture.mic_file import FileSource
    from starcoach.capture.microphone import MicrophoneSource
    from starcoach.capture.portaudio import HardwareError

    if mic_files:
        from starcoach.speech.decode import AudioError

        sources = []
        for path in mic_files:
            try:  # decoded once, now: a file that is not audio is said before the data folder is made
                sources.append(FileSource(path, realtime=True))
            except AudioError as e:
                raise UsageError(f"--mic-file {e}") from None
        used = [0]

        def recording() -> "AudioSource":
            # one file per answer in the order asked; the last answers any that remain (``with source:``
            # opens it again from the start)
            source = sources[min(used[0], len(sources) - 1)]
            used[0] += 1
            return source

        return recording
    device = int(input_device) if input_device is not None and input_device.isdigit() else input_device

    def microphone() -> "AudioSource":
        return MicrophoneSource(device=device)

    # Fail before the first question if there is no usable microphone.
    try:
        with microphone():
            pass
    except HardwareError as e:
        raise UsageError(str(e)) from None
    return microphone


def _speaker(voice: Optional[str], rate_wpm: Optional[int], err) -> Optional["Speaker"]:
    """The question's voice, or None (shown, not spoken) with a note saying why."""
    from starcoach.capture.speak import TtsSpeaker

    speaker = TtsSpeaker(voice=voice, rate_wpm=rate_wpm)
    if not speaker.available:
        from rich.markup import escape

        err.print(f"[dim]Questions will be shown, not spoken ({escape(speaker.unavailable_reason)}).[/dim]",
                  soft_wrap=True)
        return None
    return speaker
