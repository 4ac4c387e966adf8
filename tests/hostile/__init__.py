"""Hostile captures: files a stranger could attach to a bug report, built to
cost a reader as much as possible, and the tests that hold every reader
command to its limits on them (issue 22; docs/FORMAT.md, "Limits")."""
