"""The three-stage procedure's rules as pure functions: working days, applicant identity."""
