"""The service platform: the unified catalogue of service items, regions and offices."""
