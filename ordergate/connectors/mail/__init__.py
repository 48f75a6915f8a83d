"""Email to customers: what the relay needs from a mailer (base.py) and the SMTP mailer."""
