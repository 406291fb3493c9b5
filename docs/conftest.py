"""pytest runs the doctests of these pages (``--doctest-glob=*.rst``); Sphinx builds them.

``conf.py`` is Sphinx's configuration, not a module to collect: it needs Sphinx, which the
test environments do not install.
"""

collect_ignore = ["conf.py"]
