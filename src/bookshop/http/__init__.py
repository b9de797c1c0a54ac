"""App-wide HTTP pieces: errors as problem+json, authentication, pagination, health."""
