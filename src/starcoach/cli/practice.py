"""``starcoach practice``: check every argument, build the edges, run the practice loop.

Microphone (or ``--mic-file``), speaker and speech model are made here and
handed to :class:`~starcoach.pipeline.practice.Practice`, which never builds
its own; unfinished answers are offered for recovery first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starcoach.cli.common import load_catalogue_or_fail, load_transcriber, load_vault_quiet, open_store, resolve_company
from starcoach.cli.env import Env
from starcoach.errors import UsageError

if TYPE_CHECKING:
    import argparse


def cmd_practice(args: "argparse.Namespace", env: Env) -> int:
    from pathlib import Path

    from starcoach.banks import COMPETENCIES
    from starcoach.capture.mic_file import FileSource
    from starcoach.capture.microphone import MicrophoneSource
    from starcoach.capture.portaudio import HardwareError
    from starcoach.pipeline.practice import Keys, Practice, PracticeOptions
    from starcoach.pipeline.recovery import recover_unfinished

    catalogue = load_catalogue_or_fail(env)
    company = resolve_company(catalogue, args.company)
    if args.bank and args.bank not in catalogue.banks:
        raise UsageError(f"unknown bank '{args.bank}' (known: {', '.join(sorted(catalogue.banks))})")
    if args.competency and args.competency not in COMPETENCIES:
        raise UsageError(f"unknown competency '{args.competency}' (known: {', '.join(COMPETENCIES)})")
    known_ids = {q.id for q in catalogue.questions}
    for qid in args.question_id:
        if qid not in known_ids:
            raise UsageError(f"unknown question id '{qid}' (see `starcoach questions`)")
    mic_file = Path(args.mic_file) if args.mic_file else None
    extra_questions = []
    if args.demo:
        import json

        from starcoach.banks import Question, examples_dir

        ex = examples_dir()
        meta = json.loads((ex / "answer.json").read_text())
        mic_file = ex / "answer.ogg"
        extra_questions = [Question(id="example", text=meta["question"], competencies=("ownership",), bank="example")]
        if company is None:
            company = resolve_company(catalogue, meta.get("company"))
        args.questions = 1
    if mic_file is not None:
        from starcoach.pipeline.process import check_path

        bad = check_path(str(mic_file))
        if bad is not None:
            raise UsageError(f"--mic-file {bad.message}")
    out = env.console()
    err = env.console(err=True)
    store = open_store(args, env)
    keys = Keys(env.stdin)
    try:
        transcriber = load_transcriber(args.model, err)
        vault = load_vault_quiet(Path(args.vault) if args.vault else store.root / "vault.toml", catalogue, err)
        if not args.no_recover:
            recover_unfinished(store, transcriber, catalogue, keys, out, err, vault)
        if mic_file is not None:
            def source_factory():
                return FileSource(mic_file, realtime=True)
        else:
            device = args.input_device
            if device is not None and device.isdigit():
                device = int(device)

            def source_factory():
                return MicrophoneSource(device=device)

            # Fail before the first question if there is no usable microphone.
            try:
                with source_factory():
                    pass
            except HardwareError as e:
                raise UsageError(str(e)) from None
        speaker = None
        if not args.no_speak:
            from starcoach.capture.speak import TtsSpeaker

            speaker = TtsSpeaker(voice=args.voice, rate_wpm=args.rate)
            if not speaker.available:
                err.print(f"[dim]Questions will be shown, not spoken ({speaker.unavailable_reason}).[/dim]")
                speaker = None
        options = PracticeOptions(
            company=company, bank=args.bank, competency=args.competency, questions=args.questions,
            think_time_s=args.think_time, max_answer_s=args.max_answer, end_silence_s=args.end_silence,
            speak=not args.no_speak, voice=args.voice, rate_wpm=args.rate, input_device=args.input_device,
            mic_file=mic_file, model=args.model, question_ids=list(args.question_id), focus=args.focus,
            vault_path=Path(args.vault) if args.vault else store.root / "vault.toml")
        if args.focus == "gaps" and company is None:
            raise UsageError("--focus gaps needs --company (the values to cover)")
        if extra_questions:
            options.question_ids = [q.id for q in extra_questions]
        practice = Practice(options, catalogue, store, out, keys, speaker=speaker, source_factory=source_factory,
                            transcriber=transcriber, err=err, extra_questions=extra_questions, vault=vault)
        try:
            return practice.run()
        except HardwareError as e:
            raise UsageError(str(e)) from None
    finally:
        store.close()
