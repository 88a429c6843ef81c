"""Custom NLU components the Rasa server loads (see config.yml): tokenizer and region extractor."""
