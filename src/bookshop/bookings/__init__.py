"""Venues and their bookings."""
