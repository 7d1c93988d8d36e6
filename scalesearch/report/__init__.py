"""Reports: rich tables on screen, CSV/JSON in files, plots. Views of results, never a source of them."""
