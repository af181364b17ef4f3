"""Who is calling: the staff seam every protected endpoint goes through."""
