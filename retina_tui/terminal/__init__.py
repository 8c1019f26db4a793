"""A terminal emulator (bytes in, screen out) and key encoding (keys in, bytes out)."""
