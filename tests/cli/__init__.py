"""Tests of the command line (a package: its test module names repeat tests/api's)."""
