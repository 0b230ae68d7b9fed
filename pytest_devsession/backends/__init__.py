"""Capture services behind one small interface (see ``base``)."""
