"""Public problem reports (12345-style 接诉即办): classifying, routing, recording and following up."""
