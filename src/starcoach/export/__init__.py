"""Results written out for other programs and people: files, not screens."""
