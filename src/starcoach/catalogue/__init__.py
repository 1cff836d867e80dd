"""What can be asked, and of whom: question banks, company profiles, choosing questions.

``banks`` loads and checks the TOML files (built-in and the user's own) into
a ``Catalogue`` of companies, values and questions; ``questions`` says which
values a question probes and picks questions that cover a company's values.
How a closing is matched to a company's values is the judge's
(``judge/lexicon.py``).
"""
