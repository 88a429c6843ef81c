"""What the Rasa server loads: channels, NLU components and stores (issue 3 onwards)."""
