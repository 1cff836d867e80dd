"""Keeping a long transcription's memory flat: freed memory goes back to the system.

An hour-long file is transcribed window by window, and each window allocates
and frees tens of megabytes from several threads; without this the process
grows with the file's length although nothing is kept (glibc only).
"""

from __future__ import annotations

__all__ = ["limit_malloc_arenas", "release_freed_memory"]

_LIBC = None


def release_freed_memory() -> None:
    """Give memory freed by the last window back to the system (glibc ``malloc_trim``).

    Each window allocates and frees tens of megabytes (spectrograms, encoder
    outputs, decoder state) from several threads; glibc keeps the freed
    blocks in per-thread arenas, so the process grows with the file's length
    although nothing is kept.  Elsewhere than glibc this does nothing.
    """
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


def limit_malloc_arenas(n: int = 2) -> None:
    """At most ``n`` glibc malloc arenas (the default is 8 per core): less memory held in free lists.

    Called before the model starts its threads; does nothing where it does not apply.
    """
    release_freed_memory()  # loads libc
    if _LIBC:
        _LIBC.mallopt(-8, n)  # M_ARENA_MAX
