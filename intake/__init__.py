"""The reception desk: receiving dossiers, every later event, slips, lists and the JSON API.

``intake/services.py`` is the only place where a dossier changes.
"""
