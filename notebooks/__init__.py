"""Notebooks, committed without outputs (`python -m notebooks.strip`); `make eda` renders them with outputs."""
