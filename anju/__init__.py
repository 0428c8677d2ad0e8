"""Anju (安居): community policing and grid governance for a district."""

__version__ = "0.1.0"
