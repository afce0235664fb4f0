"""The rules: catalogs of obligations, cadences and the working-day calendar.

Pure code: no database, no command line, no printing.
"""
