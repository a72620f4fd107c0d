"""User device affinity by hand (Edit Primary Users) and from a CSV file (Import User Device Affinity)."""
