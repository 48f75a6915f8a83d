"""Simulated upstreams and demo data, so the embedded default runs end to end with no accounts."""
