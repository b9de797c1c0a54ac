"""Orders, their lines and invoices."""
