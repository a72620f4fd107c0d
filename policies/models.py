"""Models come with their own issues."""
