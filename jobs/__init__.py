"""Orchestration: config, scheduler daemon and the `bondtape` command line."""
