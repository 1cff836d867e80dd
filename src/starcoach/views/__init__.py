"""Every rich renderable: the modules here build what is shown and never print it.

The commands and the pipeline hand these to a console; tests render them
into ``Console(file=StringIO(), width=100)`` and compare the text.
"""
