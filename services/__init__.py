"""The rules of the site, kept apart from HTTP handling."""
