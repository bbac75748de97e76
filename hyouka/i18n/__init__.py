"""Message catalogs for the command line (English and Japanese).

The web app keeps its own catalogs next to its templates; this package holds the CLI's.
"""
