"""Accounts: users, profiles, settings and API keys."""
