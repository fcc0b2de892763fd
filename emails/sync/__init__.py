"""The mailbox sync over IMAP: which folders, claiming and running a sync,
importing messages, and the pixel-free copy in Sent."""
