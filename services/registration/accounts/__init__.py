"""Who acts for an organiser: accounts and their roles, logins, passwords, API tokens, and the audit log of what they did."""
