"""Our outgoing webhooks' transport: what the relay needs (base.py) and the HTTP sender."""
