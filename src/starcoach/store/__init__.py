"""The data folder: every session and answer in SQLite beside the audio files.

``database`` holds the ``Store`` (sessions, answers, audio paths, locks on
answers being recorded); ``migrations`` the numbered schema changes applied on
open; ``errors`` the one-line messages for a full disk, a read-only or damaged
database, and one another process holds.
"""
