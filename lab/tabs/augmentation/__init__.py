"""Augmentation."""
