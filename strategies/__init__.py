"""Scheduled strategies that act on customer value, with their guard rails."""
