"""Reusable Qt and pyqtgraph widgets that know nothing of torch training."""
