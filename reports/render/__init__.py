"""The report document (``reports.document``) as files: markdown, one self-contained HTML page,
and the figures' PNG bytes. Nothing here decides what a section shows."""
