"""The fault matrix's cases in more than a line: TOML, the database, a full disk, streams, signals, two
processes.  Registered into fault_cases.CASES on import."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import soundfile as sf
from fault_cases import (
    FAILED,
    INTERRUPTED,
    OK,
    PRACTICE,
    STORAGE,
    STRONG,
    TINY,
    USAGE,
    add,
    cli,
    objects,
    says,
    stored,
)

LONG = "{F}/audio/long.wav"
BATCH = "{F}/batch"

# --------------------------------------------------------------------------- banks, company profiles, vault.toml

for broken in ("malformed", "deep", "huge", "latin1", "wrong-types", "empty"):
    banks = {"STARCOACH_BANKS": f"{{F}}/toml/bank-{broken}"}
    cli("toml", f"question bank: {broken}", "questions", env=banks, codes=USAGE)
    companies = {"STARCOACH_BANKS": f"{{F}}/toml/company-{broken}"}
    cli("toml", f"company profile: {broken}", "companies", env=companies, codes=USAGE)
    cli("toml", f"company profile {broken}: analyse", "analyse", STRONG, "--company", "amazon", env=companies,
        codes=USAGE)
    cli("toml", f"vault.toml {broken}: analyse still judges", "analyse", STRONG, "--json", codes=OK,
        shell=f"mkdir -p {{D}} && cp {{F}}/toml/vault/{broken}.toml {{D}}/vault.toml && {{cmd}}",
        checks=[stored(1)] + ([says("vault")] if broken != "empty" else []))
    cli("toml", f"vault {broken}: vault list", "vault", "--vault", f"{{F}}/toml/vault/{broken}.toml", "list",
        codes={0} if broken == "empty" else {1, 2})
for name in ("duplicate", "no-text", "bad-competency"):
    cli("toml", f"question bank: {name}", "questions", env={"STARCOACH_BANKS": f"{{F}}/toml/bank-{name}"},
        codes=USAGE)
cli("toml", "company profile: no values", "companies", env={"STARCOACH_BANKS": "{F}/toml/company-no-values"},
    codes=USAGE)
cli("toml", "vault: stories of the wrong types", "vault", "--vault", "{F}/toml/vault/stories-wrong.toml", "list",
    codes={1, 2})
cli("toml", "practice --focus gaps with a deep vault", "practice", "--focus", "gaps", "--company", "amazon",
    "--vault", "{F}/toml/vault/deep.toml", "--mic-file", TINY, "--no-speak", "-n", "1", "--end-silence", "1",
    codes=OK, checks=[says("vault not used.*nested too deeply")], timeout_s=120)

# --------------------------------------------------------------------------- the database and the data folder


def _write(c, rel: str, data: bytes) -> None:
    p = c.data / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def _damage_inside(c) -> None:
    db = c.data / "starcoach.db"
    raw = bytearray(db.read_bytes())
    for at in range(4096, len(raw), 4096):  # every page after the first, its header overwritten
        raw[at: at + 64] = b"\xa5" * 64
    db.write_bytes(bytes(raw))


def _future_schema(c) -> None:
    con = sqlite3.connect(c.data / "starcoach.db")
    con.execute("INSERT INTO schema_migrations VALUES (99, 'from a newer version', '2030-01-01')")
    con.commit()
    con.close()


corrupt = dict(setup=lambda c: _write(c, "starcoach.db", os.urandom(40_000)))
for name, args, codes in [("sessions", ("sessions",), USAGE), ("analyse", ("analyse", STRONG, "--json"), {2, 3}),
                          ("practice", (*PRACTICE, TINY), USAGE), ("replay", ("replay", "--no-audio"), USAGE),
                          ("export", ("export", "latest"), USAGE), ("reanalyse", ("reanalyse", "--all"), USAGE),
                          ("progress", ("progress",), USAGE)]:
    cli("database", f"random bytes as the database: {name}", *args, codes=codes, timeout_s=120, **corrupt)
cli("database", "damaged inside: sessions", "sessions", codes=USAGE, seed=True, setup=_damage_inside)
cli("database", "damaged inside: analyse", "analyse", STRONG, "--json", codes={2, 3}, seed=True,
    setup=_damage_inside)
cli("database", "zero-byte database: analyse", "analyse", STRONG, "--json", codes=OK, checks=[stored(1)],
    setup=lambda c: _write(c, "starcoach.db", b""))
cli("database", "the database is a folder", "analyse", STRONG, "--json", codes={2, 3},
    setup=lambda c: (c.data / "starcoach.db").mkdir(parents=True))
cli("database", "from a newer schema: sessions", "sessions", codes=USAGE, seed=True, setup=_future_schema)
cli("database", "from a newer schema: analyse", "analyse", STRONG, "--json", codes={2, 3}, seed=True,
    setup=_future_schema)
ro = dict(seed=True, user="unprivileged", shell="chmod 444 {D}/starcoach.db && {cmd}")
cli("database", "read-only database (permissions enforced): analyse", "analyse", STRONG, "--json", codes=STORAGE,
    checks=[says("not (be )?stored")], **ro)
cli("database", "read-only database (permissions enforced): sessions", "sessions", codes={0, 2}, **ro)
cli("database", "read-only database (permissions enforced): practice", *PRACTICE, TINY, codes={2, 3}, timeout_s=120,
    **ro)
cli("database", "read-only database (permissions enforced): reanalyse", "reanalyse", "--all", codes={2, 3}, **ro)
cli("database", "data folder is a file: analyse", "analyse", STRONG, "--json", codes=STORAGE,
    setup=lambda c: c.data.write_text("x"))
cli("database", "data folder is a file: practice", *PRACTICE, TINY, codes={2, 3},
    setup=lambda c: c.data.write_text("x"))
cli("database", "data folder is a file: sessions", "sessions", codes={0, 2}, setup=lambda c: c.data.write_text("x"))
cli("database", "data folder inside a file", "analyse", STRONG, "--json", codes=STORAGE,
    env={"STARCOACH_HOME": "{T}/file/data"}, shell="echo x > {T}/file && {cmd}")
cli("database", "data folder not writable (permissions enforced)", "analyse", STRONG, "--json", codes=STORAGE,
    user="unprivileged", env={"STARCOACH_HOME": "{T}/data/inner"}, shell="mkdir -p {D} && chmod 555 {D} && {cmd}")
cli("database", "data folder is a symbolic-link loop", "analyse", STRONG, "--json", codes=STORAGE,
    shell="ln -s {D} {D} && {cmd}")


def _read_only_fs(c) -> None:
    if c.tmpfs(c.data, "4m"):
        subprocess.run(["cp", "-a", f"{c.fix}/seed/.", str(c.data)], check=True)
        c.remount_ro(c.data)


for name, args, codes in [("analyse", ("analyse", STRONG, "--json"), STORAGE),
                          ("practice", (*PRACTICE, TINY), {2, 3}), ("sessions", ("sessions",), {0, 2}),
                          ("export -o inside it", ("export", "latest", "-o", "{D}/x.html"), {1, 2}),
                          ("reanalyse", ("reanalyse", "--all"), {2, 3})]:
    cli("database", f"read-only file system: {name}", *args, codes=codes, setup=_read_only_fs, timeout_s=120)


def _locked(hold_s: float, codes, *args: str):
    def act(c):
        c.run(["reanalyse", "--all"])  # makes the database (commands that only look, like sessions, do not)
        holder = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1]);"
                                   " db.execute('BEGIN EXCLUSIVE'); print('held', flush=True); "
                                   "time.sleep(float(sys.argv[2]))", str(c.data / "starcoach.db"), str(hold_s)],
                                  stdout=subprocess.PIPE, text=True)
        holder.stdout.readline()
        try:
            c.run(list(args), expect=codes, timeout_s=hold_s + 60)
        finally:
            holder.kill()
            holder.wait()
    return act


add("database", "locked by another process for 20 s: analyse", _locked(20, {2, 3}, "analyse", STRONG, "--json"),
    timeout_s=120, check=lambda c, b, a: says("another starcoach process|locked|busy")(c, b, a))
add("database", "locked by another process for 2 s: analyse", _locked(2, OK, "analyse", STRONG, "--json"),
    check=stored(1))
add("database", "locked for 20 s: practice", _locked(20, {2, 3}, *PRACTICE, TINY), timeout_s=120)

# --------------------------------------------------------------------------- a full disk


def _small_disk(room_kb: int):
    def setup(c):
        disk = c.tmp / "disk"
        if not c.tmpfs(disk, "1m"):
            return
        c.data = disk / "data"
        subprocess.run(["cp", "-a", f"{c.fix}/seed/.", str(c.data)], check=True)
        st = os.statvfs(disk)
        (disk / "filler").write_bytes(b"\0" * max(0, st.f_bavail * st.f_frsize - room_kb * 1024))
    return setup


def _kept_audio(min_s: float):
    def check(c, before, after):
        new = [a for aid, a in after.answers.items() if aid not in before.answers and a[2]]
        if not new:
            c.loss("no answer row for the recording")
            return
        wav = c.data / new[-1][2]
        try:
            seconds = sf.info(str(wav)).duration
        except Exception as e:  # noqa: BLE001 - any failure to read it is the finding
            c.loss(f"{wav.name} unreadable: {e}")
            return
        if seconds < min_s:
            c.loss(f"only {seconds:.1f} s of audio kept")
    return check


add("disk", "tmpfs fills up mid-answer (practice)", lambda c: c.run([*PRACTICE, LONG], lines=None), codes=STORAGE,
    setup=_small_disk(200), check=lambda c, b, a: (_kept_audio(2.0)(c, b, a), says("is full", "out")(c, b, a)),
    timeout_s=150)
add("disk", "tmpfs already full (analyse two answers)",
    lambda c: c.run(["analyse", STRONG, "{F}/text/crlf.txt", "--json"]), codes=STORAGE, setup=_small_disk(0),
    check=lambda c, b, a: (says("is full")(c, b, a), len(objects(c.runs[-1])) == 2 or c.wrong("results missing")))
add("disk", "tmpfs full: export -o onto it", lambda c: c.run(["export", "latest", "-o", f"{c.data}/page.html"]),
    codes={1, 2, 3}, setup=_small_disk(0))
add("disk", "tmpfs full: vault init", lambda c: c.run(["vault", "init"]), codes={1, 2, 3}, setup=_small_disk(0))
cli("disk", "ulimit -f 160 KB mid-answer (practice, EFBIG)", *PRACTICE, LONG, codes=STORAGE, lines=None,
    shell="ulimit -f 160 && {cmd}", timeout_s=150)
cli("disk", "ulimit -f 8 KB (analyse, EFBIG on the database)", "analyse", STRONG, "--json", codes=STORAGE,
    shell="ulimit -f 8 && {cmd}")

# --------------------------------------------------------------------------- standard streams

for name, args, seed in [("analyse --json", ("analyse", STRONG, "--json"), False),
                         ("analyse (report)", ("analyse", STRONG), False), ("companies", ("companies",), False),
                         ("sessions", ("sessions",), True), ("export --format md", ("export", "latest", "--format",
                                                                                    "md"), True),
                         ("practice", (*PRACTICE, TINY), False)]:
    cli("streams", f"{name} >&- (stdout closed)", *args, shell="{cmd} >&-", seed=seed, codes={1}, timeout_s=120)
    cli("streams", f"{name} > /dev/full", *args, shell="{cmd} > /dev/full", seed=seed, codes={1}, timeout_s=120)
for name, args, seed in [("analyse --json", ("analyse", STRONG, "--json"), False),
                         ("analyse folder --json", ("analyse", BATCH, "--json"), False),
                         ("companies", ("companies",), False), ("questions", ("questions",), False),
                         ("sessions", ("sessions",), True), ("replay", ("replay", "--no-audio"), True),
                         ("progress", ("progress", "--kind", "all"), True),
                         ("export --format json", ("export", "latest", "--format", "json"), True)]:
    cli("streams", f"{name} | head -c1", *args, shell="set -o pipefail; {cmd} | head -c1 >/dev/null", seed=seed,
        codes=OK, timeout_s=120)
cli("streams", "analyse missing file 2>&- (stderr closed)", "analyse", "{T}/none.txt", shell="{cmd} 2>&-",
    codes=FAILED, lines=None)
cli("streams", "practice 2>&-", *PRACTICE, TINY, shell="{cmd} 2>&-", codes=OK, timeout_s=120, lines=None)
cli("streams", "practice <&- (stdin closed)", *PRACTICE, TINY, shell="{cmd} <&-", codes=OK, timeout_s=120)
cli("streams", "practice < /dev/zero", *PRACTICE, TINY, shell="{cmd} < /dev/zero", codes=OK, timeout_s=120)
cli("streams", "vault add <&-", "vault", "add", shell="{cmd} <&-", codes={1, 2})
cli("streams", "vault add < /dev/null", "vault", "add", codes={1, 2})

# --------------------------------------------------------------------------- signals


def _session_statuses(c) -> list[str]:
    try:
        return [r[0] for r in c.query("SELECT status FROM sessions ORDER BY id")]
    except sqlite3.Error:
        return []


def _signal_analyse(sig: int, when: str, inputs: tuple[str, ...], n: int):
    def act(c):
        p = c.start(["analyse", *inputs, "--json", "--workers", "2"], expect=INTERRUPTED if sig == signal.SIGINT
                    else {143}, lines=None)
        if when == "at start":
            time.sleep(0.4)
        elif when == "loading the model":
            p.wait_for("Transcribing with")
        else:
            p.wait_for('"schema"', 120)
        p.send(sig, group=sig == signal.SIGINT)  # ^C reaches the process group; kill PID one process
        r = p.finish(20)
        if r.code in (130, 143) and "running" in _session_statuses(c):
            c.wrong("the stopped session is still marked running")
        r = c.run(["analyse", *inputs, "--json"], expect=OK, timeout_s=180)
        if len(objects(r)) != n or any(o["error"] for o in objects(r)):
            c.loss(f"the rerun gave {len(objects(r))} results of {n}")
    return act


files = tuple(f"{BATCH}/answer-{i}.wav" for i in (1, 2, 3))
for sig, sname in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
    for when in ("at start", "loading the model", "after the first result"):
        add("signals", f"{sname} analyse folder {when}", _signal_analyse(sig, when, (BATCH,), 3), timeout_s=300)
    add("signals", f"{sname} batch of three files + --csv after the first result",
        _signal_analyse(sig, "after the first result", (*files, "--csv", "{T}/out.csv"), 3), timeout_s=300)


def _signal_practice(sig: int, when: str):
    def act(c):
        p = c.start([*PRACTICE, LONG], expect=INTERRUPTED if sig == signal.SIGINT else {143}, lines=None)
        if when == "at start":
            time.sleep(0.4)
        else:
            p.wait_for("Question 1/1")
            time.sleep(5)
        p.send(sig, group=sig == signal.SIGINT)  # ^C reaches the process group; kill PID one process
        p.finish(30)
        if "running" in _session_statuses(c):
            c.wrong("the stopped session is still marked running")
    return act


for sig, sname in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
    add("signals", f"{sname} practice at start", _signal_practice(sig, "at start"), timeout_s=120)
    add("signals", f"{sname} practice mid-answer", _signal_practice(sig, "mid-answer"), timeout_s=120,
        check=_kept_audio(3.0))


def _kill9_practice(c):
    p = c.start([*PRACTICE, LONG], expect=None, lines=None)
    p.wait_for("Question 1/1")
    time.sleep(5)
    p.send(signal.SIGKILL)
    p.finish(10)
    r = c.run([*PRACTICE, TINY], stdin=b"\n", expect=OK, timeout_s=180)
    if "was not finished" not in r.out:
        c.wrong("the killed answer was not offered for recovery")


def _kill9_analyse(c):
    p = c.start(["analyse", BATCH, "--json", "--workers", "2"], expect=None, lines=None)
    p.wait_for('"schema"', 120)
    p.send(signal.SIGKILL)
    p.finish(10)
    r = c.run(["analyse", BATCH, "--json"], expect=OK, timeout_s=180)
    if len(objects(r)) != 3:
        c.loss(f"the rerun gave {len(objects(r))} results of 3")


def _recovered(c, before, after):
    rows = c.query("SELECT status, audio_path FROM answers ORDER BY id")
    if not rows or rows[0][0] != "analysed":
        c.loss(f"the killed answer is {rows[0][0] if rows else 'gone'}, not recovered")
    elif sf.info(str(c.data / rows[0][1])).duration < 3.0:
        c.loss("the recovered answer kept under 3 s")


add("signals", "kill -9 practice mid-answer, then practice again", _kill9_practice, timeout_s=240, check=_recovered)
add("signals", "kill -9 analyse folder mid-batch, then again", _kill9_analyse, timeout_s=300)

# --------------------------------------------------------------------------- two processes on one data folder


def _two(first: tuple, second: tuple, wait: str = "", n_answers: int = 0, stdin2=None):
    def act(c):
        a = c.start(list(first), expect=OK)
        if wait:
            a.wait_for(wait, 120)
            time.sleep(2)
        b = c.start(list(second), expect=OK, stdin=stdin2)
        rb = b.finish(180)
        a.finish(180)
        if "was not finished" in rb.out:
            c.wrong("the second offered to recover the first one's live answer")
        if n_answers and len(c.query("SELECT id FROM answers WHERE status = 'analysed'")) != n_answers:
            c.loss(f"not {n_answers} answers analysed")
    return act


add("two", "two analyse of a text at once", _two(("analyse", STRONG, "--json"), ("analyse", STRONG, "--json"),
                                                 n_answers=2))
add("two", "two analyse of a folder at once", _two(("analyse", BATCH, "--json", "--workers", "1"),
                                                   ("analyse", BATCH, "--json", "--workers", "1"), n_answers=6),
    timeout_s=300)
add("two", "a second practice while the first records", _two((*PRACTICE, LONG), (*PRACTICE, TINY), "Question 1/1",
                                                             2), timeout_s=300)  # no prompt: the live answer is not offered
add("two", "analyse while practice records", _two((*PRACTICE, LONG), ("analyse", STRONG, "--json"), "Question 1/1",
                                                  2), timeout_s=300)
