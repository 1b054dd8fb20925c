"""Collectors: pull records from the firm's systems into raw tables of a run's warehouse."""
