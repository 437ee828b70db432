"""The procedure catalog: list, search, detail, admin edit, import and export."""
from tthc.catalog.views import bp

__all__ = ["bp"]
