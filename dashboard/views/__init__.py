"""Page bodies of the dashboard, one module per page (the files in app_pages/ only call them)."""
