"""``starcoach replay [SESSION]``: each answer's report again, then its audio with each word lit as it is heard.

The recording plays through ``capture.playback``; a deleted audio file or a
machine with no sound device is one line, and the rest is still shown.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Optional

from starcoach.cli.env import Env
from starcoach.cli.lookback import company_names, opened_store, say, session_or_fail
from starcoach.errors import ExitStatus, UsageError
from starcoach.model import Analysis
from starcoach.stored import load_answers, word_at

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

    from starcoach.edges import Player


_NO_AUDIO_HINT = "use --no-audio to replay without sound"


def play_with_highlight(console: "Console", a: Analysis, player: "Player", keys, *, poll_s: float = 0.04,
                        on_frame: Optional[Callable[[float, Optional[int]], None]] = None) -> str:
    """Play one answer while a Live view lights each word as it is heard.

    ``player`` is any :class:`starcoach.edges.Player` (the streaming
    ``capture.playback.Player``, or a fake in tests);
    ``keys.enter_pressed()`` skips.  Returns "finished" or "skipped"
    (Enter or Ctrl-C).  ``on_frame(position_s, word index)`` sees each frame drawn.
    """
    from rich.live import Live

    from starcoach.views.replay import playback_view

    duration_s = float(player.duration_s or a.duration_s or 0.0)
    outcome = "finished"
    with Live(playback_view(a, 0.0, duration_s), console=console, transient=True, auto_refresh=False) as live:
        try:
            player.start()
            while not player.done:
                if keys.enter_pressed():
                    outcome = "skipped"
                    break
                t = player.position_s()
                if on_frame is not None:
                    on_frame(t, word_at(a.words, t))
                live.update(playback_view(a, t, duration_s), refresh=True)
                time.sleep(poll_s)
            else:
                # Played to the end: everything was heard, the last word included, even when
                # Whisper put its start at the very end of the audio (the loop may stop first).
                t = max(duration_s, a.words[-1].start_s) if a.words else duration_s
                if on_frame is not None:
                    on_frame(t, word_at(a.words, t))
                live.update(playback_view(a, t, duration_s), refresh=True)
        except KeyboardInterrupt:
            outcome = "skipped"
        finally:
            player.stop()
    return outcome


def cmd_replay(args: "argparse.Namespace", env: Env) -> int:
    from starcoach.capture import playback
    from starcoach.capture.portaudio import HardwareError
    from starcoach.pipeline.keys import Keys
    from starcoach.speech.decode import SAMPLE_RATE_HZ, AudioError, load_audio
    from starcoach.views.history import answer_view, follow_up_answer_view, session_header

    out = env.console()
    names = company_names(env)
    with opened_store(args, env) as store:
        s = session_or_fail(store, args.session)
        answers = load_answers(store, s, names)
    total = len(answers)
    if args.answer is not None:
        if args.answer > total:
            raise UsageError(f"session {s.id} has {total} answer(s); there is no answer {args.answer}")
        answers = [answers[args.answer - 1]]
    out.print(session_header(s, names, total))
    if not answers:
        out.print("This session has no answers.")
        return ExitStatus.OK

    make_player = None
    playable = [y for x in answers for y in (x, *x.follow_ups)
                if y.analysis is not None and y.audio is not None and not y.audio_missing]
    if not args.no_audio and playable and env.stdout.isatty():
        try:
            make_player = playback.open_output(hint=_NO_AUDIO_HINT, player_hint=_NO_AUDIO_HINT)
        except HardwareError as e:
            say(out, f"Audio not played: {e}", "dim")
    keys = Keys(env.stdin)

    def play(x) -> None:
        """Play one answer (or follow-up answer) with its words lit; a missing file is one line."""
        nonlocal make_player
        if x.audio_missing:
            say(out, f"Audio file missing: {x.audio} (the rest of the answer is shown above).", "yellow")
            return
        if make_player is None or x.analysis is None or x.audio is None:
            return
        try:
            samples = load_audio(x.audio)
            player = make_player(samples, SAMPLE_RATE_HZ)
            if play_with_highlight(out, x.analysis, player, keys) == "skipped":
                say(out, "Playback skipped.", "dim")
        except AudioError as e:
            say(out, f"Cannot play the audio: {e}", "yellow")
        except HardwareError as e:
            say(out, f"Audio not played: {e}", "yellow")
            make_player = None

    for x in answers:
        out.rule(f"Answer {x.n} of {total}", align="left", style="grey50")
        out.print(answer_view(x))
        play(x)
        for f in x.follow_ups:
            out.rule(f"Answer {x.n}, follow-up {f.n}", align="left", style="grey50")
            out.print(follow_up_answer_view(x, f))
            play(f)
    return ExitStatus.OK
