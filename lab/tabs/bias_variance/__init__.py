"""Bias variance."""
