"""Pure-Python core of Label Migration: no QGIS imports, only GDAL's bindings and numpy.

Every long-running function takes ``progress(fraction)`` and ``is_cancelled()`` callables and
raises :class:`LabelMigrationError` with a message a user understands.
"""
