"""Catalog: authors, books, tags and reviews."""
