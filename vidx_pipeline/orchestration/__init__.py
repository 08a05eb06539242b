"""Dagster wiring: resources, partitioned assets and their checks, built from dataset specs."""
