"""The paths an answer takes from input to stored Analysis.

``process`` is the one path every input comes through (text, audio file,
standard input); ``batch`` runs many inputs with transcription in worker
processes; ``practice`` is the ask-listen-judge loop; ``recovery`` finishes
answers a crash cut off.  The edges they talk through (transcriber, audio
source, speaker) are the Protocols in ``starcoach.edges``, passed in.
"""
