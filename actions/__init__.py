"""What the action server runs: one module per business concern (issue 3 onwards)."""
