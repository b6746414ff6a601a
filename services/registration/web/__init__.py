"""Plumbing every request of the registration service goes through: errors, request context, limits, partner origins, kept answers."""
