"""Change reports: HTML files, JSON sidecars and the index, rendered from Jinja templates."""
