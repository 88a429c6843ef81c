"""What the platform knows: service items, regions, departments, and how they are loaded."""
