"""The inputs of the fault matrix (benchmarks/fault_matrix.py): spoken answers, broken files, TOML, a seed folder.

Made once per run in one folder: espeak-ng speaks short answers written for
this matrix, sox and numpy make the variants (rates, channels, clipping,
silence), and the rest are bytes written here.  ``seed`` is a data folder
with one analysed text answer and one practice answer with its recording,
copied into a case that needs stored data to lose.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent

#: Answers written for the matrix (not taken from any data set).
SHORT = ("So you want to hear about a time I fixed something nobody owned. Last winter I ran the help desk queue "
         "at a small library. I read the printer logs and found a bad driver, and I rolled it back. The printer "
         "tickets fell from thirty a week to two, and that is the ownership I would bring here.")
TINY = "Last year I owned the rota. I rebuilt it, and missed shifts fell by half."
OTHERS = (
    "I disagreed with a colleague about a launch date, so I proposed a pilot with ten shops. The pilot found two "
    "bugs, we fixed them first, and the launch went out a week later with no refunds.",
    "My task was to cut the cost of our nightly reports. I moved them to one shared query and cached the slow "
    "joins, and the bill dropped by forty percent in a month.",
    "When our mentor left, I took over onboarding for three new analysts. I wrote a checklist and paired with each "
    "of them, and all three shipped their first change within two weeks.",
)
STRONG = ("So you'd like to hear about a time I took ownership of a problem outside my role. Last spring I was an "
          "analyst at a small delivery firm, and our weekly report showed drivers idle at one depot. My task was to "
          "find out why before the quarterly review. I compared the shift plans with the scanner logs and found "
          "that one depot's clock ran an hour behind. I had it fixed and rebuilt the report, and idle time fell "
          "from fourteen percent to three. That is how I would own problems for your customers.")
INJECT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _speak(text: str, path: Path, wpm: int = 170) -> None:
    raw = path.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-s", str(wpm), "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path)], check=True,
                   capture_output=True)
    raw.unlink()


def _sox(src: Path, dst: Path, *effects: str, rate: int = 16000, channels: int = 1) -> None:
    subprocess.run(["sox", "-D", str(src), "-r", str(rate), "-c", str(channels), str(dst), *effects], check=True,
                   capture_output=True)


def _wav_bytes_with(header_patch: dict[int, bytes], src: Path) -> bytes:
    raw = bytearray(src.read_bytes())
    for at, b in header_patch.items():
        raw[at: at + len(b)] = b
    return bytes(raw)


def _deep_toml(depth: int) -> str:
    return "x = " + "[" * depth + "]" * depth + "\n"


def _company(cid: str, name: str) -> str:
    return (f'id = "{cid}"\nname = "{name}"\nsummary = "A profile for the fault matrix."\n\n[[values]]\n'
            'id = "ownership"\nname = "Ownership"\nmeaning = "You act for the whole company."\n'
            'cues = ["owner", "ownership"]\nthemes = ["ownership"]\n')


def _bank(bid: str, questions: list[tuple[str, str]]) -> str:
    parts = [f'id = "{bid}"\nname = "Matrix bank"\n']
    for qid, text in questions:
        parts.append(f'[[questions]]\nid = "{qid}"\ntext = "{text}"\ncompetencies = ["ownership"]\n')
    return "\n".join(parts)


def _banks_folder(root: Path, *, bank: str | bytes | None = None, company: str | bytes | None = None) -> Path:
    for sub in ("questions", "companies"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for sub, content in (("questions", bank), ("companies", company)):
        if content is not None:
            raw = content if isinstance(content, bytes) else content.encode()
            named = re.match(rb'id = "([a-z0-9-]+)"', raw)  # a file is named after its id
            (root / sub / f"{named.group(1).decode() if named else 'user'}.toml").write_bytes(raw)
    return root


def build(fix: Path) -> Path:
    """Every input, in ``fix``; returns it.  Takes a minute (two practice answers played in real time)."""
    if (fix / ".done").exists():
        return fix
    fix.mkdir(parents=True, exist_ok=True)
    a = fix / "audio"
    a.mkdir(exist_ok=True)
    _speak(SHORT, a / "short.wav")
    _speak(TINY, a / "tiny.wav", wpm=190)
    x, rate = sf.read(a / "short.wav", dtype="float32")
    sf.write(a / "long.wav", np.concatenate([x, np.zeros(rate // 2, np.float32)] * 4), rate, subtype="PCM_16")
    batch = fix / "batch"
    batch.mkdir(exist_ok=True)
    for i, text in enumerate(OTHERS):
        _speak(text, batch / f"answer-{i + 1}.wav")
    _sox(a / "short.wav", a / "r8000.wav", rate=8000)
    _sox(a / "short.wav", a / "r48000.wav", rate=48000)
    _sox(a / "short.wav", a / "stereo16k.wav", channels=2)
    _sox(a / "short.wav", a / "stereo44k.wav", rate=44100, channels=2)
    _sox(a / "short.wav", a / "clipped.wav", "gain", "24")  # sox clips what goes over full scale
    _sox(a / "short.wav", a / "quiet.wav", "gain", "-45")
    sf.write(a / "silent.wav", np.zeros(5 * 16000, np.float32), 16000, subtype="PCM_16")
    sf.write(a / "blip.wav", np.full(1600, 0.2, np.float32), 16000, subtype="PCM_16")  # 0.1 s
    rng = np.random.default_rng(11)
    sf.write(a / "noise.wav", (0.3 * rng.standard_normal(5 * 16000)).astype(np.float32), 16000, subtype="PCM_16")
    sf.write(a / "float.wav", x, rate, subtype="FLOAT")
    sf.write(a / "short.flac", x, rate)
    short = (a / "short.wav").read_bytes()
    (a / "header-only.wav").write_bytes(short[:44])
    (a / "truncated.wav").write_bytes(short[: len(short) // 3])
    (a / "corrupt-header.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4 + short[300:])
    (a / "unfinished.wav").write_bytes(_wav_bytes_with({4: b"\xff\xff\xff\xff", 40: b"\xff\xff\xff\xff"},
                                                       a / "short.wav"))
    (a / "claims-4gb.wav").write_bytes(_wav_bytes_with({40: b"\x00\x00\x00\xf0"}, a / "short.wav"))
    (a / "zero-rate.wav").write_bytes(_wav_bytes_with({24: b"\x00\x00\x00\x00"}, a / "short.wav"))
    (a / "random.wav").write_bytes(rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    (a / "png.wav").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    (a / "text.wav").write_text(SHORT)
    (a / "empty.wav").write_bytes(b"")
    (a / "wav-named.mp3").write_bytes(short)
    (a / "garbage.flac").write_bytes(b"fLaC" + bytes(range(256)) * 8)
    t = fix / "text"
    t.mkdir(exist_ok=True)
    (t / "strong.txt").write_text(STRONG)
    (t / "empty.txt").write_text("")
    (t / "blank.txt").write_text(" \n\t\n  \n")
    (t / "huge.txt").write_text((STRONG + "\n") * 700)  # about 400 KiB, over the 256 KiB limit
    (t / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (t / "nul.txt").write_bytes(STRONG.encode()[:200] + b"\x00" * 50 + STRONG.encode()[200:])
    (t / "latin1.txt").write_bytes(STRONG.replace("Last", "Caf\xe9 talk aside, last", 1).encode("latin-1"))
    (t / "utf16.txt").write_bytes(STRONG.encode("utf-16"))
    (t / "wav-named.txt").write_bytes(short)
    (t / "chinese.txt").write_text("去年我在一家小型物流公司做分析师。我发现一个仓库的时钟慢了一个小时，修好以后空闲时间从百分之十四降到百分之三。")
    (t / "german.txt").write_text("Letztes Jahr war ich Analyst bei einer kleinen Spedition. Ich habe die Uhr im Lager "
                                  "repariert, und die Wartezeit ist von vierzehn auf drei Prozent gesunken.")
    (t / "one-line.txt").write_text(" ".join(STRONG.replace(".", "").replace(",", "").split()) * 20)
    (t / "inject.txt").write_text(STRONG.replace("Last spring", f"Last spring {INJECT}", 1))
    (t / "crlf.txt").write_bytes(STRONG.replace(". ", ".\r\n").encode())
    (t / "-dash.txt").write_text(STRONG)
    (t / "manifest-binary.csv").write_bytes(bytes(range(256)))
    (t / "manifest.csv").write_text("file,question\nnot-here.wav,Tell me about a time.\n")
    (t / "editor-fail.sh").write_text("#!/bin/sh\nexit 7\n")
    (t / "editor-fail.sh").chmod(0o755)
    _tomls(fix / "toml")
    _seed(fix)
    (fix / ".done").write_text("")
    return fix


def _tomls(d: Path) -> None:
    """Banks and company profiles (each a STARCOACH_BANKS folder) and vault files, each broken one way."""
    good_bank = _bank("matrix", [("mx-001", "Tell me about a time you owned a problem nobody else would.")])
    broken = {
        "malformed": 'id = "oops\nname = [1, 2\n',
        "deep": 'id = "deep"\n' + _deep_toml(5000),
        "huge": good_bank + "# padding line for size\n" * 200_000,  # 4.8 MB, over the 4 MiB limit
        "latin1": ('id = "latin"\nname = "Caf\xe9"\n').encode("latin-1"),
        "wrong-types": 'id = 7\nname = ["not", "a", "string"]\nquestions = "none"\nvalues = 3\n',
        "empty": "",
    }
    for kind, content in broken.items():
        _banks_folder(d / f"bank-{kind}", bank=content)
        _banks_folder(d / f"company-{kind}", company=content)
    _banks_folder(d / "bank-duplicate", bank=_bank("dup", [("dup-1", "Tell me about a time you led."),
                                                           ("dup-1", "Tell me about a time you failed.")]))
    _banks_folder(d / "bank-no-text", bank='id = "nt"\nname = "No text"\n[[questions]]\nid = "nt-1"\n'
                                           'competencies = ["ownership"]\n')
    _banks_folder(d / "bank-bad-competency", bank=_bank("bc", [("bc-1", "Tell me.")]).replace('"ownership"',
                                                                                             '"juggling"'))
    _banks_folder(d / "company-no-values", company='id = "novalues"\nname = "No values"\nsummary = "x"\n')
    _banks_folder(d / "inject", bank=_bank("inj", [("inj-1", f"Tell me about a time {INJECT.replace(chr(34), '')}"
                                                              " you owned a problem.")]),
                  company=_company("inject", INJECT.replace('"', "'")))
    _banks_folder(d / "markup", bank=_bank("mk", [("mk-1", "Tell me about a [/bold] time you [red]owned[/] it.")]),
                  company=_company("markup", "[/red] Markup [link=file:///etc/passwd]Ltd[/link]"))
    v = d / "vault"
    v.mkdir(exist_ok=True)
    for kind, content in broken.items():
        f = v / f"{kind}.toml"
        f.write_bytes(content if isinstance(content, bytes) else content.encode())
    (v / "stories-wrong.toml").write_text('[[stories]]\nid = 5\ntitle = ["x"]\nsituation = 3\n')


def _seed(fix: Path) -> None:
    """A data folder with stored work: an analysed text answer and a practice answer with its recording."""
    seed = fix / "seed"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "STARCOACH_HOME": str(seed),
           "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "starcoach"]
    subprocess.run([*cmd, "analyse", str(fix / "text" / "strong.txt"), "--company", "amazon", "--json"], env=env,
                   check=True, capture_output=True, timeout=120)
    subprocess.run([*cmd, "practice", "--mic-file", str(fix / "audio" / "tiny.wav"), "--no-speak", "-n", "1",
                    "--end-silence", "1", "--company", "amazon"], env=env, check=True, capture_output=True,
                   stdin=subprocess.DEVNULL, timeout=240)
    if not list(seed.rglob("answer-*.wav")):
        raise SystemExit("the seed practice stored no recording")


def banks(fix: Path, name: str) -> str:
    return str(fix / "toml" / name)


def copy_seed(fix: Path, data: Path) -> None:
    shutil.copytree(fix / "seed", data)
