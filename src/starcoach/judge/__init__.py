"""The R-STAR-L judge: an answer's text (and optional word timings) in, an Analysis out.

Pure: it imports nothing that touches audio, the terminal, storage or the
clock (tests/test_layers.py checks).  See core.py for the steps and
docs/heuristics.md for how the weights are fitted and measured.
"""

from starcoach.judge.checks import question_concepts
from starcoach.judge.core import EmptyAnswer, analyse, text_from_words
from starcoach.judge.score import (
    COMFORTABLE_WPM,
    FILLERS_OK_PER_MIN,
    LONG_PAUSE_S,
    TARGET_DURATION_S,
    TARGET_WORDS,
    UNSURE_BELOW,
)

__all__ = ["analyse", "EmptyAnswer", "text_from_words", "question_concepts", "TARGET_WORDS", "TARGET_DURATION_S",
           "COMFORTABLE_WPM", "FILLERS_OK_PER_MIN", "LONG_PAUSE_S", "UNSURE_BELOW"]
