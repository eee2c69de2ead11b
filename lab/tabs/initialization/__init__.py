"""Initialization."""
