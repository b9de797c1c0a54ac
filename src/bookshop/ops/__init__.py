"""Operations: the audit log."""
