from starcoach.text import split_sentences, stem, tokens


def texts(s: str) -> list[str]:
    return [s[p.start:p.end] for p in split_sentences(s)]


def test_punctuated_sentences_split_on_full_stops():
    assert texts("I built it. Then I shipped it! Did it work? Yes.") == [
        "I built it.", "Then I shipped it!", "Did it work?", "Yes."]


def test_abbreviations_and_decimals_do_not_end_sentences():
    out = texts("We used tools e.g. dbt and Airflow to cut it to 1.5 hours. Then we stopped.")
    assert out == ["We used tools e.g. dbt and Airflow to cut it to 1.5 hours.", "Then we stopped."]


def test_unpunctuated_speech_is_cut_at_discourse_markers():
    from answers import STT

    out = texts(STT)
    assert len(out) >= 6
    assert all(len(s.split()) <= 45 for s in out)
    # The cuts land where the story changes part.
    starts = [s.split()[0:2] for s in out]
    assert ["my", "task"] in starts
    assert ["in", "the"] in starts


def test_offsets_cover_the_text_in_order():
    from answers import STRONG

    ps = split_sentences(STRONG)
    assert all(a.end <= b.start for a, b in zip(ps, ps[1:]))
    assert "".join(STRONG[p.start:p.end] for p in ps).replace(" ", "") == STRONG.replace(" ", "")


def test_stems_join_word_families():
    assert stem("owned") == stem("owner") == stem("ownership") == stem("own")
    assert stem("customers") == stem("customer")
    assert tokens("I’m sure it's 40% faster") == ["i'm", "sure", "it's", "40%", "faster"]
