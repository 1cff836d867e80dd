"""The speech stage: audio samples in, a Transcript and delivery metrics out.

One idea per module:

* ``decode``        - any audio file (PyAV) to 16 kHz mono float32; ``AudioError``.
* ``vad``           - where someone speaks (Silero VAD); ``pauses`` - the silences between (pure).
* ``whisper_model`` - finding the Whisper model on this machine (never downloading) and loading it.
* ``windows``       - cutting a long recording into windows at silences; ``memory`` - giving
  freed memory back between windows.
* ``transcribe``    - ``WhisperTranscriber``: samples or a file to a ``Transcript``, two
  decodings per window; ``shared_passes`` - both decodings from one encoder run.
* ``wordtimes``     - placing Whisper's words back on the answer's clock, merging the passes.
* ``streaming``     - ``LiveTranscriber``: most of the answer transcribed while it is spoken.
* ``delivery``      - pace, fillers, hedges, pauses (pure: no numpy, audio or model).

Only this package imports faster-whisper; its types stop here.  Nothing heavy is
imported at start-up: numpy, av and faster_whisper load inside the functions that need them
(``streaming`` imports numpy, and is itself imported only while practising).
"""
