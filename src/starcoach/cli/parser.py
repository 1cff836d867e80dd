"""The ``starcoach`` argument parser: every command, flag and help text.

Built for every call (even ``--help``), so it imports only the standard
library.  A parse error raises :class:`~starcoach.errors.UsageError` instead of
exiting, so ``main`` sets the exit status (2) in one place.
"""

from __future__ import annotations

import argparse
import textwrap

from starcoach.errors import UsageError

#: stored.SESSION_KINDS, written here so that building the parser loads nothing more (a test keeps them equal)
SESSION_KINDS = ("practice", "demo", "analysis", "batch")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # pragma: no cover - exercised through main()
        raise UsageError(f"{self.prog}: {message}")


EPILOG = """\
R-STAR-L: Repeat the question in your own words, Situation, Task, Action
(what *you* did), Result (measured), Link back to the company's values.

examples:
  starcoach practice --company amazon            practise at the microphone
  starcoach analyse answer.txt --question "Tell me about a time..." --company doordash
  starcoach analyse examples/ --json             judge a folder of recorded answers
  starcoach analyse /shared/answers --engine ray --ray-address auto --json   ... on a Ray cluster
  starcoach companies                            list company profiles
  starcoach models                               speech models on this machine, and their speed
"""


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="starcoach", description="Offline mock-interview coach for behavioural answers (R-STAR-L).",
                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    from starcoach import __version__

    p.add_argument("--version", action="version", version=f"starcoach {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    a = sub.add_parser("analyse", aliases=["analyze"], help="judge recorded or written answers",
                       description=textwrap.fill(
                           "Judge answers against R-STAR-L. INPUT is an audio file (wav, flac, mp3, ogg, "
                           "m4a, webm...), a .txt transcript, a folder (every audio file in it) or - "
                           "(a transcript on standard input).", 79),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("inputs", nargs="+", metavar="INPUT")
    a.add_argument("--question", "-q", metavar="TEXT", help="the question the answer responds to")
    a.add_argument("--company", "-c", metavar="ID", help="company profile for the link-back check "
                                                         "(see `starcoach companies`)")
    a.add_argument("--json", action="store_true", help="print one JSON object per input (JSON Lines) "
                                                       "on standard output, nothing else")
    a.add_argument("--model", metavar="DIR|NAME", help="speech model: a name `starcoach models` lists, or a "
                                                       "faster-whisper model directory (default: bundled tiny.en)")
    a.add_argument("--manifest", metavar="CSV", help="CSV with columns file, question[, company] giving each "
                                                    "file's question (else NAME.json, or a NAME.txt of at most "
                                                    "60 words, beside it; a longer NAME.txt is a transcript, "
                                                    "not a question, and is left alone)")
    a.add_argument("--csv", metavar="FILE", help="also write a CSV summary (one row per input)")
    a.add_argument("--workers", type=int, metavar="N", help="transcription processes (default: one per core; "
                                                            "with --engine ray: Ray actors, one per CPU)")
    a.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="where transcription runs: local worker processes (default), or Ray actors "
                        "(needs pip install 'starcoach[ray]'; docs/scale.md)")
    a.add_argument("--ray-address", metavar="ADDRESS", help="with --engine ray: join this Ray cluster (auto, "
                                                           "HOST:PORT or ray://HOST:PORT) instead of starting a "
                                                           "local Ray instance; inputs must be on a filesystem "
                                                           "every node sees")
    a.add_argument("--data-dir", metavar="DIR", help="where results are stored (default: $STARCOACH_HOME or "
                                                     "./recordings)")

    pr = sub.add_parser("practice", help="practise answering out loud at the microphone",
                        description=textwrap.fill(
                            "Practice session: each question is shown and spoken, you answer out loud, "
                            "and the R-STAR-L feedback appears as soon as you stop (pause ~3 s or press "
                            "Enter). Every answer is saved in the data folder.", 79),
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog="examples:\n  starcoach practice --company amazon --questions 2\n"
                               "  starcoach practice --mic-file examples/answer.ogg --no-speak   (no microphone)")
    pr.add_argument("--company", "-c", metavar="ID", help="practise for this company: questions cover its values "
                                                          "and the link-back is checked against them")
    pr.add_argument("--bank", metavar="ID", help="only questions from this bank (see `starcoach questions`)")
    pr.add_argument("--competency", metavar="X", help="only questions probing this competency")
    pr.add_argument("--questions", "-n", type=_positive_int, default=3, metavar="N",
                    help="how many questions (default 3)")
    pr.add_argument("--question-id", action="append", default=[], metavar="ID",
                    help="ask this question (repeatable); overrides the automatic choice")
    pr.add_argument("--think-time", type=_seconds, default=0.0, metavar="S",
                    help="seconds to think before recording starts (default 0; Enter skips)")
    pr.add_argument("--max-answer", type=_seconds, default=180.0, metavar="S",
                    help="longest answer in seconds (default 180)")
    pr.add_argument("--end-silence", type=_seconds, default=3.0, metavar="S",
                    help="seconds of silence that end an answer (default 3)")
    pr.add_argument("--voice", metavar="V", help="text-to-speech voice (see `starcoach devices --voices`)")
    pr.add_argument("--rate", type=_positive_int, metavar="WPM", help="speaking rate of the question voice")
    pr.add_argument("--no-speak", action="store_true", help="show questions without speaking them")
    pr.add_argument("--input-device", metavar="ID", help="microphone index or name (see `starcoach devices`)")
    pr.add_argument("--follow-ups", type=_count, default=1, metavar="N",
                    help="after each answer the interviewer asks up to N follow-up questions about what it "
                         "lacked (no result or nothing measured, only \"we\", no task, \"I would...\", no "
                         "situation, no link back; a probing one for a strong answer), spoken and answered "
                         "like the question (default 1; 0: none)")
    pr.add_argument("--mic-file", action="append", default=[], metavar="FILE",
                    help="feed this recording in as if spoken at the microphone; give it once per answer, in "
                         "the order asked (question 1, its follow-ups, question 2, ...): once it is used up "
                         "the last one answers each further question, and no more follow-ups are asked")
    pr.add_argument("--demo", action="store_true", help="no microphone needed: one question and one follow-up, "
                                                        "answered by two bundled example recordings, through "
                                                        "the whole loop")
    pr.add_argument("--model", metavar="DIR|NAME", help="speech model: a name `starcoach models` lists, or a "
                                                        "faster-whisper model directory (default: bundled tiny.en)")
    pr.add_argument("--data-dir", metavar="DIR", help="where sessions are kept (default: $STARCOACH_HOME or "
                                                      "./recordings)")
    pr.add_argument("--no-recover", action="store_true", help="do not offer to recover unfinished answers")
    pr.add_argument("--focus", choices=("gaps",), help="gaps: ask the questions probing the company values you "
                                                       "have covered least, in your vault and past sessions")
    pr.add_argument("--vault", metavar="FILE", help="story vault file (default: DATA_DIR/vault.toml)")

    dv = sub.add_parser("devices", help="list microphones and speakers",
                        description="List audio input and output devices (for --input-device).")
    dv.add_argument("--voices", action="store_true", help="also list text-to-speech voices")

    data_dir_help = "data folder (default: $STARCOACH_HOME or ./recordings)"
    mo = sub.add_parser("models", help="list the speech models usable offline, and their speed here",
                        description="List the speech models starcoach can use without a network: the bundled\n"
                                    "tiny.en (the default), model folders in DATA_DIR/models/, and Whisper models\n"
                                    "already in a local Hugging Face cache (read only). For each: the name to give\n"
                                    "--model, whether it is English-only, its size on disk, and how long a 60 s\n"
                                    "answer takes to transcribe on this machine, once measured with --measure.\n"
                                    "Nothing is downloaded: a larger model (base.en, small.en) is brought in by\n"
                                    "copying its folder into DATA_DIR/models/ (docs/audio.md, \"Larger models\").",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog="examples:\n  starcoach models\n"
                               "  starcoach models --measure              time every usable model on a 60 s answer\n"
                               "  starcoach models --measure base.en      time one\n"
                               "  starcoach models --measure --clip my-answer.wav   on your own recording\n"
                               "  starcoach practice --model base.en      then practise with it")
    mo.add_argument("--measure", nargs="?", const="", metavar="NAME",
                    help="transcribe a 60 s answer (the bundled example) with each usable model, or only NAME, "
                         "and keep the speed in the data folder for later listings")
    mo.add_argument("--clip", metavar="FILE", help="with --measure: time this recording instead (its first 60 s)")
    mo.add_argument("--dir", action="append", default=[], metavar="DIR",
                    help="also look here (repeatable): a model folder, a folder of them, or a Hugging Face cache; "
                         "models found only here are named by their path")
    mo.add_argument("--json", action="store_true", help="print one JSON object (schema starcoach.models/1) on "
                                                       "standard output, nothing else")
    mo.add_argument("--data-dir", metavar="DIR", help="data folder whose models/ is searched and where speeds are "
                                                     "kept (default: $STARCOACH_HOME or ./recordings)")

    se = sub.add_parser("sessions", help="list stored practice and analysis sessions",
                        description="List stored sessions: date, company, questions, mean score, total time.")
    se.add_argument("--kind", choices=SESSION_KINDS, help="only sessions of this kind")
    se.add_argument("--data-dir", metavar="DIR", help=data_dir_help)

    rp = sub.add_parser("replay", help="show (and play) a stored session",
                        description="Show each answer of a session (question, coloured transcript, checklist, "
                                    "delivery, advice) and play its audio with the words highlighted in time.")
    rp.add_argument("session", nargs="?", default="latest", metavar="SESSION",
                    help="session number, or 'latest' (default)")
    rp.add_argument("--answer", type=_positive_int, metavar="N", help="only answer N of the session")
    rp.add_argument("--no-audio", action="store_true", help="show without playing the audio")
    rp.add_argument("--data-dir", metavar="DIR", help=data_dir_help)

    pg = sub.add_parser("progress", help="trends across sessions",
                        description="Trends over sessions: score, how often each R-STAR-L part is present, "
                                    "fillers per minute, pace and answer length, and the weakest part to practise.")
    pg.add_argument("--company", metavar="ID", help="only sessions for this company")
    pg.add_argument("--kind", choices=(*SESSION_KINDS, "all"), default="practice",
                    help="which sessions count: practice (default), demo, analysis, batch, or all")
    pg.add_argument("--data-dir", metavar="DIR", help=data_dir_help)

    ex = sub.add_parser("export", help="export a session as Markdown, JSON or a self-contained HTML page",
                        description="Export a session for a coach: md, json, or html (one file with the audio\n"
                                    "embedded, transcript coloured by component, a notes field per answer).\n"
                                    "--notes FILE brings back the notes a coach saved from the page.\n"
                                    "--progress instead writes progress over sessions as a page of charts.",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog="examples:\n  starcoach export latest\n"
                               "  starcoach export 3 --notes session-3-notes.md     # the page again, notes filled in\n"
                               "  starcoach export 3 --format md --notes session-3-notes.md\n"
                               "  starcoach export --progress --company amazon      # progress.html")
    ex.add_argument("session", nargs="?", metavar="SESSION", help="session number, or 'latest' (not with --progress)")
    ex.add_argument("--format", choices=("md", "json", "html"), default="html", help="md, json or html (default html)")
    ex.add_argument("--output", "-o", metavar="FILE", help="write here (default: standard output for md/json, "
                                                             "session-N.html for html, progress.html for --progress)")
    ex.add_argument("--notes", metavar="FILE", help="a coach's notes saved from the session's page "
                                                     "(session-N-notes.md): put them into this export")
    ex.add_argument("--progress", action="store_true", help="progress over sessions as an HTML page of charts "
                                                            "(score, each R-STAR-L part, fillers, pace, length)")
    ex.add_argument("--company", metavar="ID", help="with --progress: only sessions for this company")
    ex.add_argument("--kind", choices=(*SESSION_KINDS, "all"), default="practice",
                    help="with --progress: which sessions count (default practice)")
    ex.add_argument("--data-dir", metavar="DIR", help=data_dir_help)

    ra = sub.add_parser("reanalyse", aliases=["reanalyze"], help="re-run the current analysis on stored answers",
                        description="Re-run the current R-STAR-L analysis on stored transcripts (no "
                                    "re-transcription), so improvements reach old sessions.")
    ra.add_argument("session", nargs="?", metavar="SESSION", help="session number or 'latest'")
    ra.add_argument("--all", action="store_true", help="every stored session")
    ra.add_argument("--data-dir", metavar="DIR", help=data_dir_help)

    va = sub.add_parser("vault", help="your story vault: the 2-3 deep stories you reuse across questions",
                        description=textwrap.fill(
                            "The story vault: a TOML file of your stories (title, kind, bullet points for "
                            "situation, task, action and result, the competencies and values each shows). "
                            "Default file: vault.toml in the data folder.", 79),
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog="examples:\n  starcoach vault init\n  starcoach vault add\n  starcoach vault list\n"
                               "  starcoach vault edit\n  starcoach vault coverage --company amazon")
    va.add_argument("--vault", metavar="FILE", help="the vault file (default: DATA_DIR/vault.toml)")
    va.add_argument("--data-dir", metavar="DIR", help=data_dir_help)
    vsub = va.add_subparsers(dest="vault_command", metavar="ACTION", parser_class=_Parser)
    # --vault and --data-dir also after the action ("vault list --vault FILE"); not given there,
    # they keep what was given before it.
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--vault", metavar="FILE", default=argparse.SUPPRESS,
                       help="the vault file (default: DATA_DIR/vault.toml)")
    where.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS, help=data_dir_help)
    vsub.add_parser("init", parents=[where], help="create a vault file with an example story to edit")
    vsub.add_parser("list", parents=[where], help="list the stories")
    vsub.add_parser("add", parents=[where], help="add a story, answering prompts")
    ve = vsub.add_parser("edit", parents=[where], help="open the vault in $EDITOR and check it afterwards")
    ve.add_argument("--editor", metavar="CMD", help="editor command (default: $VISUAL, $EDITOR, then nano/vi)")
    vs = vsub.add_parser("show", parents=[where], help="show one story in full")
    vs.add_argument("story", metavar="ID")
    vc = vsub.add_parser("coverage", parents=[where], help="the company's values against your stories, and which story fits "
                                          "each question")
    vc.add_argument("--company", "-c", metavar="ID", required=True)

    c = sub.add_parser("companies", help="list company profiles and their values",
                       description="List company profiles. Add your own by dropping a TOML file into "
                                   "~/.config/starcoach/question_banks/companies/ (see docs/question-banks.md).")
    c.add_argument("company", nargs="?", metavar="ID", help="show one company's values in full")

    q = sub.add_parser("questions", help="list interview questions",
                       description="List the questions in the banks, optionally filtered.")
    q.add_argument("--company", metavar="ID", help="questions that probe this company's values, best first")
    q.add_argument("--competency", metavar="X", help="only questions tagged with this competency")
    q.add_argument("--bank", metavar="ID", help="only this bank")
    q.add_argument("--role", metavar="ROLE", help="only questions for this role: general, data, ml, software or "
                                                  "product")
    return p


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return v


def _count(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= v <= 10:
        raise argparse.ArgumentTypeError(f"must be between 0 and 10: {text!r}")
    return v


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if v != v:  # NaN: every comparison with it is false, so an answer would never end
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    if v < 0 or v > 3600:
        raise argparse.ArgumentTypeError(f"seconds must be between 0 and 3600: {text!r}")
    return v
