"""Operators, psychologists, supervisors, local services and admins: accounts, sign-in, roles and consoles."""
