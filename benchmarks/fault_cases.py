"""The cases of the fault matrix (benchmarks/fault_matrix.py), in the spirit of a new and careless user.

A case is a group, a name, what it does with its context (``c.run`` the
command, ``c.start`` it to signal it later), the exit statuses that are
right, and optional checks of what must have been kept.  ``{F}`` is the
inputs folder (benchmarks/fault_fixtures.py), ``{T}`` the case's own
folder, ``{D}`` its data folder.  The cases in more than a line are in
benchmarks/fault_scenarios.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable, Optional

USAGE, FAILED, STORAGE, INTERRUPTED = frozenset({2}), frozenset({1}), frozenset({3}), frozenset({130})
OK = frozenset({0})
ANY = frozenset({0, 1, 2, 3})


@dataclass
class Case:
    group: str
    name: str
    act: Callable
    codes: frozenset = ANY
    seed: bool = False
    setup: Optional[Callable] = None
    check: Optional[Callable] = None
    timeout_s: float = 90.0
    sound: bool = False  # opens a sound device (speaking, listing devices)


CASES: list[Case] = []


def add(group: str, name: str, act: Callable, **kw) -> None:
    CASES.append(Case(group, name, act, **kw))


def cli(group: str, name: str, *args: str, codes=ANY, stdin=None, shell=None, env=None, user=None, lines=1,
        checks=(), **kw) -> None:
    def act(c):
        c.run(list(args), stdin=stdin, shell=shell, env=env, user=user, lines=lines)

    add(group, name, act, codes=frozenset(codes), check=_all(checks) if checks else None, **kw)


def _all(checks):
    def check(c, before, after):
        for ch in checks:
            ch(c, before, after)
    return check


# --------------------------------------------------------------------------- checks


def objects(run) -> list[dict]:
    return [json.loads(x) for x in run.out.splitlines() if x.startswith("{")]


def kind(*kinds: str):
    def check(c, before, after):
        got = [(o.get("error") or {}).get("kind") for o in objects(c.runs[-1])]
        if not got or got[0] not in kinds:
            c.wrong(f"error kind {got[:1]}, expected one of {list(kinds)}")
    return check


def says(pattern: str, where: str = "err"):
    def check(c, before, after):
        r = c.runs[-1]
        text = " ".join((r.err if where == "err" else r.out if where == "out" else r.out + r.err).split())
        if not re.search(pattern, text, re.I):
            c.wrong(f"does not say /{pattern}/: {text[-160:]}")
    return check


def stored(n: int):
    """The last command's inputs were all kept: n more answers than before (a silent loss otherwise).
    A run in which every input failed (exit 1, nothing analysed) stores no session at all, so 0 is
    right there too."""
    def check(c, before, after):
        code, got = c.runs[-1].code, len(after.answers) - len(before.answers)
        if (code == 0 and got != n) or (code == 1 and got not in (0, n)):
            c.loss(f"exit {code} but {got} answers stored, not {n}")
    return check


def same_checklist(reference: str):
    """The checklist of the last analysis equals that of ``reference`` analysed first in the same case."""
    def check(c, before, after):
        a, b = objects(c.runs[0]), objects(c.runs[-1])
        parts = [{k for k, v in (o[0]["structure"] or {}).items() if v["present"]} if o else None for o in (a, b)]
        if parts[0] != parts[1]:
            c.wrong(f"checklist {sorted(parts[1] or [])} differs from {reference}'s {sorted(parts[0] or [])}")
    return check


def band_limited(c, before, after):
    """8 kHz keeps nothing above 4 kHz: the transcript may differ (docs/audio.md); how much is noted."""
    from difflib import SequenceMatcher

    a, b = objects(c.runs[0]), objects(c.runs[-1])
    if not (a and b) or b[0]["error"]:
        c.wrong("no transcript at 8 kHz")
        return
    wa, wb = a[0]["transcript"].lower().split(), b[0]["transcript"].lower().split()
    same = SequenceMatcher(None, wa, wb).ratio()
    parts = [sorted(k for k, v in o[0]["structure"].items() if v["present"]) for o in (a, b)]
    c.note(f"words in common with 16 kHz {same:.0%}; checklist {'the same' if parts[0] == parts[1] else parts[1]}; "
           f"score {a[0]['score']} -> {b[0]['score']}")


def then_ok(c, *args):
    """The command runs as usual afterwards in the same data folder."""
    r = c.run(list(args))
    if r.code != 0:
        c.wrong(f"{' '.join(args[:2])} afterwards: exit {r.code}")
    return r


STRONG, SHORT, TINY = "{F}/text/strong.txt", "{F}/audio/short.wav", "{F}/audio/tiny.wav"
PRACTICE = ("practice", "--no-speak", "-n", "1", "--end-silence", "1", "--mic-file")

# --------------------------------------------------------------------------- arguments and option values

cli("args", "no arguments (help)", codes=OK, lines=None)
cli("args", "unknown command", "bogus", codes=USAGE)
cli("args", "unknown option", "--bogus", codes=USAGE)
cli("args", "--version", "--version", codes=OK)
cli("args", "analyse with no INPUT", "analyse", codes=USAGE)
cli("args", "analyse --company unknown", "analyse", STRONG, "--company", "nosuch", codes=USAGE)
cli("args", "analyse --workers 0", "analyse", SHORT, "--workers", "0", codes=USAGE)
cli("args", "analyse --workers abc", "analyse", SHORT, "--workers", "abc", codes=USAGE)
cli("args", "analyse --workers -3", "analyse", SHORT, "--workers", "-3", codes=USAGE)
cli("args", "analyse --workers 100000 (two files)", "analyse", "{F}/batch/answer-1.wav", "{F}/batch/answer-2.wav",
    "--workers", "100000", "--json", codes=OK, checks=[stored(2)])
cli("args", "analyse --model missing folder", "analyse", SHORT, "--model", "{T}/no-model", codes=USAGE)
cli("args", "analyse --model a text file", "analyse", SHORT, "--model", STRONG, codes=USAGE)
cli("args", "analyse --model unknown size", "analyse", SHORT, "--model", "gigantic-v9", codes=USAGE)
cli("args", "analyse --manifest missing", "analyse", SHORT, "--manifest", "{T}/none.csv", codes=USAGE)
cli("args", "analyse --manifest binary", "analyse", SHORT, "--manifest", "{F}/text/manifest-binary.csv",
    codes=USAGE)
cli("args", "analyse --manifest naming other files", "analyse", STRONG, "--manifest", "{F}/text/manifest.csv",
    "--json", codes=OK, checks=[stored(1)])
cli("args", "analyse --csv in a missing folder", "analyse", STRONG, "--csv", "{T}/no/such/x.csv", codes=FAILED,
    checks=[stored(1), says("cannot write")])
# A device is given as the CSV file: a private copy of /dev/full (the real one must not be at stake).
cli("args", "analyse --csv a full device", "analyse", STRONG, "--csv", "{T}/full", codes=FAILED,
    shell="mknod -m 666 {T}/full c 1 7 && {cmd}; s=$?; test -c {T}/full || exit 99; exit $s", checks=[stored(1), says("cannot write")])
cli("args", "analyse --question empty", "analyse", STRONG, "--question", "", "--json", codes=OK,
    checks=[stored(1)])
cli("args", "analyse --question 20,000 characters", "analyse", STRONG, "--question", "Tell me " * 2500, "--json",
    codes=OK, checks=[stored(1)])
cli("args", "analyse - - (stdin twice)", "analyse", "-", "-", codes=USAGE)
cli("args", "analyse --data-dir empty string", "analyse", STRONG, "--data-dir", "", "--json", codes={0, 2, 3})
cli("args", "analyse -dash.txt (a file named like an option)", "analyse", "-dash.txt", codes=USAGE,
    shell="cd {F}/text && {cmd}", checks=[says(r"starts with '-'.*\./-dash\.txt")])
cli("args", "practice --questions 0", "practice", "--questions", "0", codes=USAGE)
cli("args", "practice --questions abc", "practice", "-n", "abc", codes=USAGE)
cli("args", "practice --questions 10**20, then q", *PRACTICE[:-1], "--mic-file", TINY, "--questions", "9" * 20,
    stdin="\nq\n", codes=OK, timeout_s=120)  # Enter ends the answer, q ends the session
cli("args", "practice --think-time -1", "practice", "--think-time", "-1", codes=USAGE)
cli("args", "practice --end-silence nan", "practice", "--end-silence", "nan", "--mic-file", TINY, codes=USAGE)
cli("args", "practice --max-answer inf", "practice", "--max-answer", "inf", "--mic-file", TINY, codes=USAGE)
cli("args", "practice --max-answer 0", "practice", "--max-answer", "0", "--mic-file", TINY, "--no-speak",
    "-n", "1", codes={0, 1, 2}, timeout_s=120)
cli("args", "practice --rate 0", "practice", "--rate", "0", codes=USAGE)
cli("args", "practice --company unknown", *PRACTICE, TINY, "--company", "nosuch", codes=USAGE)
cli("args", "practice --bank unknown", *PRACTICE, TINY, "--bank", "nosuch", codes=USAGE)
cli("args", "practice --competency unknown", *PRACTICE, TINY, "--competency", "juggling", codes=USAGE)
cli("args", "practice --question-id unknown", *PRACTICE, TINY, "--question-id", "nosuch-9", codes=USAGE)
cli("args", "practice --mic-file missing", *PRACTICE, "{T}/none.wav", codes=USAGE)
cli("args", "practice --mic-file a folder", *PRACTICE, "{F}/batch", codes=USAGE)
cli("args", "practice --mic-file /dev/zero", *PRACTICE, "/dev/zero", codes=USAGE)
cli("args", "practice --mic-file not audio", *PRACTICE, "{F}/audio/random.wav", codes={1, 2}, timeout_s=120)
cli("args", "practice --mic-file empty", *PRACTICE, "{F}/audio/empty.wav", codes={1, 2}, timeout_s=120)
cli("args", "practice --input-device 999 (no such microphone)", "practice", "--no-speak", "-n", "1",
    "--input-device", "999", codes=USAGE)
cli("args", "practice --focus gaps without --company", "practice", "--focus", "gaps", codes=USAGE)
cli("args", "practice --focus bogus", "practice", "--focus", "bogus", codes=USAGE)
cli("args", "practice --voice unknown (speaking)", "practice", "-n", "1", "--end-silence", "1", "--mic-file", TINY,
    "--voice", "no-such-voice", codes={0, 2}, timeout_s=120, sound=True)
cli("args", "sessions --kind bogus", "sessions", "--kind", "bogus", codes=USAGE)
cli("args", "sessions, nothing stored", "sessions", codes=OK)
cli("args", "replay 999", "replay", "999", codes=USAGE, seed=True)
cli("args", "replay abc", "replay", "abc", codes=USAGE, seed=True)
cli("args", "replay -1", "replay", "--", "-1", codes=USAGE, seed=True)
cli("args", "replay --answer 0", "replay", "latest", "--answer", "0", codes=USAGE, seed=True)
cli("args", "replay --answer 99", "replay", "latest", "--answer", "99", "--no-audio", codes=USAGE, seed=True)
cli("args", "replay, nothing stored", "replay", "--no-audio", codes={0, 2})
cli("args", "progress --company unknown", "progress", "--company", "nosuch", codes=USAGE, seed=True)
cli("args", "progress --kind bogus", "progress", "--kind", "bogus", codes=USAGE)
cli("args", "export 999", "export", "999", codes=USAGE, seed=True)
cli("args", "export --format pdf", "export", "latest", "--format", "pdf", codes=USAGE, seed=True)
cli("args", "export -o a missing folder", "export", "latest", "-o", "{T}/no/such/x.html", codes={1, 2}, seed=True)
cli("args", "export -o a folder", "export", "latest", "-o", "{T}", codes={1, 2}, seed=True)
cli("args", "export -o a full device", "export", "latest", "--format", "md", "-o", "{T}/full", codes={1, 2},
    seed=True, shell="mknod -m 666 {T}/full c 1 7 && {cmd}; s=$?; test -c {T}/full || exit 99; exit $s")
cli("args", "export, nothing stored", "export", "latest", codes=USAGE)
cli("args", "reanalyse with neither SESSION nor --all", "reanalyse", codes=USAGE, seed=True)
cli("args", "reanalyse --all", "reanalyse", "--all", codes=OK, seed=True)
cli("args", "reanalyse 999", "reanalyse", "999", codes=USAGE, seed=True)
cli("args", "vault with no action", "vault", codes={0, 2}, lines=None)
cli("args", "vault show unknown", "vault", "show", "nosuch", codes={1, 2})
cli("args", "vault coverage without --company", "vault", "coverage", codes=USAGE)
cli("args", "vault coverage --company unknown", "vault", "coverage", "--company", "nosuch", codes=USAGE)
cli("args", "vault edit with a failing editor", "vault", "edit", "--editor", "{F}/text/editor-fail.sh",
    codes={1, 2})
cli("args", "vault edit with a missing editor", "vault", "edit", "--editor", "/no/such/editor", codes={1, 2})
cli("args", "vault init twice", "vault", "init", codes={0, 1, 2}, shell="{cmd} >/dev/null && {cmd}")
cli("args", "companies unknown", "companies", "nosuch", codes=USAGE)
cli("args", "questions --bank unknown", "questions", "--bank", "nosuch", codes=USAGE)
cli("args", "questions --competency unknown", "questions", "--competency", "juggling", codes=USAGE)
cli("args", "devices (no sound hardware)", "devices", "--voices", codes={0, 2}, lines=None, sound=True)

# --------------------------------------------------------------------------- inputs that are not what they seem

for name, path, kinds in [
    ("missing file", "{T}/none.txt", ("missing",)),
    ("empty .txt", "{F}/text/empty.txt", ("empty",)),
    ("blank .txt", "{F}/text/blank.txt", ("empty",)),
    ("huge .txt (400 KiB)", "{F}/text/huge.txt", ("too_large",)),
    ("binary .txt", "{F}/text/binary.txt", ("not_text",)),
    ("NUL bytes in .txt", "{F}/text/nul.txt", ("not_text",)),
    ("Latin-1 .txt", "{F}/text/latin1.txt", ("not_text",)),
    ("audio named .txt", "{F}/text/wav-named.txt", ("not_text", "too_large")),
    ("Chinese answer", "{F}/text/chinese.txt", ("not_english",)),
    ("German answer", "{F}/text/german.txt", ("not_english",)),
    ("a folder with no audio", "{F}/text", ("missing", "empty", "not_audio", "unreadable")),
    ("/dev/zero", "/dev/zero", ("unreadable",)),
    ("/dev/null", "/dev/null", ("unreadable",)),
]:
    cli("input", name, "analyse", path, "--json", codes=FAILED, checks=[kind(*kinds)])
cli("input", "UTF-16 .txt with a BOM", "analyse", "{F}/text/utf16.txt", "--json", codes=OK, checks=[stored(1)])
cli("input", "CRLF line ends", "analyse", "{F}/text/crlf.txt", "--json", codes=OK, checks=[stored(1)])
cli("input", "one 1,500-word line, no punctuation", "analyse", "{F}/text/one-line.txt", "--json", codes=OK,
    checks=[stored(1)])
cli("input", "symbolic link loop", "analyse", "{T}/loop.wav", "--json", codes=FAILED,
    shell="ln -s {T}/loop.wav {T}/loop.wav && {cmd}", checks=[kind("unreadable"), says("symbolic link loop")])
cli("input", "dangling symbolic link", "analyse", "{T}/dangling.txt", "--json", codes=FAILED,
    shell="ln -s {T}/gone.txt {T}/dangling.txt && {cmd}", checks=[kind("missing", "unreadable"), says("broken")])
cli("input", "FIFO named .wav, no writer", "analyse", "{T}/f.wav", "--json", codes=FAILED,
    shell="mkfifo {T}/f.wav && {cmd}", checks=[kind("unreadable"), says("named pipe")], timeout_s=20)
cli("input", "FIFO named .txt, with a writer", "analyse", "{T}/f.txt", "--json", codes=FAILED,
    shell="mkfifo {T}/f.txt && exec 3<>{T}/f.txt && cat {F}/text/strong.txt >&3 && {cmd}", checks=[kind("unreadable")],
    timeout_s=20)
cli("input", "stdin: a transcript", "analyse", "-", "--json", codes=OK,
    shell="{cmd} < {F}/text/strong.txt", checks=[stored(1)])
cli("input", "stdin: /dev/zero", "analyse", "-", "--json", codes=FAILED, shell="{cmd} < /dev/zero",
    checks=[kind("too_large")], timeout_s=30)
cli("input", "stdin: empty", "analyse", "-", "--json", codes=FAILED, checks=[kind("empty")])
cli("input", "stdin: closed", "analyse", "-", "--json", codes=FAILED, shell="{cmd} <&-", checks=[kind("unreadable")])
cli("input", "stdin: binary", "analyse", "-", "--json", codes=FAILED, shell="{cmd} < {F}/audio/random.wav",
    checks=[kind("not_text")])
cli("input", "unreadable file (permissions enforced)", "analyse", "{T}/secret.txt", "--json", codes=FAILED,
    user="unprivileged", shell="cp {F}/text/strong.txt {T}/secret.txt && chmod 000 {T}/secret.txt && {cmd}",
    checks=[kind("unreadable"), says("permission denied")])
cli("input", "unreadable folder (permissions enforced)", "analyse", "{T}/locked", "--json", codes=FAILED,
    user="unprivileged", shell="mkdir -p {T}/locked/in && cp " + SHORT + " {T}/locked/in/a.wav && chmod 000 "
    "{T}/locked/in && {cmd}", checks=[kind("unreadable"), says("permission denied")])
cli("input", "a good and a bad file together", "analyse", STRONG, "{F}/text/binary.txt", "--json", codes=FAILED,
    checks=[stored(2)])

# --------------------------------------------------------------------------- audio that is not what it seems

for name, f, codes, kinds in [
    ("WAV header only", "header-only", FAILED, ("too_short", "silent", "not_audio", "empty")),
    ("truncated WAV (a third)", "truncated", {0, 1}, ()),
    ("corrupt WAV header", "corrupt-header", FAILED, ("not_audio", "unreadable")),
    ("WAV never closed (sizes unknown)", "unfinished", OK, ()),
    ("WAV claiming 4 GB of data", "claims-4gb", {0, 1}, ()),
    ("WAV with a sample rate of 0", "zero-rate", FAILED, ("not_audio", "unreadable")),
    ("random bytes named .wav", "random", FAILED, ("not_audio",)),
    ("a PNG named .wav", "png", FAILED, ("not_audio",)),
    ("text named .wav", "text", FAILED, ("not_audio",)),
    ("zero-length .wav", "empty", FAILED, ("empty", "not_audio")),
    ("garbage named .flac", "garbage", FAILED, ("not_audio", "unreadable")),
    ("5 s of silence", "silent", FAILED, ("silent",)),
    ("0.1 s", "blip", FAILED, ("too_short", "silent")),
    ("white noise", "noise", {0, 1}, ()),
    ("clipped (+24 dB)", "clipped", {0, 1}, ()),
    ("quiet (-45 dB)", "quiet", {0, 1}, ()),
    ("32-bit float WAV", "float", OK, ()),
]:
    ext = ".flac" if f == "garbage" else ".wav"
    cli("audio", name, "analyse", f"{{F}}/audio/{f}{ext}", "--json", codes=codes,
        checks=[kind(*kinds)] if kinds else [stored(1)])
cli("audio", "WAV named .mp3", "analyse", "{F}/audio/wav-named.mp3", "--json", codes=OK, checks=[stored(1)])
cli("audio", "FLAC", "analyse", "{F}/audio/short.flac", "--json", codes=OK, checks=[stored(1)])
for name, f in [("48 kHz", "r48000"), ("stereo, two identical channels", "stereo16k"), ("44.1 kHz stereo", "stereo44k"),
                ("8 kHz (telephone band)", "r8000")]:
    def act(c, f=f):
        c.run(["analyse", SHORT, "--json"])
        c.run(["analyse", f"{{F}}/audio/{f}.wav", "--json"])
    add("audio", f"{name}: checklist as at 16 kHz mono", act, codes=OK,
        check=band_limited if f == "r8000" else same_checklist("16 kHz mono"))
cli("audio", "over 20 minutes", "analyse", "{T}/long.wav", "--json", codes=FAILED,
    shell="sox -n -r 8000 -c 1 {T}/long.wav trim 0 1230 && {cmd}", checks=[kind("too_large", "too_long", "silent")],
    timeout_s=180)
cli("audio", "a folder of good and bad audio", "analyse", "{T}/mixed", "--json", codes=FAILED,
    shell="mkdir {T}/mixed && cp {F}/audio/tiny.wav {F}/audio/random.wav {F}/audio/empty.wav {T}/mixed/ && {cmd}",
    lines=2, checks=[stored(3)])
cli("audio", "practice --mic-file silence", *PRACTICE, "{F}/audio/silent.wav", codes=OK, timeout_s=120)
cli("audio", "practice --mic-file 8 kHz", *PRACTICE, "{F}/audio/r8000.wav", codes=OK, timeout_s=120)
cli("audio", "practice --mic-file 44.1 kHz stereo", *PRACTICE, "{F}/audio/stereo44k.wav", codes=OK, timeout_s=120)

# --------------------------------------------------------------------------- HTML injection through export

INJECTED = ("<script>alert", "<img src=x")  # escaped, "onerror=alert(1)" is only text


def _no_markup(path_in_tmp: str):
    def check(c, before, after):
        page = (c.tmp / path_in_tmp).read_text() if (c.tmp / path_in_tmp).exists() else ""
        if not page:
            c.wrong("no page written")
        for s in INJECTED:
            if s in page:
                c.wrong(f"{s!r} reached {path_in_tmp} unescaped")
    return check


def _inject_analyse(fmt: str):
    def act(c):
        c.run(["analyse", "{F}/text/inject.txt", "--question", '<script>alert("q")</script> Tell me about a time',
               "--company", "inject", "--json"], env={"STARCOACH_BANKS": "{F}/toml/inject"}, expect=OK)
        c.run(["export", "latest", "--format", fmt, "-o", f"{{T}}/page.{fmt}"], env={"STARCOACH_BANKS": "{F}/toml/inject"},
              expect=OK)
    return act


for fmt in ("html", "md"):
    add("html", f"injected answer, question, company: export {fmt}", _inject_analyse(fmt), check=_no_markup(f"page.{fmt}"))


def _inject_practice(c):
    env = {"STARCOACH_BANKS": "{F}/toml/inject"}
    c.run([*PRACTICE, TINY, "--question-id", "inj-1", "--company", "inject"], env=env, expect=OK)
    c.run(["export", "latest", "-o", "{T}/page.html"], env=env, expect=OK)


add("html", "injected bank question in practice: export html", _inject_practice, check=_no_markup("page.html"),
    timeout_s=150)
cli("html", "markup in a file name", "analyse", "{T}/[/bold].txt", codes=FAILED, checks=[says(r"\[/bold\]\.txt")])
cli("html", "markup in a company name and question", "companies", env={"STARCOACH_BANKS": "{F}/toml/markup"},
    codes=OK, lines=None)
cli("html", "markup in a question shown by questions", "questions", "--bank", "mk",
    env={"STARCOACH_BANKS": "{F}/toml/markup"}, codes=OK)
cli("html", "markup in an answer shown in the terminal", "analyse", "{T}/m.txt", codes=OK,
    shell="(cat {F}/text/strong.txt; echo ' [/bold] [link=file:///etc/passwd]x[/link] [/]') > {T}/m.txt && {cmd}")

# --------------------------------------------------------------------------- odd environments

for name, env in [("HOME unset", {"HOME": None}), ("LANG=C LC_ALL=C", {"LANG": "C", "LC_ALL": "C"}),
                  ("LC_ALL=POSIX", {"LC_ALL": "POSIX"}), ("TERM=dumb", {"TERM": "dumb"}),
                  ("NO_COLOR=1", {"NO_COLOR": "1"}), ("COLUMNS=10", {"COLUMNS": "10"}),
                  ("COLUMNS=abc", {"COLUMNS": "abc"}), ("TMPDIR missing", {"TMPDIR": "{T}/no/such"}),
                  ("STARCOACH_BANKS missing", {"STARCOACH_BANKS": "{T}/no/such"}),
                  ("STARCOACH_BANKS a file", {"STARCOACH_BANKS": STRONG}),
                  ("STARCOACH_HOME empty (./recordings)", {"STARCOACH_HOME": ""})]:
    cli("env", f"{name}: analyse (report)", "analyse", STRONG, env=env, codes=OK, lines=None, checks=[stored(1)]
        if "STARCOACH_HOME" not in env else [])
for name, env in [("HOME unset", {"HOME": None}), ("LANG=C", {"LANG": "C", "LC_ALL": "C"}),
                  ("COLUMNS=10", {"COLUMNS": "10"}), ("TMPDIR missing", {"TMPDIR": "{T}/no/such"})]:
    cli("env", f"{name}: practice", *PRACTICE, TINY, env=env, codes=OK, timeout_s=120)


def _narrow(c):
    for args in (["sessions"], ["progress", "--kind", "all"], ["replay", "--no-audio"], ["companies", "amazon"]):
        c.run(args, env={"COLUMNS": "10"}, expect=OK)


add("env", "COLUMNS=10: sessions, progress, replay, companies", _narrow, seed=True)
cli("env", "HOME unset: vault init", "vault", "init", env={"HOME": None}, codes=OK)
cli("env", "the working folder deleted", "analyse", STRONG, "--json", codes=OK,
    shell="mkdir {T}/gone && cd {T}/gone && rmdir {T}/gone && {cmd}", checks=[stored(1)])
cli("env", "analyse audio with LANG=C and TERM=dumb", "analyse", SHORT, env={"LANG": "C", "TERM": "dumb"},
    codes=OK, lines=None, checks=[stored(1)])

import fault_scenarios  # noqa: E402,F401  (adds the cases in more than a line)
