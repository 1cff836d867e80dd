"""The sound edge: everything that opens a sound device or writes the answer's audio.

One idea per module:

* ``portaudio``  - loading sounddevice, listing and resolving devices, PortAudio's error codes,
  quietening its stderr; ``HardwareError``, the one-line failure of any device.
* ``microphone`` - the live microphone (``MicrophoneSource``); ``mic_file`` - a recording played in
  as if spoken (``--mic-file``, ``FileSource``).
* ``resample``   - the streaming resampler for devices that refuse our rate.
* ``wav``        - the WAV written as the answer is spoken; ``wav_repair`` - making a WAV whose
  writer was killed exact again.
* ``endpointer`` - when the answer is over (speech, then silence); ``recorder`` - source to WAV until then.
* ``playback``   - the one audio player (the question's voice and replay); ``speak`` - saying a
  question aloud (pyttsx3/espeak-ng synthesis).

Nothing here is imported at start-up: sounddevice and numpy load only when a command records or plays.
"""
