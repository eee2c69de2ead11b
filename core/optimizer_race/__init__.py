"""Optimizer race."""
