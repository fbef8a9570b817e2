"""Data sources: one module per backend, all behind `sources.base.Source`."""
