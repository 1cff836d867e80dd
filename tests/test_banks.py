from pathlib import Path

import pytest

from starcoach.catalogue.banks import COMPETENCIES, BankError, load_catalogue, load_company, search_dirs


def test_builtin_banks_are_complete():
    cat = load_catalogue()
    assert len(cat.companies) >= 12
    assert len(cat.questions) >= 60
    amazon = cat.company("amazon")
    names = {v.name for v in amazon.values}
    for lp in ("Customer Obsession", "Ownership", "Invent and Simplify", "Dive Deep", "Bias for Action",
               "Deliver Results", "Earn Trust", "Frugality", "Think Big"):
        assert lp in names
    assert len(amazon.values) == 16
    dd = cat.company("DoorDash")
    assert {"We are leaders", "We are doers", "We are learners", "We are one team"} <= {v.name for v in dd.values}
    for c in cat.companies.values():
        for v in c.values:
            assert v.meaning and len(v.cues) >= 5, (c.id, v.id)
    used = {t for q in cat.questions for t in q.competencies}
    assert used == set(COMPETENCIES)


def write(dirpath: Path, kind: str, name: str, text: str) -> Path:
    d = dirpath / kind
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_text(text)
    return p


ACME = '''id = "acme"
name = "Acme Analytics"
summary = "A made-up company for tests."

[[values]]
id = "measure-twice"
name = "Measure twice"
meaning = "Check the numbers before acting on them."
cues = ["double-checked", "validated", "sanity check", "reconciled", "verified"]
'''



def test_a_file_is_parsed_again_only_when_its_bytes_change(tmp_path, monkeypatch):
    """The same path with the same bytes gives what was made before; an edit (even of the same size),
    a new path with the same bytes, and a file fixed after an error are all read afresh."""
    from starcoach.catalogue import banks

    parsed: list[Path] = []
    real = banks._parse_company
    monkeypatch.setattr(banks, "_parse_company", lambda path, raw: parsed.append(path) or real(path, raw))
    f = write(tmp_path, "companies", "acme.toml", ACME)
    first = load_company(f)
    assert load_company(f) is first and parsed == [f]
    f.write_text(ACME.replace("Measure twice", "Measure again"))
    assert f.stat().st_size == len(ACME)  # the same size: only the contents tell
    assert load_company(f).values[0].name == "Measure again" and parsed == [f, f]
    g = write(tmp_path / "other", "companies", "acme.toml", ACME)
    assert load_company(g).path == g and parsed == [f, f, g]
    f.write_text(ACME.replace('id = "acme"', 'id = "Acme!"'))
    with pytest.raises(BankError):
        load_company(f)
    f.write_text(ACME)
    assert load_company(f).values[0].name == "Measure twice" and load_company(f).path == f


def test_user_folder_adds_a_company_and_a_bank(isolated_home, cli):
    user = isolated_home / ".config" / "starcoach" / "question_banks"
    write(user, "companies", "acme.toml", ACME)
    write(user, "questions", "mine.toml", 'id = "mine"\n[[questions]]\nid = "my-1"\n'
          'text = "Tell me about a time you checked a number twice."\ncompetencies = ["data-quality"]\n')
    cat = load_catalogue(search_dirs())
    assert cat.company("acme").values[0].name == "Measure twice"
    assert any(q.id == "my-1" for q in cat.questions)
    r = cli("companies")
    assert r.code == 0 and "acme" in r.out
    r = cli("questions", "--bank", "mine")
    assert r.code == 0 and "checked a number twice" in r.out


def test_malformed_toml_names_file_and_line(isolated_home, cli):
    user = isolated_home / ".config" / "starcoach" / "question_banks"
    p = write(user, "companies", "broken.toml", 'id = "broken"\nname = "Broken"\n[[values]]\nid = "x"\nname = \n')
    with pytest.raises(BankError) as e:
        load_company(p)
    assert e.value.line == 5 and "broken.toml:5" in str(e.value)
    r = cli("companies")
    assert r.code == 2
    assert "broken.toml:5" in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_schema_problem_points_at_the_entry(isolated_home):
    user = isolated_home / ".config" / "starcoach" / "question_banks"
    text = ACME + '\n[[values]]\nid = "second"\nname = "Second"\ncues = []\n'
    p = write(user, "companies", "acme.toml", text)
    with pytest.raises(BankError) as e:
        load_company(p)
    assert "value #2" in e.value.problem and "meaning" in e.value.problem
    assert e.value.line == text.splitlines().index("[[values]]", 5) + 1


def test_unknown_competency_is_reported(isolated_home):
    user = isolated_home / ".config" / "starcoach" / "question_banks"
    write(user, "questions", "bad.toml", 'id = "bad"\n[[questions]]\nid = "b-1"\ntext = "Q?"\n'
          'competencies = ["juggling"]\n')
    with pytest.raises(BankError) as e:
        load_catalogue(search_dirs())
    assert "juggling" in str(e.value) and "bad.toml:2" in str(e.value)


def test_questions_filters(cli):
    r = cli("questions", "--competency", "conflict")
    assert r.code == 0 and "disagree" in r.out.lower()
    r = cli("questions", "--company", "amazon")
    assert r.code == 0 and "Amazon values it probes" in r.out
    assert cli("questions", "--competency", "juggling").code == 2
    assert cli("questions", "--company", "nope").code == 2


def test_an_unknown_value_theme_is_reported(isolated_home):
    user = isolated_home / ".config" / "starcoach" / "question_banks"
    text = ACME + '\n[[values]]\nid = "second"\nname = "Second"\nmeaning = "M."\ncues = []\nthemes = ["juggling"]\n'
    p = write(user, "companies", "acme.toml", text)
    with pytest.raises(BankError) as e:
        load_company(p)
    assert "value #2" in e.value.problem and "unknown theme 'juggling'" in e.value.problem
    assert "perseverance" in e.value.problem  # the known themes are listed


