"""dllab: a desktop teaching lab for deep learning."""

__version__ = "0.1.0"
