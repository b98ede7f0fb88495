"""Commands that touch a database: `stamp` (and, later, `replay` and `verify`)."""