def test_every_built_in_value_has_a_theme():
    cat = load_catalogue()
    assert all(v.themes for c in cat.companies.values() for v in c.values)


def test_the_built_in_banks_have_200_questions_for_every_role_and_25_companies(isolated_home, cli):
    from starcoach.catalogue.banks import ROLES

    cat = load_catalogue()
    assert len(cat.questions) >= 200 and len(cat.companies) >= 25
    for role in ROLES:
        assert sum(role in q.roles for q in cat.questions) >= 40, role
    for c in cat.companies.values():
        assert c.source is None or c.source.startswith("https://"), c.id
    r = cli("questions", "--role", "product")
    assert r.code == 0 and "pm-001" in r.out and "sw-001" not in r.out
    assert cli("questions", "--role", "astronaut").code == 2


def test_an_unknown_role_or_a_source_that_is_not_an_address_is_reported(isolated_home):
    user = isolated_home / ".config" / "starcoach" / "question_banks"
    qdir = user / "questions"
    qdir.mkdir(parents=True, exist_ok=True)
    (qdir / "mine.toml").write_text('id = "mine"\nroles = ["pilot"]\n[[questions]]\nid = "m-1"\ntext = "Q?"\n')
    with pytest.raises(BankError, match="unknown role 'pilot'"):
        load_catalogue(search_dirs())
    (qdir / "mine.toml").unlink()
    cdir = user / "companies"
    cdir.mkdir(parents=True, exist_ok=True)
    (cdir / "acme.toml").write_text('id = "acme"\nname = "Acme"\nsource = "somewhere"\n[[values]]\nid = "v"\n'
                                    'name = "V"\nmeaning = "M"\ncues = ["x"]\n')
    with pytest.raises(BankError, match="'source' must be"):
        load_catalogue(search_dirs())


# ---------------------------------------------------------------- the shipped TOML files, kept parsed

def _tomllib():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib


def test_the_shipped_toml_files_are_kept_parsed_exactly_as_tomllib_parses_them_now():
    """parsed_toml.txt (scripts/build_data.py) is what building it now gives, and holds
    every shipped TOML file (banks, companies, follow-ups, cues, concepts, themes) and nothing else."""
    from starcoach import tomlfiles

    same = tomlfiles.PARSED_PATH.read_text(encoding="utf-8") == tomlfiles.build()
    assert same, "parsed_toml.txt is stale: run scripts/build_data.py"
    files = tomlfiles.shipped_files()
    names = {p.name for p in files}
    assert {"amazon.toml", "en.toml", "concepts_en.toml", "themes_en.toml"} <= names
    assert any(p.parent.name == "follow_ups" for p in files) and any(p.parent.name == "questions" for p in files)
    kept = tomlfiles._parsed()
    assert set(kept) == {tomlfiles.digest(p.read_text(encoding="utf-8")) for p in files}
    for p in files:
        text = p.read_text(encoding="utf-8")
        assert tomlfiles.loads(text) == _tomllib().loads(text), p


def test_toml_not_shipped_is_parsed_and_each_load_is_a_new_object():
    from starcoach import tomlfiles

    mine = 'id = "mine"\nname = "Mine"\n'
    assert tomlfiles.digest(mine) not in tomlfiles._parsed()
    assert tomlfiles.loads(mine) == {"id": "mine", "name": "Mine"}
    shipped = tomlfiles.shipped_files()[0].read_text(encoding="utf-8")
    first = tomlfiles.loads(shipped)
    first.clear()
    assert tomlfiles.loads(shipped) == _tomllib().loads(shipped)
    with pytest.raises(tomlfiles.TOMLDecodeError):
        tomlfiles.loads("id = ")
    assert tomlfiles.TOMLDecodeError is _tomllib().TOMLDecodeError


def test_a_shipped_bank_edited_in_place_is_read_as_it_is_now(tmp_path):
    """A built-in file that no longer matches its kept data (edited, not rebuilt) is parsed again."""
    from starcoach.catalogue.banks import builtin_dir

    src = builtin_dir() / "companies" / "amazon.toml"
    edited = src.read_text(encoding="utf-8").replace('name = "Amazon"', 'name = "Amazon (edited)"', 1)
    assert edited != src.read_text(encoding="utf-8")
    write(tmp_path, "companies", "amazon.toml", edited)
    assert load_catalogue([tmp_path]).company("amazon").name == "Amazon (edited)"


def test_a_file_of_the_size_limit_is_read_whole_and_one_byte_more_is_refused(tmp_path):
    from starcoach.catalogue.banks import MAX_FILE_BYTES

    body = ACME + "#"
    exact = write(tmp_path, "companies", "acme.toml", body + "x" * (MAX_FILE_BYTES - len(body.encode()) - 1) + "\n")
    assert exact.stat().st_size == MAX_FILE_BYTES
    assert load_company(exact).name == "Acme Analytics"
    with open(exact, "a") as fh:
        fh.write("\n")
    with pytest.raises(BankError, match="larger than 4 MiB"):
        load_company(exact)


def test_a_bank_read_from_a_pipe_is_read_to_its_end(tmp_path):
    """A pipe has no size to go by: it is read to its end all the same."""
    import os
    import threading

    fifo = tmp_path / "acme.toml"
    os.mkfifo(fifo)
    text = ACME + "# " + "padding " * 20_000 + "\n"

    def feed():
        with open(fifo, "w") as fh:
            fh.write(text)

    t = threading.Thread(target=feed)
    t.start()
    try:
        assert load_company(fifo).name == "Acme Analytics"
    finally:
        t.join()
