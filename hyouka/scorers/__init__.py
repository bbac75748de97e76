"""Checks and judges that score samples."""
