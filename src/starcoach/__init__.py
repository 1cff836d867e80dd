"""starcoach: an offline, voice-driven mock interview coach for R-STAR-L answers.

The public API is small: ``analyse_text`` judges a written or transcribed
answer; the CLI (``starcoach``) drives practice, batch analysis and replay.
Heavy modules (faster-whisper, sounddevice, rich) are imported lazily so that
``starcoach --help`` stays fast.
"""

__version__ = "0.1.0"
