"""The rules of seminars and registrations, one module each; every change is one transaction, owned by its function."""
