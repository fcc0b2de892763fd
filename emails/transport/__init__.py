"""Reaching users' mail servers: the outbound guard, SMTP and IMAP."""
