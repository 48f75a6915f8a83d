"""Event fan-out: wake-up signals only; subscribers always read the log from their cursor."""
