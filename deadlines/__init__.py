"""Deadlines: the working-day calendar and the statutory deadline rules.

``workdays`` and ``due_dates`` are pure (standard library only); ``offdays``
builds a calendar from the shipped official schedules and the ``holidays``
package. The Flask parts of this feature live in sibling modules and must not
be imported from here.
"""
