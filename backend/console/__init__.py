"""The staff console at GET /staff: a static page (static/) that staff sign in to with
the staff token and that drives the staff JSON APIs, and the dashboard's figures
(stats.py). Routes: backend/api/staff_console.py."""
