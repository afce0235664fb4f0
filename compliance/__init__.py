"""compliance: organizational-life calendar tracker for grass-roots Party organizations."""

__version__ = "0.1.0"
