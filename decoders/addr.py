"""Placeholder: being written."""

MESSAGES: dict = {}
