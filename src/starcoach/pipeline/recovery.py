"""Answers whose recording was cut off (crash, kill, power loss), offered for analysis at the next start.

The WAV is written as it is captured, so what was said before the cut is on
disk; it is repaired, transcribed with the session's transcriber and judged
like any other answer.  An answer another starcoach process holds (its
``AnswerLock``) is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from starcoach.catalogue.banks import Catalogue
    from starcoach.edges import Transcriber
    from starcoach.pipeline.keys import Keys
    from starcoach.store.database import Store


def recover_unfinished(store: "Store", transcriber: "Transcriber", catalogue: "Catalogue", keys: "Keys",
                       out: "Console", err: "Console", vault=None) -> None:
    """Offer to analyse answers whose recording was cut off (crash, kill, power loss).

    ``keys`` asks (Enter: yes; no terminal: yes), ``transcriber`` is the
    session's own (``edges.Transcriber``: ``transcribe_file``).
    """
    for row in store.unfinished_answers():
        path = store.absolute(row.audio_path)
        lock = store.hold_answer(path) if path is not None and path.exists() else None
        if path is not None and path.exists() and lock is None:
            # Another starcoach process is recording or judging this answer right now.
            err.print(f"[dim]An answer being recorded by another starcoach process (session {row.session_id}) "
                      "is left alone.[/dim]", soft_wrap=True)
            continue
        try:
            _recover_one(store, row, path, transcriber, catalogue, keys, out, err, vault)
        finally:
            if lock is not None:
                lock.release()


def _recover_one(store, row, path, transcriber, catalogue, keys, out, err, vault) -> None:
    from rich.markup import escape

    from starcoach.capture.wav_repair import repair_wav
    from starcoach.pipeline.process import analyse_transcript
    from starcoach.views.report import analysis_view

    if path is None or not path.exists() or path.stat().st_size <= 44:
        store.set_status(row.id, "failed", "the recording was cut off before any audio was saved")
        return
    try:
        repair_wav(path)
    except Exception as e:  # a damaged file: keep it, say so, move on
        err.print(f"[yellow]Could not repair {escape(str(path))}: {escape(str(e))}[/yellow]", soft_wrap=True)
    from starcoach.speech.decode import AudioError

    q = row.question or "(no question)"
    what = "An answer to a follow-up question" if row.parent_id is not None else "An answer"
    choice = keys.ask(f"\n[yellow]{what} from {row.created_at} was not finished[/yellow] "
                      f"(question: \u201c{q}\u201d, audio kept in {path}).\n"
                      "[bold]\\[Y][/bold] recover and analyse it now, [bold]\\[n][/bold] later? ",
                      out, {"y": "yes", "n": "no"}, "y")
    if choice != "yes":
        return
    try:
        transcript = transcriber.transcribe_file(path)
    except AudioError as e:
        store.set_status(row.id, "failed", str(e))
        err.print(f"[red]{escape(str(e))}[/red]", soft_wrap=True)
        return
    company = catalogue.companies.get(row.company) if row.company else None
    a = analyse_transcript(transcript, input=store.relative(path), question=row.question, company=company,
                           vault=None if row.parent_id is not None else vault, cut="recovered")
    store.save_analysis(row.id, a, transcript)
    store.finish_session(row.session_id, "interrupted")
    if a.error is not None:
        out.print(f"[red]{a.error.message}[/red]")
    elif row.parent_id is not None:  # the answer to a follow-up: judged into its story, as in practice
        from starcoach.pipeline.followup_turn import rejudge_stored
        from starcoach.views.followup import follow_up_view

        judged = rejudge_stored(store, row, a, company)
        parent = store.answer(row.parent_id)
        out.print(follow_up_view(a, parent.analysis() if parent else None, judged.together if judged else None,
                                 judged.supplied if judged else (), row.follow_up().get("component")))
    else:
        out.print(analysis_view(a))
