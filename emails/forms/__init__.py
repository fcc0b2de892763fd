"""The forms of the emails pages: the composer, the mailbox (SMTP and IMAP), the organization's settings."""
