"""Capture services: the core every backend implements and the optional parts some declare (``base``), and
the built-in backends, each a package with its options, settings section and plugin hooks (``headspin``,
``local``). Another plugin adds one through the same hooks."""
