//! Reports from one run: JSON, CSV, HTML.
