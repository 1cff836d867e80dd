"""The sound edge: everything that opens a sound device or handles raw PCM.

``portaudio`` loads sounddevice and resolves devices, ``playback`` is the one
audio player (questions spoken, answers replayed), ``resample`` converts
between device rates.  Nothing here is imported at start-up: sounddevice and
numpy load only when a command actually records or plays.
"""
