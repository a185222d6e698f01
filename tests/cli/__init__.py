"""Tests of monitor.cli."""
