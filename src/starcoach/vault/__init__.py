"""The story vault: the few deep stories a candidate reuses across questions.

A candidate keeps two or three deep stories, maps each of a company's values
onto one of them before the interview, and tweaks a story to fit each
question.  ``format`` reads, checks and writes the vault file; ``quantities``
reads numbers said in digits or words; ``matching`` says which story an
answer told and what it left out, and how well a story fits a question;
``coverage`` says which values the stories and past answers cover, and weighs
the gaps for ``practice --focus gaps``.
"""
